// Picks the engine that turns schedules into programs: the JIT or the interpreter.
#pragma once

#include "base/expected.h"
#include "compiler/program.h"

#include <string_view>

namespace chronus {

/// A factory for `engine`: "jit", "interp" (the block interpreter) or "interp-sample" (the
/// per-sample interpreter, the benchmark's naive baseline). `optLevel` (0..3) applies to the JIT.
/// `tiered` (JIT only): programs come quickly compiled first where the shape cache cannot supply
/// optimised code, and offer their `optLevel` version as their next tier (Program::nextTier).
/// Fails on an unknown engine or level, or if the JIT cannot start on this machine.
Expected<ProgramFactory> programFactory(std::string_view engine, int optLevel = 2,
                                        bool tiered = false);

} // namespace chronus

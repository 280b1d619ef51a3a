// Picks the engine that turns schedules into programs: the JIT or the interpreter.
#pragma once

#include "expected.h"
#include "program.h"

#include <string_view>

namespace chronus {

/// A factory for `engine` ("jit" or "interp"). `optLevel` (0..3) applies to the JIT. Fails on an
/// unknown engine or level, or if the JIT cannot start on this machine.
Expected<ProgramFactory> programFactory(std::string_view engine, int optLevel = 2);

} // namespace chronus

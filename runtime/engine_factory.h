// Which compiler a commit uses: the JIT where it is built, else the interpreter.
#pragma once

#include "base/expected.h"
#include "compiler/program.h"

#include <string_view>

namespace chronus {

/// "jit": the default engine.
std::string_view defaultEngineName();

/// The factory for `name` ("jit" or "interp"); empty: the JIT, or the interpreter where the JIT
/// cannot start on this machine. `tiered`: JIT programs come quickly compiled first, with their
/// fully optimised version as their next tier (EngineOptions::tiered swaps it in).
Expected<ProgramFactory> engineFactory(std::string_view name, bool tiered = true);

} // namespace chronus

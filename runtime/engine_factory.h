// Which compiler a commit uses: the JIT where it is built, else the interpreter.
#pragma once

#include "expected.h"
#include "program.h"

#include <string_view>

namespace chronus {

/// "jit": the default engine.
std::string_view defaultEngineName();

/// The factory for `name` ("jit" or "interp"); empty: the JIT, or the interpreter where the JIT
/// cannot start on this machine.
Expected<ProgramFactory> engineFactory(std::string_view name);

} // namespace chronus

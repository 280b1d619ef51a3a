#include "runtime/engine_factory.h"

#include "compiler/program_factory.h"

namespace chronus {

std::string_view defaultEngineName() {
    return "jit";
}

Expected<ProgramFactory> engineFactory(std::string_view name, bool tiered) {
    if (!name.empty()) return programFactory(name, 2, tiered);
    // The default: the JIT, or the interpreter where the JIT cannot start on this machine.
    auto jit = programFactory(defaultEngineName(), 2, tiered);
    return jit ? jit : programFactory("interp");
}

} // namespace chronus

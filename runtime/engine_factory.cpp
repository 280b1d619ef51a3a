#include "engine_factory.h"

#include "program_factory.h"

namespace chronus {

std::string_view defaultEngineName() {
    return "jit";
}

Expected<ProgramFactory> engineFactory(std::string_view name) {
    if (!name.empty()) return programFactory(name);
    // The default: the JIT, or the interpreter where the JIT cannot start on this machine.
    auto jit = programFactory(defaultEngineName());
    return jit ? jit : programFactory("interp");
}

} // namespace chronus

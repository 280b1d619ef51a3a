#include "program_factory.h"

#include "interpreter.h"
#include "jit/jit.h"

namespace chronus {

Expected<ProgramFactory> programFactory(std::string_view engine, int optLevel) {
    if (engine == "interp") {
        return ProgramFactory([](const Schedule& s) -> Expected<std::unique_ptr<Program>> {
            return makeInterpreter(s);
        });
    }
    if (engine == "jit") {
        if (optLevel < 0 || optLevel > 3)
            return makeError("optimisation level {} is not one of 0, 1, 2, 3", optLevel);
        return ProgramFactory([optLevel](const Schedule& s) -> Expected<std::unique_ptr<Program>> {
            JitOptions options;
            options.optLevel = optLevel;
            auto p = compileJit(s, options);
            if (!p) return p.error();
            return std::unique_ptr<Program>(p.take());
        });
    }
    return makeError("unknown engine '{}': use jit or interp", engine);
}

} // namespace chronus

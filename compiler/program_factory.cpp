#include "compiler/program_factory.h"

#include "compiler/interpreter.h"
#include "compiler/jit/jit.h"
#include "compiler/sample_interpreter.h"

namespace chronus {

namespace {
thread_local const std::atomic<bool>* tlCancel = nullptr;
} // namespace

CompileCancelScope::CompileCancelScope(const std::atomic<bool>& cancel) : outer_(tlCancel) {
    tlCancel = &cancel;
}

CompileCancelScope::~CompileCancelScope() {
    tlCancel = outer_;
}

bool compileCancelled() {
    return tlCancel != nullptr && tlCancel->load(std::memory_order_relaxed);
}

Expected<ProgramFactory> programFactory(std::string_view engine, int optLevel, bool tiered) {
    if (engine == "interp") {
        return ProgramFactory([](const Schedule& s) -> Expected<std::unique_ptr<Program>> {
            return makeInterpreter(s);
        });
    }
    if (engine == "interp-sample") {
        return ProgramFactory([](const Schedule& s) -> Expected<std::unique_ptr<Program>> {
            return makeSampleInterpreter(s);
        });
    }
    if (engine == "jit") {
        if (optLevel < 0 || optLevel > 3)
            return makeError("optimisation level {} is not one of 0, 1, 2, 3", optLevel);
        return ProgramFactory(
            [optLevel, tiered](const Schedule& s) -> Expected<std::unique_ptr<Program>> {
                JitOptions options;
                options.optLevel = optLevel;
                options.quickFirst = tiered;
                auto p = compileJit(s, options);
                if (!p) return p.error();
                return std::unique_ptr<Program>(p.take());
            });
    }
    return makeError("unknown engine '{}': use jit, interp or interp-sample", engine);
}

} // namespace chronus

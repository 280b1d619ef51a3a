// The JIT engine: a Schedule lowered to LLVM IR (one function per fusion-group shape plus a
// per-commit render function that calls them), linked with the kernel bitcode so that every kernel
// inlines, optimised, and compiled with LLVM ORC for this machine. No LLVM type appears here.
#pragma once

#include "expected.h"
#include "program.h"
#include "schedule.h"

#include <cstdint>
#include <memory>
#include <span>

namespace chronus {

struct JitOptions {
    int optLevel = 2; ///< 0..3: the LLVM pipeline (O0 still inlines every kernel) and codegen
    uint32_t maxBlock =
        256;            ///< frames per call of the compiled code; render() chunks longer requests
    bool keepIr = true; ///< keep the lowered and optimised IR text for ir()
    /// Kernel bitcode to link instead of the embedded one (tests inject broken bitcode with it).
    std::span<const unsigned char> kernelBitcode = {};
};

/// Where a compile spent its time (wall clock, ms) and what it made.
struct JitTimings {
    double lowerMs = 0;    ///< fusion plan, IR generation, kernel bitcode parse and link
    double optimizeMs = 0; ///< the LLVM pass pipeline
    double codegenMs = 0;  ///< machine code generation to an object file
    double linkMs = 0;     ///< JIT linking and symbol lookup
    double irTextMs = 0;   ///< printing the IR kept for ir() (0 without keepIr)
    double totalMs = 0;
    uint32_t groups = 0;  ///< fusion-group instances
    uint32_t shapes = 0;  ///< distinct group shapes, each compiled once
    uint32_t buffers = 0; ///< block buffers between groups
};

/// A compiled patch. engine() == "jit"; ir() has "lowered", "optimized" and "asm".
class JitProgram : public Program {
public:
    virtual const JitTimings& timings() const = 0;
    virtual int optLevel() const = 0;
};

/// Compiler (or control) thread; any number of threads may compile at once. Every LLVM failure
/// comes back as an Error; nothing aborts. The program frees its machine code when destroyed.
Expected<std::unique_ptr<JitProgram>> compileJit(const Schedule& schedule,
                                                 const JitOptions& options = {});

} // namespace chronus

// One group shape from the fusion plan to machine code in the JIT: lowered (lower.h; the wide
// entry where its kernels widen, wide_entry.h), the kernel bitcode linked in, optimised, code
// generated (codegen.h) and linked (host_jit.h). One ShapeCompiler per compile: its LLVMContext
// and the calling thread's TargetMachine serve every shape the compile makes.
#pragma once

#include "base/expected.h"
#include "compiler/jit/codegen.h"
#include "compiler/jit/fusion.h"
#include "compiler/jit/host_jit.h"
#include "compiler/jit/jit.h"
#include "compiler/jit/lower.h"
#include "compiler/jit/shape_cache.h"
#include "compiler/schedule.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace chronus::jit {

/// How a compile makes its shapes (compile_jit.cpp's tier policy decides).
struct ShapeBuild {
    int level = 2;
    bool quick = false; ///< a quick first tier: a shape with a wide entry drops its settled path
    bool keepIr = true; ///< print each shape's lowered and optimised IR
    std::span<const unsigned char> bitcode; ///< the kernels
};

class ShapeCompiler {
public:
    /// `timings` receives the optimisation, code generation, link and IR text times.
    ShapeCompiler(HostJit& host, llvm::TargetMachine& tm, const ShapeBuild& build,
                  JitTimings& timings);
    ShapeCompiler(const ShapeCompiler&) = delete;
    ShapeCompiler& operator=(const ShapeCompiler&) = delete;

    /// Shape `index` of `plan`, compiled and linked, stored under `key`, with a wide entry of
    /// `lanes` instances unless that is below 2 (`notWide` then says why it has none).
    Expected<std::shared_ptr<CompiledShape>> compile(const Schedule& schedule,
                                                     const FusionPlan& plan, uint32_t index,
                                                     const ShapeCacheKey& key, uint32_t lanes,
                                                     const char* notWide);

    /// The IR text of `shape` (shape `index` of `plan`), compiled without keeping it, made again
    /// exactly as it was made (the compile is deterministic): `lowered` and `optimized`.
    Status irText(const Schedule& schedule, const FusionPlan& plan, uint32_t index,
                  const CompiledShape& shape, std::string& lowered, std::string& optimized);

private:
    /// The shape's module with its entry named `entryName`, the kernels linked, and the wide
    /// entry added where they widen (else `notWide` says why); `loweredIr`, if given, receives
    /// the IR text before linking.
    Expected<ShapeModule> build(const Schedule& schedule, const FusionPlan& plan, uint32_t index,
                                const std::string& entryName, uint32_t lanes, std::string& notWide,
                                std::string* loweredIr);
    /// Optimises the module and generates its object; keeps the optimised IR if asked.
    Expected<std::unique_ptr<llvm::MemoryBuffer>> machineCode(ShapeModule& shape,
                                                              std::string* optimizedIr);
    LowerOptions lowerOptions() const;

    HostJit& host_;
    llvm::TargetMachine& tm_;
    ShapeBuild build_;
    JitTimings& t_;
    std::unique_ptr<llvm::LLVMContext> context_;
    DiagnosticLog log_;
};

} // namespace chronus::jit

// One group shape from the fusion plan to machine code in the JIT: lowered (lower.h; the wide
// entry where its kernels widen, wide_entry.h), the kernel bitcode linked in, optimised, code
// generated (codegen.h), offered to the disk cache (object_cache.h) and linked (host_jit.h); or
// an object from the disk cache linked as it is. One ShapeCompiler per compile: its LLVMContext
// and the calling thread's TargetMachine, both made when the first shape is compiled, serve every
// shape the compile makes.
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

class ObjectCache;
struct CachedObject;

class ShapeCompiler {
public:
    /// `timings` receives the optimisation, code generation, link and IR text times.
    ShapeCompiler(const ShapeBuild& build, JitTimings& timings);
    ShapeCompiler(const ShapeCompiler&) = delete;
    ShapeCompiler& operator=(const ShapeCompiler&) = delete;
    ~ShapeCompiler();

    /// Shape `index` of `plan`, compiled and linked, stored under `key`, with a wide entry of
    /// `lanes` instances unless that is below 2 (`notWide` then says why it has none). Its object
    /// goes to `disk` too, unless that is null.
    Expected<std::shared_ptr<CompiledShape>> compile(const Schedule& schedule,
                                                     const FusionPlan& plan, uint32_t index,
                                                     const ShapeCacheKey& key, uint32_t lanes,
                                                     const char* notWide, ObjectCache* disk);

    /// The IR text of `shape` (shape `index` of `plan`), compiled without keeping it, made again
    /// exactly as it was made (the compile is deterministic): `lowered` and `optimized`.
    Status irText(const Schedule& schedule, const FusionPlan& plan, uint32_t index,
                  const CompiledShape& shape, std::string& lowered, std::string& optimized);

private:
    /// The context and target machine, made on first use.
    Status ready();
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

    ShapeBuild build_;
    JitTimings& t_;
    llvm::TargetMachine* tm_ = nullptr;
    std::unique_ptr<llvm::LLVMContext> context_;
    std::unique_ptr<DiagnosticLog> log_;
};

/// The symbol of the one-instance entry of the shape with `key`: named by the key, so that the
/// same key makes the same object in every process (the disk cache stores them as they are).
std::string shapeSymbol(const ShapeCacheKey& key);

/// A shape from the disk cache (`object` was made for `key`), linked as it is.
Expected<std::shared_ptr<CompiledShape>>
linkCachedShape(CachedObject object, const ShapeCacheKey& key, JitTimings& timings);

} // namespace chronus::jit

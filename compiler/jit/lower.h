// Lowering: a Schedule and its fusion plan to LLVM IR implementing exactly the semantics stated in
// schedule.h, one module per group shape (cached across commits; the program calls the shapes'
// entry points from a table, see jit_program.cpp). Kernels are only declared here
// (chronus_<kernel>_tick, ...); llvm_jit links them.
#pragma once

#include "base/expected.h"
#include "compiler/jit/fusion.h"
#include "compiler/schedule.h"

#include <llvm/IR/Module.h>
#include <memory>
#include <string>
#include <vector>

namespace chronus::jit {

struct LowerOptions {
    std::string targetCpu; ///< host, for the "target-cpu" attribute
    std::string targetFeatures;
};

/// The C signature every shape entry point has: `rows` holds the offsets of the instance (or of
/// `lanes` consecutive instances) it runs, as instanceRow() lays them out.
///   void entry(const float* params /* std::atomic<float>[] */, std::byte* state, float* scratch,
///              const uint32_t* rows, uint32_t frames /* <= the program's block */)
using ShapeEntryFn = void (*)(const float*, std::byte*, float*, const uint32_t*, uint32_t);

/// The entry points a compiled group shape exports (each in its own module, see shape_cache.h).
struct ShapeSymbols {
    std::string scalar; ///< one instance per call
    std::string wide; ///< `lanes` instances per call (rows: `lanes` consecutive rows); may be empty
    uint32_t lanes = 0;
};

/// Offsets of one group instance: per node its first parameter (floats from params) and its
/// instance memory (bytes from state), then its input and export block buffers (floats from
/// scratch, `maxBlock` floats each).
std::vector<uint32_t> instanceRow(const Schedule& schedule, const FusionPlan& plan,
                                  const FusionGroup& group, uint32_t maxBlock);

/// The module of one group shape, exporting `symbols`: an internal group function (a per-sample
/// loop over a block calling the kernels in node order, with a settled path that prepares once
/// per block and the general path; every pointer noalias) behind the entry points. Kernels are
/// only declared; llvm_jit links them. The code depends only on the shape's key.
std::unique_ptr<llvm::Module> lowerShape(const Schedule& schedule, const FusionPlan& plan,
                                         uint32_t shape, llvm::LLVMContext& context,
                                         const llvm::DataLayout& dataLayout,
                                         const std::string& triple, const LowerOptions& options,
                                         const ShapeSymbols& symbols);

/// After the kernels are linked into a shape's module: adds `symbols.wide`, which runs
/// `symbols.lanes` instances of the shape side by side, lane l reading row l. While every lane is
/// settled (schedule.h), their kernel state is gathered into structure-of-arrays allocas, the
/// parameters are block constants, prepare runs per lane, and one per-sample loop runs the
/// kernels' vector forms (widen.h); otherwise each lane goes through the one-instance function.
/// Lane by lane it computes what the one-instance function computes, bit for bit. Returns false
/// (module unchanged) when some kernel does not widen, with the reason in `whyNot`.
Expected<bool> addWideEntry(llvm::Module& module, const Schedule& schedule, const FusionPlan& plan,
                            uint32_t shape, const LowerOptions& options,
                            const ShapeSymbols& symbols, std::string& whyNot);

/// The quick tier, for a shape whose instances mostly run wide: the one-instance function keeps
/// only its general per-sample path (tick every sample), not the settled one (prepare once per
/// block, then process), so that there is half as much of it to compile. It is then the wide
/// entry's fallback while some lane is not settled, and runs any instance left over; by the
/// kernels' contract (module_abi.h) both paths compute the same bits. Call after addWideEntry
/// (which needs the settled path's kernels linked).
void dropSettledPath(llvm::Module& module);

/// The attributes every function of a JIT module carries: host CPU and features (so that kernels
/// built for another CPU still inline), denormals flushed, no unwind tables.
void setHostAttributes(llvm::Function& f, const std::string& cpu, const std::string& features);

/// The kernel entry points of module_abi.h.
enum class KernelEntry { Tick, Emit, Prepare, Process };

/// Name of a kernel entry point of `desc`: chronus_<kernel>_tick, _emit, _prepare or _process.
std::string kernelSymbol(const ModuleDescriptor& desc, KernelEntry entry);

} // namespace chronus::jit

// Lowering: one group shape of the fusion plan to the LLVM module that runs one instance per
// call, implementing schedule.h exactly (the per-sample semantics come from sample_lowering.h).
// The module has an internal group function (a per-sample loop over a block, calling the kernels
// in node order, with a settled path that prepares once per block and the general path; every
// pointer noalias) and the exported entry that reads an instance row and calls it. Kernels are
// only declared; codegen.h links them. wide_entry.h adds the entry for lanes side by side.
#pragma once

#include "compiler/jit/fusion.h"
#include "compiler/jit/shape_abi.h"
#include "compiler/schedule.h"

#include <llvm/IR/Instructions.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/ValueHandle.h>
#include <map>
#include <memory>
#include <string>

namespace chronus::jit {

struct LowerOptions {
    std::string targetCpu; ///< host, for the "target-cpu" attribute
    std::string targetFeatures;
};

/// The kernel entry points of module_abi.h.
enum class KernelEntry { Tick, Emit, Prepare, Process };

/// Name of a kernel entry point of `desc`: chronus_<kernel>_tick, _emit, _prepare or _process (the
/// contract with the kernel bitcode).
std::string kernelSymbol(const ModuleDescriptor& desc, KernelEntry entry);

/// The kernel entry points a module calls: declared by the lowering, then defined in place of the
/// declarations when codegen.h links the kernel bitcode (the handles follow the replacement).
class KernelDeclarations {
public:
    /// The declaration of `entry` of `desc` in `module`, made on first use.
    llvm::Function* declare(llvm::Module& module, const ModuleDescriptor& desc, KernelEntry entry);
    /// Its definition once the kernels are linked; null if it was never declared or not linked.
    llvm::Function* linked(const ModuleDescriptor& desc, KernelEntry entry) const;

private:
    std::map<std::string, llvm::WeakTrackingVH> functions_;
};

/// A shape's module and handles to the pieces that later steps find or change in it.
struct ShapeModule {
    std::unique_ptr<llvm::Module> module;
    llvm::Function* entry = nullptr;     ///< exported: one instance per call (ShapeEntryFn)
    llvm::Function* group = nullptr;     ///< internal: the group function `entry` calls
    llvm::Function* wideEntry = nullptr; ///< exported: `lanes` instances per call, or null
    uint32_t lanes = 0;                  ///< of wideEntry
    llvm::GlobalVariable* kernelContext = nullptr; ///< the constant every kernel call gets
    /// In `group`: the branch between the settled path (true) and the general path (false);
    /// null once dropSettledPath has removed the settled one.
    llvm::BranchInst* pathChoice = nullptr;
    KernelDeclarations kernels;
};

/// The module of shape `shape` of `plan`, its entry named `entryName`. The code depends only on
/// the shape's key.
ShapeModule lowerShape(const Schedule& schedule, const FusionPlan& plan, uint32_t shape,
                       llvm::LLVMContext& context, const llvm::DataLayout& dataLayout,
                       const std::string& triple, const LowerOptions& options,
                       const std::string& entryName);

/// The quick tier, for a shape whose instances mostly run wide: the group function keeps only its
/// general per-sample path (tick every sample), not the settled one (prepare once per block, then
/// process), so that there is half as much of it to compile. It is then the wide entry's fallback
/// while some lane is not settled, and runs any instance left over; by the kernels' contract
/// (module_abi.h) both paths compute the same bits. Call after addWideEntry (which needs the
/// settled path's kernels linked).
void dropSettledPath(ShapeModule& shape);

/// The attributes every function of a JIT module carries: host CPU and features (so that kernels
/// built for another CPU still inline), denormals flushed, no unwind tables.
void setHostAttributes(llvm::Function& f, const std::string& cpu, const std::string& features);

/// The type of every shape entry point (ShapeEntryFn): (params, state, scratch, rows, frames).
llvm::FunctionType* shapeEntryType(llvm::LLVMContext& context);

/// Name of node `n`'s values in the IR: its kernel and its index in the group.
std::string irValueName(const ScheduledNode& n, uint32_t local);

} // namespace chronus::jit

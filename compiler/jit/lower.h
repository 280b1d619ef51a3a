// Lowering: a Schedule and its fusion plan to LLVM IR implementing exactly the semantics stated in
// schedule.h. Kernels are only declared here (chronus_<kernel>_tick/_emit); llvm_jit links them.
#pragma once

#include "expected.h"
#include "jit/fusion.h"
#include "schedule.h"

#include <llvm/IR/Module.h>
#include <memory>
#include <string>

namespace chronus::jit {

struct LowerOptions {
    uint32_t maxBlock = 256; ///< frames per call at most; block buffers hold this many floats
    std::string renderName;  ///< the one external symbol of the module
    std::string targetCpu;   ///< host, for the "target-cpu" attribute
    std::string targetFeatures;
};

/// The render function's C signature:
///   void render(const float* params /* std::atomic<float>[] */, std::byte* state,
///               float* scratch /* plan.buffers.size() * maxBlock floats */, float* out,
///               uint32_t frames /* <= maxBlock */)
using RenderFn = void (*)(const float*, std::byte*, float*, float*, uint32_t);

/// Builds the module: one internal `chronus_group_<shape>` per distinct shape (a per-sample loop
/// over a block calling the kernels in node order) and `renderName`, which calls the group
/// function of every group instance with that instance's pointers, then sums the output taps.
std::unique_ptr<llvm::Module> lowerSchedule(const Schedule& schedule, const FusionPlan& plan,
                                            llvm::LLVMContext& context,
                                            const llvm::DataLayout& dataLayout,
                                            const std::string& triple, const LowerOptions& options);

/// The attributes every function of a JIT module carries: host CPU and features (so that kernels
/// built for another CPU still inline), denormals flushed, no unwind tables.
void setHostAttributes(llvm::Function& f, const std::string& cpu, const std::string& features);

/// Name of the kernel entry point of `desc`: chronus_<kernel>_tick or _emit.
std::string kernelSymbol(const ModuleDescriptor& desc, bool emit);

} // namespace chronus::jit

// schedule.h's semantics as IR, written once for the one-instance group function (lower.h) and
// the wide entry (wide_entry.h): one sample of a group (delayed outputs, then each node's `in`
// slots and kernel, then the exports), a parameter slot's value (target, smoothing, the settled
// shortcut, modulation sources, clamp) and an input's source sum. Every operation is elementwise,
// so the same instructions on <lanes x float> give each lane the bits one instance would get.
#pragma once

#include "compiler/jit/fusion.h"
#include "compiler/schedule.h"

#include <cstdint>
#include <llvm/ADT/STLFunctionalExtras.h>
#include <llvm/IR/IRBuilder.h>
#include <span>

namespace chronus::jit {

/// This sample's value of a signal (float, or <lanes x float>), loaded at the builder.
using SignalReader = llvm::function_ref<llvm::Value*(const SignalRef&)>;

/// Where one code path keeps a parameter's smoother and target: loads and stores are emitted
/// when called, so a path that keeps them in registers returns values it already has.
struct ParamAccess {
    llvm::function_ref<llvm::Value*()> smoother; ///< the smoother's value now
    llvm::function_ref<llvm::Value*()> target;   ///< the block's target
    llvm::function_ref<void(llvm::Value*)> setSmoother;
};

/// The values of `in` slots, one type for all of them: float for one instance, <lanes x float>
/// for lanes side by side.
class SlotLowering {
public:
    /// For the nodes of `group`, whose summed inputs (fusion.h) the reader gives as
    /// groupInputSignal(k).
    SlotLowering(llvm::IRBuilder<>& b, const Schedule& schedule, const FusionGroup& group,
                 llvm::Type* valueType)
        : b_(b), sched_(schedule), group_(group), coef_(schedule.smoothingCoef), type_(valueType) {}

    /// One smoothing step: s + coef * (target - s), in that order (no contraction, as the
    /// interpreter computes it).
    llvm::Value* smoothingStep(llvm::Value* s, llvm::Value* target);
    /// `settled` and, for a smoothed parameter, whether its smoother is at its fixed point (the
    /// step changes nothing): the settled shortcut's test, parameter by parameter.
    llvm::Value* andSettled(llvm::Value* settled, const ParamDesc& d, const ParamAccess& a);
    /// Settled, once per block: the parameter's value for the whole block (its smoother, or the
    /// target an unsmoothed parameter's smoother takes), clamped; for a modulated parameter the
    /// unclamped base that its sources are added to every sample (settledParam).
    llvm::Value* blockParam(const ScheduledNode& n, uint32_t p, const ParamAccess& a);
    /// Settled, per sample: parameter p's slot, from its block value (blockParam).
    llvm::Value* settledParam(const ScheduledNode& n, uint32_t p, llvm::Value* block,
                              SignalReader read);
    /// General path, per sample: the smoothing step, then clamp(s + sum(sources)).
    llvm::Value* generalParam(const ScheduledNode& n, uint32_t p, const ParamAccess& a,
                              SignalReader read);
    /// Audio input i: its sources summed in order, or its unconnected value.
    llvm::Value* input(const ScheduledNode& n, uint32_t i, SignalReader read);
    /// The sum of the sources of slot `slot` of `n` in order ((s0 + s1) + s2 ...), its leading
    /// ones from other groups read as their summed input where the group has one; the slot has
    /// sources. The one place a sum is lowered.
    llvm::Value* sourceSum(const ScheduledNode& n, uint32_t slot, SignalReader read);
    /// fmin(fmax(v, min), max).
    llvm::Value* clamp(llvm::Value* v, const ParamDesc& d);
    llvm::Value* constant(float v) const;

private:
    llvm::IRBuilder<>& b_;
    const Schedule& sched_;
    const FusionGroup& group_;
    float coef_;
    llvm::Type* type_;
};

/// What `prepare` reads (module_abi.h): unconnected inputs at their unconnected values, then
/// every unmodulated parameter at its block value (modulated ones are not prepare's to read).
void setPrepareSlots(const ScheduledNode& n, std::span<llvm::Value* const> blockParams,
                     SlotLowering& slots, llvm::function_ref<void(uint32_t, llvm::Value*)> set);

/// One code path's view of a group during a sample: where node `i`'s `in` slots and outputs
/// live, which kernels it calls and how it reads the signals of other groups.
class SamplePath {
public:
    virtual ~SamplePath() = default;
    /// This sample's value of `s`: an output of a node of the group, or a group input.
    virtual llvm::Value* signal(const SignalRef& s) = 0;
    /// Parameter p of node i for this sample (settledParam or generalParam).
    virtual llvm::Value* param(uint32_t i, uint32_t p, SignalReader read) = 0;
    virtual void setSlot(uint32_t i, uint32_t slot, llvm::Value* v) = 0;
    virtual void emit(uint32_t i) = 0; ///< node i's delayed outputs
    virtual void tick(uint32_t i) = 0; ///< node i's kernel for one sample (tick or process)
    virtual void setExport(uint32_t k, llvm::Value* v) = 0;
};

/// One sample of group `g` as schedule.h orders it: nodes with delayed outputs emit, then every
/// node in order gets its inputs (source sums) and parameters and runs its kernel; then the
/// group's exports are written.
void lowerSample(const Schedule& schedule, const FusionGroup& g, SlotLowering& slots,
                 SamplePath& path);

/// `for (f = 0; f < frames64; ++f) body(f)` in block `loop`, entered from `pred` with frames64 >
/// 0, leaving to `exit`. Returns with the builder at the end of the loop's last block.
void lowerSampleLoop(llvm::IRBuilder<>& b, llvm::BasicBlock* loop, llvm::BasicBlock* pred,
                     llvm::Value* frames64, llvm::BasicBlock* exit,
                     llvm::function_ref<void(llvm::Value* f)> body);

} // namespace chronus::jit

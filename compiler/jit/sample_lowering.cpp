#include "compiler/jit/sample_lowering.h"

#include <llvm/IR/Constants.h>
#include <llvm/IR/Intrinsics.h>

namespace chronus::jit {

using llvm::Value;

Value* SlotLowering::constant(float v) const {
    return llvm::ConstantFP::get(type_, static_cast<double>(v));
}

Value* SlotLowering::smoothingStep(Value* s, Value* target) {
    return b_.CreateFAdd(s, b_.CreateFMul(constant(coef_), b_.CreateFSub(target, s)));
}

Value* SlotLowering::andSettled(Value* settled, const ParamDesc& d, const ParamAccess& a) {
    if (!d.smoothed) return settled; // an unsmoothed parameter is its target: always settled
    Value* target = a.target();
    Value* s = a.smoother();
    return b_.CreateAnd(settled, b_.CreateFCmpOEQ(smoothingStep(s, target), s));
}

Value* SlotLowering::blockParam(const ScheduledNode& n, uint32_t p, const ParamAccess& a) {
    const ParamDesc& d = n.layout->params[p].desc;
    Value* base = nullptr;
    if (d.smoothed) {
        base = a.smoother(); // settled: the step leaves it where it is, every sample
    } else {
        base = a.target();
        a.setSmoother(base);
    }
    const bool modulated = !n.sources[n.inputCount() + p].empty();
    return modulated ? base : clamp(base, d);
}

Value* SlotLowering::settledParam(const ScheduledNode& n, uint32_t p, Value* block,
                                  SignalReader read) {
    const uint32_t slot = n.inputCount() + p;
    if (n.sources[slot].empty()) return block;
    return clamp(b_.CreateFAdd(block, sourceSum(n, slot, read)), n.layout->params[p].desc);
}

Value* SlotLowering::generalParam(const ScheduledNode& n, uint32_t p, const ParamAccess& a,
                                  SignalReader read) {
    const ParamDesc& d = n.layout->params[p].desc;
    const uint32_t slot = n.inputCount() + p;
    Value* s = a.target();
    if (d.smoothed) s = smoothingStep(a.smoother(), s);
    a.setSmoother(s);
    return clamp(n.sources[slot].empty() ? s : b_.CreateFAdd(s, sourceSum(n, slot, read)), d);
}

Value* SlotLowering::input(const ScheduledNode& n, uint32_t i, SignalReader read) {
    if (n.sources[i].empty()) return constant(n.layout->inputs[i].unconnectedValue);
    return sourceSum(n, i, read);
}

Value* SlotLowering::sourceSum(const ScheduledNode& n, uint32_t slot, SignalReader read) {
    const auto v = static_cast<uint32_t>(&n - sched_.nodes.data());
    const SlotSources sum = group_.slotSources(v, slot, n.sources[slot]);
    Value* total = sum.summedInput >= 0
                       ? read(groupInputSignal(static_cast<uint32_t>(sum.summedInput)))
                       : nullptr;
    for (const SignalRef& src : sum.rest)
        total = total ? b_.CreateFAdd(total, read(src)) : read(src);
    return total;
}

Value* SlotLowering::clamp(Value* v, const ParamDesc& d) {
    v = b_.CreateBinaryIntrinsic(llvm::Intrinsic::maxnum, v, constant(d.minValue));
    return b_.CreateBinaryIntrinsic(llvm::Intrinsic::minnum, v, constant(d.maxValue));
}

void setPrepareSlots(const ScheduledNode& n, std::span<Value* const> blockParams,
                     SlotLowering& slots, llvm::function_ref<void(uint32_t, Value*)> set) {
    for (uint32_t i = 0; i < n.inputCount(); ++i)
        set(i, slots.constant(n.layout->inputs[i].unconnectedValue));
    for (uint32_t p = 0; p < n.paramCount(); ++p)
        if (n.sources[n.inputCount() + p].empty()) set(n.inputCount() + p, blockParams[p]);
}

void lowerSample(const Schedule& schedule, const FusionGroup& g, SlotLowering& slots,
                 SamplePath& path) {
    const auto nodeCount = static_cast<uint32_t>(g.nodes.size());
    for (uint32_t i = 0; i < nodeCount; ++i)
        if (schedule.nodes[g.nodes[i]].hasDelayedOutput()) path.emit(i);
    auto read = [&](const SignalRef& s) { return path.signal(s); };
    for (uint32_t i = 0; i < nodeCount; ++i) {
        const ScheduledNode& n = schedule.nodes[g.nodes[i]];
        for (uint32_t s = 0; s < n.inputCount(); ++s) path.setSlot(i, s, slots.input(n, s, read));
        for (uint32_t p = 0; p < n.paramCount(); ++p)
            path.setSlot(i, n.inputCount() + p, path.param(i, p, read));
        path.tick(i);
    }
    for (uint32_t k = 0; k < g.exports.size(); ++k) path.setExport(k, path.signal(g.exports[k]));
}

void lowerSampleLoop(llvm::IRBuilder<>& b, llvm::BasicBlock* loop, llvm::BasicBlock* pred,
                     Value* frames64, llvm::BasicBlock* exit,
                     llvm::function_ref<void(Value*)> body) {
    b.SetInsertPoint(loop);
    auto* f = b.CreatePHI(b.getInt64Ty(), 2, "f");
    f->addIncoming(b.getInt64(0), pred);
    body(f);
    Value* next = b.CreateAdd(f, b.getInt64(1), "f.next", true, true);
    f->addIncoming(next, b.GetInsertBlock());
    b.CreateCondBr(b.CreateICmpULT(next, frames64), loop, exit);
}

} // namespace chronus::jit

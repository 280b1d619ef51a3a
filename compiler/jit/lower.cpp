// lower.cpp: a group shape's one-instance code, the group function and its exported entry.
#include "compiler/jit/lower.h"

#include "compiler/jit/sample_lowering.h"

#include <algorithm>
#include <fmt/format.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/Transforms/Utils/Local.h>
#include <map>

namespace chronus::jit {

namespace {

using llvm::ArrayType;
using llvm::BasicBlock;
using llvm::Function;
using llvm::FunctionType;
using llvm::IRBuilder;
using llvm::Type;
using llvm::Value;

/// Node i's values inside the group function.
struct NodeValues {
    Value* kernelState = nullptr;
    Value* in = nullptr;  ///< [slots x float] alloca
    Value* out = nullptr; ///< [outputs x float] alloca
    Type* inTy = nullptr;
    Type* outTy = nullptr;
    std::vector<Value*> targets;
    std::vector<Value*> smoothers; ///< float allocas, loaded from and stored to instance memory
    std::vector<Value*> initial;   ///< the smoothers' values at block start
    std::vector<Value*> block;     ///< settled path: each parameter's block value (blockParam)
};

/// The one-instance code of one shape, into `shape.module` (OneInstancePath reads its members).
struct ScalarLowering {
    ScalarLowering(const Schedule& s, const LowerOptions& o, ShapeModule& m)
        : sched_(s), opts_(o), shape_(m), module_(*m.module), ctx_(module_.getContext()),
          f32_(Type::getFloatTy(ctx_)), i32_(Type::getInt32Ty(ctx_)), i64_(Type::getInt64Ty(ctx_)),
          ptr_(llvm::PointerType::get(ctx_, 0)) {}

    /// The KernelContext every kernel call gets: a constant, so its loads fold after inlining.
    void makeKernelContext() {
        KernelContext kc = sched_.context();
        auto* ty = llvm::StructType::create(ctx_, {f32_, f32_}, "chronus.KernelContext");
        auto* init = llvm::ConstantStruct::get(
            ty, {llvm::ConstantFP::get(f32_, static_cast<double>(kc.sampleRate)),
                 llvm::ConstantFP::get(f32_, static_cast<double>(kc.invSampleRate))});
        auto* gv = new llvm::GlobalVariable(module_, ty, true, llvm::GlobalValue::InternalLinkage,
                                            init, "chronus.context");
        gv->setAlignment(llvm::Align(16));
        shape_.kernelContext = gv;
    }

    void groupFunction(const FusionGroup& g);
    void entryFunction(const FusionGroup& g, const std::string& symbol);

    Function* kernel(const ScheduledNode& n, KernelEntry entry) {
        return shape_.kernels.declare(module_, *n.desc, entry);
    }

    const Schedule& sched_;
    const LowerOptions& opts_;
    ShapeModule& shape_;
    llvm::Module& module_;
    llvm::LLVMContext& ctx_;
    Type* f32_;
    Type* i32_;
    Type* i64_;
    Type* ptr_;

    Function* groupDeclaration(const RowLayout& row);
};

/// One instance's sample (sample_lowering.h): `in` and `out` in allocas, signals of other groups
/// from the block buffers, parameters on the settled or the general path.
class OneInstancePath final : public SamplePath {
public:
    OneInstancePath(ScalarLowering& l, IRBuilder<>& b, SlotLowering& slots, const FusionGroup& g,
                    std::vector<NodeValues>& nv, bool settled)
        : l_(l), b_(b), slots_(slots), g_(g), row_(g), nv_(nv), settled_(settled),
          fn_(l.shape_.group) {
        for (uint32_t i = 0; i < g.nodes.size(); ++i) local_[g.nodes[i]] = i;
    }

    Value* frame = nullptr; ///< this sample's index in the block

    Value* signal(const SignalRef& s) override {
        if (auto it = local_.find(s.node); it != local_.end()) {
            const NodeValues& v = nv_[it->second];
            return b_.CreateLoad(l_.f32_,
                                 b_.CreateConstInBoundsGEP2_32(v.outTy, v.out, 0, s.output));
        }
        const auto k = static_cast<uint32_t>(s.node == kGroupInputNode ? s.output : g_.inputOf(s));
        return b_.CreateLoad(l_.f32_,
                             b_.CreateInBoundsGEP(l_.f32_, fn_->getArg(row_.input(k)), frame));
    }
    Value* param(uint32_t i, uint32_t p, SignalReader read) override {
        const ScheduledNode& n = node(i);
        NodeValues& v = nv_[i];
        if (settled_) return slots_.settledParam(n, p, v.block[p], read);
        auto smoother = [&]() -> Value* { return b_.CreateLoad(l_.f32_, v.smoothers[p]); };
        auto target = [&] { return v.targets[p]; };
        auto set = [&](Value* s) { b_.CreateStore(s, v.smoothers[p]); };
        return slots_.generalParam(n, p, {smoother, target, set}, read);
    }
    void setSlot(uint32_t i, uint32_t slot, Value* x) override {
        b_.CreateStore(x, b_.CreateConstInBoundsGEP2_32(nv_[i].inTy, nv_[i].in, 0, slot));
    }
    void emit(uint32_t i) override {
        b_.CreateCall(l_.kernel(node(i), KernelEntry::Emit),
                      {nv_[i].kernelState, nv_[i].out, l_.shape_.kernelContext});
    }
    void tick(uint32_t i) override {
        const KernelEntry entry =
            settled_ && node(i).canPrepare() ? KernelEntry::Process : KernelEntry::Tick;
        b_.CreateCall(l_.kernel(node(i), entry),
                      {nv_[i].kernelState, nv_[i].in, nv_[i].out, l_.shape_.kernelContext});
    }
    void setExport(uint32_t k, Value* v) override {
        b_.CreateStore(v, b_.CreateInBoundsGEP(l_.f32_, fn_->getArg(row_.exported(k)), frame));
    }

private:
    const ScheduledNode& node(uint32_t i) const { return l_.sched_.nodes[g_.nodes[i]]; }

    ScalarLowering& l_;
    IRBuilder<>& b_;
    SlotLowering& slots_;
    const FusionGroup& g_;
    RowLayout row_;
    std::vector<NodeValues>& nv_;
    bool settled_;
    Function* fn_;
    std::map<uint32_t, uint32_t> local_; ///< group-local index of each of its schedule nodes
};

Function* ScalarLowering::groupDeclaration(const RowLayout& row) {
    // Arguments: the row's pointers (per node its parameter targets and instance memory, then the
    // block buffers it reads and writes), then the frame count. Each pointer is noalias:
    // instances never overlap.
    std::vector<Type*> argTypes(row.words(), ptr_);
    argTypes.push_back(i32_);
    auto* fty = FunctionType::get(Type::getVoidTy(ctx_), argTypes, false);
    auto* fn = Function::Create(fty, llvm::GlobalValue::InternalLinkage, "chronus_group", module_);
    fn->setDoesNotThrow();
    for (unsigned a = 0; a < row.words(); ++a) {
        fn->addParamAttr(a, llvm::Attribute::NoAlias);
        fn->addParamAttr(a, llvm::Attribute::NoCapture);
        if (a < row.input(0) && a % 2 == 1)
            fn->addParamAttr(a, llvm::Attribute::getWithAlignment(ctx_, llvm::Align(16)));
        if (a >= row.input(0))
            fn->addParamAttr(a, llvm::Attribute::getWithAlignment(ctx_, llvm::Align(64)));
        if (a >= row.input(0) && a < row.exported(0))
            fn->addParamAttr(a, llvm::Attribute::ReadOnly);
    }
    return fn;
}

void ScalarLowering::groupFunction(const FusionGroup& g) {
    const RowLayout row(g);
    Function* fn = groupDeclaration(row);
    shape_.group = fn;
    setHostAttributes(*fn, opts_.targetCpu, opts_.targetFeatures);
    fn->addFnAttr(llvm::Attribute::NoInline); // only the entries call it
    for (uint32_t i = 0; i < row.nodes; ++i) {
        const ScheduledNode& n = sched_.nodes[g.nodes[i]];
        fn->getArg(row.params(i))->setName(irValueName(n, i) + ".params");
        fn->getArg(row.memory(i))->setName(irValueName(n, i) + ".mem");
    }
    for (uint32_t k = 0; k < row.inputs; ++k)
        fn->getArg(row.input(k))->setName(fmt::format("in{}", k));
    for (uint32_t k = 0; k < row.exports; ++k)
        fn->getArg(row.exported(k))->setName(fmt::format("out{}", k));
    Value* frames = fn->getArg(row.words());
    frames->setName("frames");

    auto* entry = BasicBlock::Create(ctx_, "entry", fn);
    auto* settledPre = BasicBlock::Create(ctx_, "settled", fn);
    auto* settledLoop = BasicBlock::Create(ctx_, "settled.sample", fn);
    auto* slowLoop = BasicBlock::Create(ctx_, "sample", fn);
    auto* exit = BasicBlock::Create(ctx_, "exit", fn);
    IRBuilder<> b(entry);
    SlotLowering slots(b, sched_, g, f32_);

    // Once per block: targets, smoothers, and whether every smoother is settled.
    std::vector<NodeValues> nv(row.nodes);
    Value* settled = b.getTrue();
    for (uint32_t i = 0; i < row.nodes; ++i) {
        const ScheduledNode& n = sched_.nodes[g.nodes[i]];
        const std::string name = irValueName(n, i);
        Value* params = fn->getArg(row.params(i));
        Value* mem = fn->getArg(row.memory(i));
        NodeValues& v = nv[i];
        v.kernelState = b.CreateConstInBoundsGEP1_64(
            b.getInt8Ty(), mem, n.kernelStateOffset - n.stateOffset, name + ".state");
        v.inTy = ArrayType::get(f32_, std::max<size_t>(n.layout->kernelInCount(), 1));
        v.outTy = ArrayType::get(f32_, std::max<uint32_t>(n.outputCount(), 1));
        v.in = b.CreateAlloca(v.inTy, nullptr, name + ".in");
        v.out = b.CreateAlloca(v.outTy, nullptr, name + ".out");
        for (uint32_t p = 0; p < n.paramCount(); ++p) {
            const std::string pname = name + "." + n.layout->params[p].name;
            // Targets: once per block, monotonic (relaxed) atomic loads of std::atomic<float>.
            auto* load = b.CreateAlignedLoad(f32_, b.CreateConstInBoundsGEP1_64(f32_, params, p),
                                             llvm::Align(4), pname + ".target");
            load->setAtomic(llvm::AtomicOrdering::Monotonic);
            v.targets.push_back(load);
            auto* slot = b.CreateAlloca(f32_, nullptr, pname + ".smoother");
            Value* initial = b.CreateAlignedLoad(f32_, b.CreateConstInBoundsGEP1_64(f32_, mem, p),
                                                 llvm::Align(4), pname + ".s");
            b.CreateStore(initial, slot);
            v.smoothers.push_back(slot);
            v.initial.push_back(initial);
            auto smoother = [&] { return initial; };
            auto target = [&]() -> Value* { return load; };
            settled = slots.andSettled(settled, n.layout->params[p].desc,
                                       {smoother, target, [](Value*) {}});
        }
    }
    Value* frames64 = b.CreateZExt(frames, i64_, "frames64");
    auto* run = BasicBlock::Create(ctx_, "run", fn, settledPre);
    b.CreateCondBr(b.CreateICmpEQ(frames, b.getInt32(0)), exit, run);
    b.SetInsertPoint(run);
    shape_.pathChoice = b.CreateCondBr(settled, settledPre, slowLoop);

    // Settled path, once per block: each parameter's block value; prepare where it applies.
    b.SetInsertPoint(settledPre);
    for (uint32_t i = 0; i < row.nodes; ++i) {
        const ScheduledNode& n = sched_.nodes[g.nodes[i]];
        NodeValues& v = nv[i];
        for (uint32_t p = 0; p < n.paramCount(); ++p) {
            auto smoother = [&] { return v.initial[p]; };
            auto target = [&] { return v.targets[p]; };
            auto set = [&](Value* s) { b.CreateStore(s, v.smoothers[p]); };
            v.block.push_back(slots.blockParam(n, p, {smoother, target, set}));
        }
        if (n.canPrepare()) {
            setPrepareSlots(n, v.block, slots, [&](uint32_t slot, Value* x) {
                b.CreateStore(x, b.CreateConstInBoundsGEP2_32(v.inTy, v.in, 0, slot));
            });
            b.CreateCall(kernel(n, KernelEntry::Prepare),
                         {v.kernelState, v.in, shape_.kernelContext});
        }
    }
    b.CreateBr(settledLoop);

    // The two per-sample loops.
    OneInstancePath settledPath(*this, b, slots, g, nv, true);
    lowerSampleLoop(b, settledLoop, settledPre, frames64, exit, [&](Value* f) {
        settledPath.frame = f;
        lowerSample(sched_, g, slots, settledPath);
    });
    OneInstancePath generalPath(*this, b, slots, g, nv, false);
    lowerSampleLoop(b, slowLoop, run, frames64, exit, [&](Value* f) {
        generalPath.frame = f;
        lowerSample(sched_, g, slots, generalPath);
    });

    // Smoothers back to instance memory.
    b.SetInsertPoint(exit);
    for (uint32_t i = 0; i < row.nodes; ++i) {
        Value* mem = fn->getArg(row.memory(i));
        for (uint32_t p = 0; p < nv[i].smoothers.size(); ++p)
            b.CreateAlignedStore(b.CreateLoad(f32_, nv[i].smoothers[p]),
                                 b.CreateConstInBoundsGEP1_64(f32_, mem, p), llvm::Align(4));
    }
    b.CreateRetVoid();
}

void ScalarLowering::entryFunction(const FusionGroup& g, const std::string& symbol) {
    const RowLayout layout(g);
    auto* fn =
        Function::Create(shapeEntryType(ctx_), llvm::GlobalValue::ExternalLinkage, symbol, module_);
    shape_.entry = fn;
    setHostAttributes(*fn, opts_.targetCpu, opts_.targetFeatures);
    const char* names[] = {"params", "state", "scratch", "row", "frames"};
    for (unsigned a = 0; a < 5; ++a) fn->getArg(a)->setName(names[a]);
    fn->addParamAttr(1, llvm::Attribute::getWithAlignment(ctx_, llvm::Align(64)));
    fn->addParamAttr(2, llvm::Attribute::getWithAlignment(ctx_, llvm::Align(64)));
    fn->addParamAttr(3, llvm::Attribute::ReadOnly);
    IRBuilder<> b(BasicBlock::Create(ctx_, "entry", fn));
    Value* row = fn->getArg(3);
    auto at = [&](uint32_t k) -> Value* {
        return b.CreateZExt(
            b.CreateAlignedLoad(i32_, b.CreateConstInBoundsGEP1_64(i32_, row, k), llvm::Align(4)),
            i64_);
    };
    std::vector<Value*> args;
    for (uint32_t i = 0; i < layout.nodes; ++i) {
        args.push_back(b.CreateInBoundsGEP(f32_, fn->getArg(0), at(layout.params(i))));
        args.push_back(b.CreateInBoundsGEP(b.getInt8Ty(), fn->getArg(1), at(layout.memory(i))));
    }
    for (uint32_t k = 0; k < layout.buffers(); ++k)
        args.push_back(b.CreateInBoundsGEP(f32_, fn->getArg(2), at(layout.input(k))));
    args.push_back(fn->getArg(4));
    b.CreateCall(shape_.group, args);
    b.CreateRetVoid();
}

} // namespace

std::string kernelSymbol(const ModuleDescriptor& desc, KernelEntry entry) {
    static constexpr const char* kSuffix[] = {"tick", "emit", "prepare", "process"};
    return fmt::format("chronus_{}_{}", desc.kernel, kSuffix[static_cast<int>(entry)]);
}

llvm::Function* KernelDeclarations::declare(llvm::Module& module, const ModuleDescriptor& desc,
                                            KernelEntry entry) {
    std::string name = kernelSymbol(desc, entry);
    llvm::WeakTrackingVH& handle = functions_[name];
    if (handle) return llvm::cast<Function>(handle);
    llvm::LLVMContext& ctx = module.getContext();
    Type* ptr = llvm::PointerType::get(ctx, 0);
    const bool threeArgs = entry == KernelEntry::Emit || entry == KernelEntry::Prepare;
    auto* ty = threeArgs ? FunctionType::get(Type::getVoidTy(ctx), {ptr, ptr, ptr}, false)
                         : FunctionType::get(Type::getVoidTy(ctx), {ptr, ptr, ptr, ptr}, false);
    auto* f = Function::Create(ty, llvm::GlobalValue::ExternalLinkage, name, module);
    f->setDoesNotThrow();
    handle = f;
    return f;
}

llvm::Function* KernelDeclarations::linked(const ModuleDescriptor& desc, KernelEntry entry) const {
    auto it = functions_.find(kernelSymbol(desc, entry));
    if (it == functions_.end()) return nullptr;
    auto* f = llvm::dyn_cast_or_null<Function>(static_cast<Value*>(it->second));
    return f != nullptr && !f->isDeclaration() ? f : nullptr;
}

std::string irValueName(const ScheduledNode& n, uint32_t local) {
    return fmt::format("{}{}", n.desc->kernel, local);
}

llvm::FunctionType* shapeEntryType(llvm::LLVMContext& ctx) {
    Type* ptr = llvm::PointerType::get(ctx, 0);
    return FunctionType::get(Type::getVoidTy(ctx), {ptr, ptr, ptr, ptr, Type::getInt32Ty(ctx)},
                             false);
}

std::vector<uint32_t> instanceRow(const Schedule& sched, const FusionGroup& g, uint32_t maxBlock) {
    std::vector<uint32_t> o;
    for (uint32_t v : g.nodes) {
        o.push_back(sched.nodes[v].paramIndex);
        o.push_back(sched.nodes[v].stateOffset);
    }
    for (uint32_t b : g.inputBuffers) o.push_back(b * maxBlock);
    for (uint32_t b : g.exportBuffers) o.push_back(b * maxBlock);
    return o;
}

void setHostAttributes(llvm::Function& f, const std::string& cpu, const std::string& features) {
    f.removeFnAttr("tune-cpu");
    f.addFnAttr("target-cpu", cpu);
    f.addFnAttr("target-features", features);
    f.addFnAttr("denormal-fp-math", "preserve-sign,preserve-sign");
    f.addFnAttr("denormal-fp-math-f32", "preserve-sign,preserve-sign");
    f.removeFnAttr(llvm::Attribute::UWTable);
    f.setDoesNotThrow();
}

void dropSettledPath(ShapeModule& shape) {
    if (shape.pathChoice == nullptr) return;
    llvm::BasicBlock* general = shape.pathChoice->getSuccessor(1);
    llvm::BranchInst::Create(general, shape.pathChoice);
    shape.pathChoice->eraseFromParent();
    shape.pathChoice = nullptr;
    llvm::removeUnreachableBlocks(*shape.group);
}

ShapeModule lowerShape(const Schedule& schedule, const FusionPlan& plan, uint32_t shape,
                       llvm::LLVMContext& context, const llvm::DataLayout& dataLayout,
                       const std::string& triple, const LowerOptions& options,
                       const std::string& entryName) {
    ShapeModule m;
    m.module = std::make_unique<llvm::Module>("chronus_shape", context);
    m.module->setDataLayout(dataLayout);
    m.module->setTargetTriple(triple);
    const FusionGroup& g = plan.groups[plan.shapes[shape].exemplar];
    ScalarLowering l(schedule, options, m);
    l.makeKernelContext();
    l.groupFunction(g);
    l.entryFunction(g, entryName);
    return m;
}

} // namespace chronus::jit

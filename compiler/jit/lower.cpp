#include "compiler/jit/lower.h"

#include "compiler/jit/widen.h"

#include <algorithm>
#include <fmt/format.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
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

/// Types and shared declarations of one module.
struct Lowering {
    const Schedule& sched;
    const FusionPlan& plan;
    const LowerOptions& opts;
    llvm::LLVMContext& ctx;
    llvm::Module& module;
    Type* f32;
    Type* i32;
    Type* i64;
    Type* ptr;
    llvm::GlobalVariable* kernelContext = nullptr;
    std::map<std::string, Function*> kernels;

    Lowering(const Schedule& s, const FusionPlan& p, const LowerOptions& o, llvm::Module& m)
        : sched(s), plan(p), opts(o), ctx(m.getContext()), module(m), f32(Type::getFloatTy(ctx)),
          i32(Type::getInt32Ty(ctx)), i64(Type::getInt64Ty(ctx)),
          ptr(llvm::PointerType::get(ctx, 0)) {}

    /// The KernelContext every kernel call gets: a constant, so its loads fold after inlining.
    void makeKernelContext() {
        KernelContext kc = sched.context();
        auto* ty = llvm::StructType::create(ctx, {f32, f32}, "chronus.KernelContext");
        auto* init = llvm::ConstantStruct::get(
            ty, {llvm::ConstantFP::get(f32, static_cast<double>(kc.sampleRate)),
                 llvm::ConstantFP::get(f32, static_cast<double>(kc.invSampleRate))});
        kernelContext = new llvm::GlobalVariable(
            module, ty, true, llvm::GlobalValue::InternalLinkage, init, "chronus.context");
        kernelContext->setAlignment(llvm::Align(16));
    }

    Function* kernel(const ModuleDescriptor& desc, KernelEntry entry) {
        std::string name = kernelSymbol(desc, entry);
        if (auto it = kernels.find(name); it != kernels.end()) return it->second;
        const bool threeArgs = entry == KernelEntry::Emit || entry == KernelEntry::Prepare;
        auto* ty = threeArgs ? FunctionType::get(Type::getVoidTy(ctx), {ptr, ptr, ptr}, false)
                             : FunctionType::get(Type::getVoidTy(ctx), {ptr, ptr, ptr, ptr}, false);
        auto* f = Function::Create(ty, llvm::GlobalValue::ExternalLinkage, name, module);
        f->setDoesNotThrow();
        kernels[name] = f;
        return f;
    }

    /// The group function of `shapeIndex`: one instance, every pointer noalias (internal).
    Function* groupDeclaration(uint32_t shapeIndex, const std::string& name);
    Function* groupFunction(uint32_t shapeIndex, const std::string& name);
    /// The shape's exported entry: reads one instance row, calls `group`.
    Function* entryFunction(uint32_t shapeIndex, Function* group, const std::string& symbol);
};

llvm::Constant* constF(Type* t, float v) {
    return llvm::ConstantFP::get(t, static_cast<double>(v));
}

std::string valueName(const ScheduledNode& n, uint32_t local) {
    return fmt::format("{}{}", n.desc->kernel, local);
}

Function* Lowering::groupDeclaration(uint32_t shapeIndex, const std::string& name) {
    const FusionGroup& g = plan.groups[plan.shapes[shapeIndex].exemplar];
    const auto nodeCount = static_cast<uint32_t>(g.nodes.size());
    // Arguments: per node its parameter targets and instance memory, then the block buffers it
    // reads and writes, then the frame count. Each pointer is noalias: instances never overlap.
    std::vector<Type*> argTypes(2 * nodeCount + g.inputs.size() + g.exports.size(), ptr);
    argTypes.push_back(i32);
    auto* fty = FunctionType::get(Type::getVoidTy(ctx), argTypes, false);
    auto* fn = Function::Create(fty, llvm::GlobalValue::InternalLinkage, name, module);
    fn->setDoesNotThrow();
    const uint32_t inputArg0 = 2 * nodeCount;
    const uint32_t exportArg0 = inputArg0 + static_cast<uint32_t>(g.inputs.size());
    for (unsigned a = 0; a + 1 < fn->arg_size(); ++a) {
        fn->addParamAttr(a, llvm::Attribute::NoAlias);
        fn->addParamAttr(a, llvm::Attribute::NoCapture);
        if (a < inputArg0 && a % 2 == 1)
            fn->addParamAttr(a, llvm::Attribute::getWithAlignment(ctx, llvm::Align(16)));
        if (a >= inputArg0)
            fn->addParamAttr(a, llvm::Attribute::getWithAlignment(ctx, llvm::Align(64)));
        if (a >= inputArg0 && a < exportArg0) fn->addParamAttr(a, llvm::Attribute::ReadOnly);
    }
    return fn;
}

Function* Lowering::groupFunction(uint32_t shapeIndex, const std::string& symbol) {
    // (internal: only the entry function calls it)
    const FusionShape& shape = plan.shapes[shapeIndex];
    const FusionGroup& g = plan.groups[shape.exemplar];
    const auto nodeCount = static_cast<uint32_t>(g.nodes.size());
    std::map<uint32_t, uint32_t> local;
    for (uint32_t i = 0; i < nodeCount; ++i) local[g.nodes[i]] = i;

    Function* fn = groupDeclaration(shapeIndex, symbol);
    setHostAttributes(*fn, opts.targetCpu, opts.targetFeatures);
    fn->addFnAttr(llvm::Attribute::NoInline);
    const uint32_t inputArg0 = 2 * nodeCount;
    const uint32_t exportArg0 = inputArg0 + static_cast<uint32_t>(g.inputs.size());
    for (uint32_t i = 0; i < nodeCount; ++i) {
        const ScheduledNode& n = sched.nodes[g.nodes[i]];
        fn->getArg(2 * i)->setName(valueName(n, i) + ".params");
        fn->getArg(2 * i + 1)->setName(valueName(n, i) + ".mem");
    }
    for (uint32_t k = 0; k < g.inputs.size(); ++k)
        fn->getArg(inputArg0 + k)->setName(fmt::format("in{}", k));
    for (uint32_t k = 0; k < g.exports.size(); ++k)
        fn->getArg(exportArg0 + k)->setName(fmt::format("out{}", k));
    Value* frames = fn->getArg(static_cast<unsigned>(fn->arg_size() - 1));
    frames->setName("frames");

    auto* entry = BasicBlock::Create(ctx, "entry", fn);
    auto* settledPre = BasicBlock::Create(ctx, "settled", fn);
    auto* settledLoop = BasicBlock::Create(ctx, "settled.sample", fn);
    auto* slowLoop = BasicBlock::Create(ctx, "sample", fn);
    auto* exit = BasicBlock::Create(ctx, "exit", fn);
    IRBuilder<> b(entry);

    struct NodeValues {
        Value* kernelState;
        Value* in;  ///< [slots x float] alloca
        Value* out; ///< [outputs x float] alloca
        Type* inTy;
        Type* outTy;
        std::vector<Value*> targets;
        std::vector<Value*> smoothers; ///< float allocas, loaded from and stored to instance memory
        std::vector<Value*> initial;   ///< the smoothers' values at block start
        std::vector<Value*> steady;    ///< settled path: each unmodulated parameter's value
    };
    std::vector<NodeValues> nv(nodeCount);
    Value* settled = b.getTrue();
    for (uint32_t i = 0; i < nodeCount; ++i) {
        const ScheduledNode& n = sched.nodes[g.nodes[i]];
        const std::string name = valueName(n, i);
        Value* params = fn->getArg(2 * i);
        Value* mem = fn->getArg(2 * i + 1);
        NodeValues& v = nv[i];
        v.kernelState = b.CreateConstInBoundsGEP1_64(
            b.getInt8Ty(), mem, n.kernelStateOffset - n.stateOffset, name + ".state");
        v.inTy = ArrayType::get(f32, std::max<size_t>(n.layout->slotCount(), 1));
        v.outTy = ArrayType::get(f32, std::max<uint32_t>(n.outputCount(), 1));
        v.in = b.CreateAlloca(v.inTy, nullptr, name + ".in");
        v.out = b.CreateAlloca(v.outTy, nullptr, name + ".out");
        for (uint32_t p = 0; p < n.paramCount(); ++p) {
            const std::string pname = name + "." + n.layout->params[p].name;
            // Targets: once per block, monotonic (relaxed) atomic loads of std::atomic<float>.
            auto* load = b.CreateAlignedLoad(f32, b.CreateConstInBoundsGEP1_64(f32, params, p),
                                             llvm::Align(4), pname + ".target");
            load->setAtomic(llvm::AtomicOrdering::Monotonic);
            v.targets.push_back(load);
            auto* slot = b.CreateAlloca(f32, nullptr, pname + ".smoother");
            Value* initial = b.CreateAlignedLoad(f32, b.CreateConstInBoundsGEP1_64(f32, mem, p),
                                                 llvm::Align(4), pname + ".s");
            b.CreateStore(initial, slot);
            v.smoothers.push_back(slot);
            v.initial.push_back(initial);
            if (n.layout->params[p].desc.smoothed) {
                // Settled: the smoothing step (exactly as the loop takes it) changes nothing.
                Value* next =
                    b.CreateFAdd(initial, b.CreateFMul(constF(f32, sched.smoothingCoef),
                                                       b.CreateFSub(v.targets[p], initial)));
                settled = b.CreateAnd(settled, b.CreateFCmpOEQ(next, initial));
            }
        }
    }
    Value* frames64 = b.CreateZExt(frames, i64, "frames64");
    auto* run = BasicBlock::Create(ctx, "run", fn, settledPre);
    b.CreateCondBr(b.CreateICmpEQ(frames, b.getInt32(0)), exit, run);
    b.SetInsertPoint(run);
    b.CreateCondBr(settled, settledPre, slowLoop);

    auto maxnum = llvm::Intrinsic::maxnum;
    auto minnum = llvm::Intrinsic::minnum;
    auto clampParam = [&](Value* x, const ParamDesc& d) {
        x = b.CreateBinaryIntrinsic(maxnum, x, constF(f32, d.minValue));
        return b.CreateBinaryIntrinsic(minnum, x, constF(f32, d.maxValue));
    };

    // Settled path, once per block: each unmodulated parameter's value; prepare where it applies.
    b.SetInsertPoint(settledPre);
    for (uint32_t i = 0; i < nodeCount; ++i) {
        const ScheduledNode& n = sched.nodes[g.nodes[i]];
        NodeValues& v = nv[i];
        v.steady.assign(n.paramCount(), nullptr);
        for (uint32_t p = 0; p < n.paramCount(); ++p) {
            const ParamDesc& d = n.layout->params[p].desc;
            Value* s = d.smoothed ? v.initial[p] : v.targets[p];
            if (!d.smoothed) b.CreateStore(s, v.smoothers[p]);
            if (n.sources[n.inputCount() + p].empty()) v.steady[p] = clampParam(s, d);
        }
        if (n.canPrepare()) {
            for (uint32_t s = 0; s < n.inputCount(); ++s)
                b.CreateStore(constF(f32, n.layout->inputs[s].unconnectedValue),
                              b.CreateConstInBoundsGEP2_32(v.inTy, v.in, 0, s));
            for (uint32_t p = 0; p < n.paramCount(); ++p)
                if (v.steady[p] != nullptr) // modulated ones are not prepare's to read
                    b.CreateStore(v.steady[p], b.CreateConstInBoundsGEP2_32(v.inTy, v.in, 0,
                                                                            n.inputCount() + p));
            b.CreateCall(kernel(*n.desc, KernelEntry::Prepare),
                         {v.kernelState, v.in, kernelContext});
        }
    }
    b.CreateBr(settledLoop);

    // One sample: delayed outputs first, then every node in order, then the exports.
    auto sampleBody = [&](BasicBlock* loop, BasicBlock* pred, bool steadyPath) {
        b.SetInsertPoint(loop);
        auto* f = b.CreatePHI(i64, 2, "f");
        f->addIncoming(b.getInt64(0), pred);
        for (uint32_t i = 0; i < nodeCount; ++i) {
            const ScheduledNode& n = sched.nodes[g.nodes[i]];
            if (n.hasDelayedOutput())
                b.CreateCall(kernel(*n.desc, KernelEntry::Emit),
                             {nv[i].kernelState, nv[i].out, kernelContext});
        }
        auto signal = [&](const SignalRef& s) -> Value* {
            if (auto it = local.find(s.node); it != local.end())
                return b.CreateLoad(f32,
                                    b.CreateConstInBoundsGEP2_32(nv[it->second].outTy,
                                                                 nv[it->second].out, 0, s.output));
            auto k = static_cast<unsigned>(std::find(g.inputs.begin(), g.inputs.end(), s) -
                                           g.inputs.begin());
            return b.CreateLoad(f32, b.CreateInBoundsGEP(f32, fn->getArg(inputArg0 + k), f));
        };
        auto sum = [&](const std::vector<SignalRef>& sources) {
            Value* v = signal(sources[0]);
            for (size_t k = 1; k < sources.size(); ++k) v = b.CreateFAdd(v, signal(sources[k]));
            return v;
        };
        for (uint32_t i = 0; i < nodeCount; ++i) {
            const ScheduledNode& n = sched.nodes[g.nodes[i]];
            NodeValues& v = nv[i];
            Type* inTy = v.inTy;
            for (uint32_t s = 0; s < n.inputCount(); ++s) {
                const auto& src = n.sources[s];
                Value* x =
                    src.empty() ? constF(f32, n.layout->inputs[s].unconnectedValue) : sum(src);
                b.CreateStore(x, b.CreateConstInBoundsGEP2_32(inTy, v.in, 0, s));
            }
            for (uint32_t p = 0; p < n.paramCount(); ++p) {
                const ParamDesc& d = n.layout->params[p].desc;
                const auto& src = n.sources[n.inputCount() + p];
                Value* x = nullptr;
                if (steadyPath) {
                    x = src.empty()
                            ? v.steady[p]
                            : clampParam(
                                  b.CreateFAdd(d.smoothed ? v.initial[p] : v.targets[p], sum(src)),
                                  d);
                } else {
                    Value* s = v.targets[p];
                    if (d.smoothed) {
                        // s + coef * (target - s), in that order (no contraction: matches the
                        // interpreter)
                        Value* prev = b.CreateLoad(f32, v.smoothers[p]);
                        s = b.CreateFAdd(prev, b.CreateFMul(constF(f32, sched.smoothingCoef),
                                                            b.CreateFSub(v.targets[p], prev)));
                    }
                    b.CreateStore(s, v.smoothers[p]);
                    x = clampParam(src.empty() ? s : b.CreateFAdd(s, sum(src)), d);
                }
                b.CreateStore(x, b.CreateConstInBoundsGEP2_32(inTy, v.in, 0, n.inputCount() + p));
            }
            KernelEntry entryPoint =
                steadyPath && n.canPrepare() ? KernelEntry::Process : KernelEntry::Tick;
            b.CreateCall(kernel(*n.desc, entryPoint), {v.kernelState, v.in, v.out, kernelContext});
        }
        for (uint32_t k = 0; k < g.exports.size(); ++k)
            b.CreateStore(signal(g.exports[k]),
                          b.CreateInBoundsGEP(f32, fn->getArg(exportArg0 + k), f));
        Value* next = b.CreateAdd(f, b.getInt64(1), "f.next", true, true);
        f->addIncoming(next, b.GetInsertBlock());
        b.CreateCondBr(b.CreateICmpULT(next, frames64), loop, exit);
    };
    sampleBody(settledLoop, settledPre, true);
    sampleBody(slowLoop, run, false);

    // Smoothers back to instance memory.
    b.SetInsertPoint(exit);
    for (uint32_t i = 0; i < nodeCount; ++i) {
        Value* mem = fn->getArg(2 * i + 1);
        for (uint32_t p = 0; p < nv[i].smoothers.size(); ++p)
            b.CreateAlignedStore(b.CreateLoad(f32, nv[i].smoothers[p]),
                                 b.CreateConstInBoundsGEP1_64(f32, mem, p), llvm::Align(4));
    }
    b.CreateRetVoid();
    return fn;
}

Function* Lowering::entryFunction(uint32_t shapeIndex, Function* group, const std::string& symbol) {
    const FusionGroup& g = plan.groups[plan.shapes[shapeIndex].exemplar];
    auto* fty = FunctionType::get(Type::getVoidTy(ctx), {ptr, ptr, ptr, ptr, i32}, false);
    auto* fn = Function::Create(fty, llvm::GlobalValue::ExternalLinkage, symbol, module);
    setHostAttributes(*fn, opts.targetCpu, opts.targetFeatures);
    const char* names[] = {"params", "state", "scratch", "row", "frames"};
    for (unsigned a = 0; a < 5; ++a) fn->getArg(a)->setName(names[a]);
    fn->addParamAttr(1, llvm::Attribute::getWithAlignment(ctx, llvm::Align(64)));
    fn->addParamAttr(2, llvm::Attribute::getWithAlignment(ctx, llvm::Align(64)));
    fn->addParamAttr(3, llvm::Attribute::ReadOnly);
    IRBuilder<> b(BasicBlock::Create(ctx, "entry", fn));
    Value* row = fn->getArg(3);
    auto at = [&](uint32_t k) -> Value* {
        return b.CreateZExt(
            b.CreateAlignedLoad(i32, b.CreateConstInBoundsGEP1_64(i32, row, k), llvm::Align(4)),
            i64);
    };
    std::vector<Value*> args;
    const auto nodeCount = static_cast<uint32_t>(g.nodes.size());
    for (uint32_t k = 0; k < nodeCount; ++k) {
        args.push_back(b.CreateInBoundsGEP(f32, fn->getArg(0), at(2 * k)));
        args.push_back(b.CreateInBoundsGEP(b.getInt8Ty(), fn->getArg(1), at(2 * k + 1)));
    }
    const auto buffers = static_cast<uint32_t>(g.inputs.size() + g.exports.size());
    for (uint32_t k = 2 * nodeCount; k < 2 * nodeCount + buffers; ++k)
        args.push_back(b.CreateInBoundsGEP(f32, fn->getArg(2), at(k)));
    args.push_back(fn->getArg(4));
    b.CreateCall(group, args);
    b.CreateRetVoid();
    return fn;
}

/// Builds `symbols.wide`: `lanes` instances per call, side by side in vector registers.
class WideLowering {
public:
    WideLowering(llvm::Module& m, const Schedule& sched, const FusionPlan& plan, uint32_t shape,
                 const LowerOptions& opts, const ShapeSymbols& symbols)
        : m_(m), sched_(sched), g_(plan.groups[plan.shapes[shape].exemplar]), opts_(opts),
          symbols_(symbols), lanes_(symbols.lanes), ctx_(m.getContext()),
          f32_(Type::getFloatTy(ctx_)), i32_(Type::getInt32Ty(ctx_)), i64_(Type::getInt64Ty(ctx_)),
          ptr_(llvm::PointerType::get(ctx_, 0)), fv_(llvm::FixedVectorType::get(f32_, lanes_)),
          iv_(llvm::FixedVectorType::get(i32_, lanes_)) {}

    /// False (and the module as it was) when some kernel does not widen: `whyNot` says why.
    Expected<bool> run(std::string& whyNot) {
        if (Status s = widenKernels(whyNot); !s) return s.error();
        if (!whyNot.empty()) {
            for (Function* f : made_) f->eraseFromParent();
            return false;
        }
        build();
        return true;
    }

private:
    struct NodeKernels {
        Function* kernel = nullptr;  ///< wide tick, or wide process where the node can prepare
        Function* emit = nullptr;    ///< wide emit, for delayed outputs
        Function* prepare = nullptr; ///< scalar prepare, run per lane before the block
        uint32_t kernelOffset = 0;   ///< kernel state within instance memory, bytes
        uint32_t words = 0;          ///< kernel state, 4-byte words
    };

    Status widenKernels(std::string& whyNot) {
        static const bool kTick[] = {false, false, false, true};
        static const bool kEmit[] = {false, false, true};
        std::map<std::string, Function*> done;
        auto wide = [&](const ModuleDescriptor& d, KernelEntry e) -> Function* {
            std::string name = kernelSymbol(d, e);
            if (auto it = done.find(name); it != done.end()) return it->second;
            Function* scalar = m_.getFunction(name);
            if (scalar == nullptr) {
                whyNot = name + " is not linked";
                return nullptr;
            }
            auto w = widenKernel(*scalar, lanes_, fmt::format("{}.x{}", name, lanes_),
                                 e == KernelEntry::Emit ? std::span<const bool>(kEmit)
                                                        : std::span<const bool>(kTick));
            if (!w) {
                whyNot = w.error().message;
                return nullptr;
            }
            setHostAttributes(**w, opts_.targetCpu, opts_.targetFeatures);
            made_.push_back(*w);
            return done[name] = *w;
        };
        for (uint32_t v : g_.nodes) {
            const ScheduledNode& n = sched_.nodes[v];
            NodeKernels k;
            k.kernelOffset = n.kernelStateOffset - n.stateOffset;
            k.words = (n.stateBytes - k.kernelOffset) / 4;
            if (k.words > kMaxWideStateWords) {
                whyNot = fmt::format("{} has {} bytes of state (at most {} widen)", n.desc->type,
                                     4 * k.words, 4 * kMaxWideStateWords);
                return {};
            }
            k.kernel = wide(*n.desc, n.canPrepare() ? KernelEntry::Process : KernelEntry::Tick);
            if (k.kernel == nullptr) return {};
            if (n.hasDelayedOutput() && (k.emit = wide(*n.desc, KernelEntry::Emit)) == nullptr)
                return {};
            if (n.canPrepare()) {
                k.prepare = m_.getFunction(kernelSymbol(*n.desc, KernelEntry::Prepare));
                if (k.prepare == nullptr) {
                    whyNot = kernelSymbol(*n.desc, KernelEntry::Prepare) + " is not linked";
                    return {};
                }
            }
            nodes_.push_back(k);
        }
        return {};
    }

    Value* splat(IRBuilder<>& b, const std::vector<Value*>& lanes) {
        Value* v = llvm::PoisonValue::get(lanes[0]->getType() == f32_ ? fv_ : iv_);
        for (unsigned l = 0; l < lanes_; ++l) v = b.CreateInsertElement(v, lanes[l], l);
        return v;
    }
    Value* clampParam(IRBuilder<>& b, Value* x, const ParamDesc& d) {
        x = b.CreateBinaryIntrinsic(llvm::Intrinsic::maxnum, x, constSplat(x, d.minValue));
        return b.CreateBinaryIntrinsic(llvm::Intrinsic::minnum, x, constSplat(x, d.maxValue));
    }
    llvm::Constant* constSplat(Value* like, float v) {
        return llvm::ConstantFP::get(like->getType(), static_cast<double>(v));
    }
    /// Byte `offset` of a structure-of-arrays block whose scalar word k is at k * 4 * lanes.
    Value* lanesAt(IRBuilder<>& b, Value* base, uint64_t scalarOffset) {
        return b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), base, scalarOffset * lanes_);
    }

    /// `for (l = 0; l < lanes; ++l) body(l)` at the builder, kept rolled (one copy of the body,
    /// not `lanes`: block-rate code, where size costs compile time and saves nothing).
    template <class Body>
    void laneLoop(IRBuilder<>& b, const char* name, Body body) {
        Function* fn = b.GetInsertBlock()->getParent();
        BasicBlock* before = b.GetInsertBlock();
        auto* loop = BasicBlock::Create(ctx_, name, fn);
        auto* after = BasicBlock::Create(ctx_, std::string(name) + ".done", fn);
        b.CreateBr(loop);
        b.SetInsertPoint(loop);
        auto* l = b.CreatePHI(i64_, 2, std::string(name) + ".lane");
        l->addIncoming(b.getInt64(0), before);
        body(static_cast<Value*>(l));
        Value* next = b.CreateAdd(l, b.getInt64(1), "", true, true);
        l->addIncoming(next, b.GetInsertBlock());
        auto* latch = b.CreateCondBr(b.CreateICmpULT(next, b.getInt64(lanes_)), loop, after);
        llvm::Metadata* ops[] = {
            nullptr,
            llvm::MDNode::get(ctx_, llvm::MDString::get(ctx_, "llvm.loop.unroll.disable"))};
        auto* id = llvm::MDNode::getDistinct(ctx_, ops);
        id->replaceOperandWith(0, id);
        latch->setMetadata(llvm::LLVMContext::MD_loop, id);
        b.SetInsertPoint(after);
    }

    void build() {
        const auto nodeCount = static_cast<uint32_t>(g_.nodes.size());
        const auto inputs = static_cast<uint32_t>(g_.inputs.size());
        const auto exports = static_cast<uint32_t>(g_.exports.size());
        const uint32_t stride = 2 * nodeCount + inputs + exports;
        Function* group = m_.getFunction("chronus_group");
        llvm::GlobalVariable* kctx = m_.getNamedGlobal("chronus.context");
        std::map<uint32_t, uint32_t> local;
        for (uint32_t i = 0; i < nodeCount; ++i) local[g_.nodes[i]] = i;
        uint32_t paramTotal = 0;
        std::vector<uint32_t> paramBase; // first staging slot of each node's parameters
        for (uint32_t v : g_.nodes) {
            paramBase.push_back(paramTotal);
            paramTotal += sched_.nodes[v].paramCount();
        }

        auto* fty = FunctionType::get(Type::getVoidTy(ctx_), {ptr_, ptr_, ptr_, ptr_, i32_}, false);
        auto* fn = Function::Create(fty, llvm::GlobalValue::ExternalLinkage, symbols_.wide, &m_);
        setHostAttributes(*fn, opts_.targetCpu, opts_.targetFeatures);
        const char* names[] = {"params", "state", "scratch", "rows", "frames"};
        for (unsigned a = 0; a < 5; ++a) fn->getArg(a)->setName(names[a]);
        fn->addParamAttr(3, llvm::Attribute::ReadOnly);
        Value* frames = fn->getArg(4);

        auto* entry = BasicBlock::Create(ctx_, "entry", fn);
        auto* done = BasicBlock::Create(ctx_, "done", fn);
        IRBuilder<> b(entry);

        // Allocas first (entry block, fixed size). Per node: its lanes' kernel state, `in` and
        // `out`, structure of arrays and only ever addressed by constants (so they become
        // vector registers), and a scalar `in` for prepare. Staging for what the lane loops
        // move: kernel state and parameter values, [word][lane].
        auto makeArray = [&](uint64_t floats, const std::string& what) {
            auto* a =
                b.CreateAlloca(ArrayType::get(f32_, std::max<uint64_t>(floats, 1)), nullptr, what);
            a->setAlignment(llvm::Align(64));
            return a;
        };
        std::vector<Value*> soa(nodeCount), inA(nodeCount), outA(nodeCount), inS(nodeCount),
            stage(nodeCount);
        for (uint32_t i = 0; i < nodeCount; ++i) {
            const ScheduledNode& n = sched_.nodes[g_.nodes[i]];
            const std::string name = valueName(n, i);
            soa[i] = makeArray(uint64_t{nodes_[i].words} * lanes_, name + ".lanes.state");
            stage[i] = makeArray(uint64_t{nodes_[i].words} * lanes_, name + ".staging");
            inA[i] = makeArray(n.layout->slotCount() * lanes_, name + ".lanes.in");
            outA[i] = makeArray(uint64_t{n.outputCount()} * lanes_, name + ".lanes.out");
            inS[i] = makeArray(n.layout->slotCount(), name + ".in");
        }
        Value* paramStage = makeArray(uint64_t{paramTotal} * lanes_, "params.staging");
        Value* settledFlag = b.CreateAlloca(b.getInt1Ty(), nullptr, "settled");
        b.CreateStore(b.getTrue(), settledFlag);

        Value* rows = fn->getArg(3);
        auto rowAt = [&](Value* l, uint32_t k) {
            Value* at = b.CreateAdd(b.CreateMul(l, b.getInt64(stride)), b.getInt64(k));
            return b.CreateZExt(
                b.CreateAlignedLoad(i32_, b.CreateInBoundsGEP(i32_, rows, at), llvm::Align(4)),
                i64_);
        };
        auto paramsOf = [&](Value* l, uint32_t i) {
            return b.CreateInBoundsGEP(f32_, fn->getArg(0), rowAt(l, 2 * i));
        };
        auto memOf = [&](Value* l, uint32_t i) {
            return b.CreateInBoundsGEP(b.getInt8Ty(), fn->getArg(1), rowAt(l, 2 * i + 1));
        };
        auto bufferOf = [&](Value* l, uint32_t k) {
            return b.CreateInBoundsGEP(f32_, fn->getArg(2), rowAt(l, 2 * nodeCount + k));
        };
        auto target = [&](Value* params, uint32_t p) {
            auto* t = b.CreateAlignedLoad(f32_, b.CreateConstInBoundsGEP1_64(f32_, params, p),
                                          llvm::Align(4));
            t->setAtomic(llvm::AtomicOrdering::Monotonic);
            return t;
        };
        auto smoother = [&](Value* mem, uint32_t p) {
            return b.CreateConstInBoundsGEP1_64(f32_, mem, p);
        };
        auto staged = [&](Value* base, uint64_t word, Value* l) { // base[word * lanes + l]
            return b.CreateInBoundsGEP(f32_, base, b.CreateAdd(b.getInt64(word * lanes_), l));
        };

        // Settled only if every lane is (schedule.h).
        auto* check = BasicBlock::Create(ctx_, "check", fn);
        b.CreateCondBr(b.CreateICmpEQ(frames, b.getInt32(0)), done, check);
        b.SetInsertPoint(check);
        laneLoop(b, "settled", [&](Value* l) {
            Value* ok = b.CreateLoad(b.getInt1Ty(), settledFlag);
            for (uint32_t i = 0; i < nodeCount; ++i) {
                const ScheduledNode& n = sched_.nodes[g_.nodes[i]];
                Value* params = paramsOf(l, i);
                Value* mem = memOf(l, i);
                for (uint32_t p = 0; p < n.paramCount(); ++p) {
                    if (!n.layout->params[p].desc.smoothed) continue;
                    Value* t = target(params, p);
                    Value* s = b.CreateAlignedLoad(f32_, smoother(mem, p), llvm::Align(4));
                    Value* next = b.CreateFAdd(
                        s, b.CreateFMul(constF(f32_, sched_.smoothingCoef), b.CreateFSub(t, s)));
                    ok = b.CreateAnd(ok, b.CreateFCmpOEQ(next, s));
                }
            }
            b.CreateStore(ok, settledFlag);
        });
        auto* fallback = BasicBlock::Create(ctx_, "one.at.a.time", fn);
        auto* pre = BasicBlock::Create(ctx_, "lanes", fn);
        b.CreateCondBr(b.CreateLoad(b.getInt1Ty(), settledFlag), pre, fallback);

        // Some lane is not settled: every lane through the one-instance function.
        b.SetInsertPoint(fallback);
        laneLoop(b, "one", [&](Value* l) {
            std::vector<Value*> args;
            for (uint32_t i = 0; i < nodeCount; ++i) {
                args.push_back(paramsOf(l, i));
                args.push_back(memOf(l, i));
            }
            for (uint32_t k = 0; k < inputs + exports; ++k) args.push_back(bufferOf(l, k));
            args.push_back(frames);
            b.CreateCall(group, args);
        });
        b.CreateBr(done);

        // Settled: per lane, parameters as block constants (clamped, or the base that modulation
        // adds to), prepare, and the kernel state into staging.
        b.SetInsertPoint(pre);
        laneLoop(b, "gather", [&](Value* l) {
            for (uint32_t i = 0; i < nodeCount; ++i) {
                const ScheduledNode& n = sched_.nodes[g_.nodes[i]];
                Value* params = paramsOf(l, i);
                Value* mem = memOf(l, i);
                for (uint32_t p = 0; p < n.paramCount(); ++p) {
                    const ParamDesc& d = n.layout->params[p].desc;
                    Value* v = d.smoothed ? static_cast<Value*>(b.CreateAlignedLoad(
                                                f32_, smoother(mem, p), llvm::Align(4)))
                                          : target(params, p);
                    if (!d.smoothed) // as the one-instance function leaves it
                        b.CreateAlignedStore(v, smoother(mem, p), llvm::Align(4));
                    const bool modulated = !n.sources[n.inputCount() + p].empty();
                    if (!modulated) v = clampParam(b, v, d);
                    b.CreateStore(v, staged(paramStage, paramBase[i] + p, l));
                    if (nodes_[i].prepare != nullptr && !modulated)
                        b.CreateStore(
                            v, b.CreateConstInBoundsGEP1_64(f32_, inS[i], n.inputCount() + p));
                }
                Value* kernelState =
                    b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), mem, nodes_[i].kernelOffset);
                if (nodes_[i].prepare != nullptr) {
                    for (uint32_t s = 0; s < n.inputCount(); ++s)
                        b.CreateStore(constF(f32_, n.layout->inputs[s].unconnectedValue),
                                      b.CreateConstInBoundsGEP1_64(f32_, inS[i], s));
                    b.CreateCall(nodes_[i].prepare, {kernelState, inS[i], kctx});
                }
                for (uint32_t k = 0; k < nodes_[i].words; ++k)
                    b.CreateStore(
                        b.CreateAlignedLoad(
                            i32_, b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), kernelState, 4 * k),
                            llvm::Align(4)),
                        staged(stage[i], k, l));
            }
        });
        // Staging to vectors: the lanes' state and parameters, side by side.
        std::vector<std::vector<Value*>> paramVec(nodeCount);
        for (uint32_t i = 0; i < nodeCount; ++i) {
            for (uint32_t k = 0; k < nodes_[i].words; ++k)
                b.CreateAlignedStore(
                    b.CreateAlignedLoad(iv_, lanesAt(b, stage[i], 4 * k), llvm::Align(64)),
                    lanesAt(b, soa[i], 4 * k), llvm::Align(4));
            for (uint32_t p = 0; p < sched_.nodes[g_.nodes[i]].paramCount(); ++p)
                paramVec[i].push_back(b.CreateAlignedLoad(
                    fv_, lanesAt(b, paramStage, 4 * (paramBase[i] + p)), llvm::Align(4)));
        }
        // Each lane's block buffers, for the sample loop.
        std::vector<std::vector<Value*>> IN(lanes_), EX(lanes_);
        for (unsigned l = 0; l < lanes_; ++l) {
            for (uint32_t k = 0; k < inputs; ++k) IN[l].push_back(bufferOf(b.getInt64(l), k));
            for (uint32_t k = 0; k < exports; ++k)
                EX[l].push_back(bufferOf(b.getInt64(l), inputs + k));
        }
        Value* frames64 = b.CreateZExt(frames, i64_);
        BasicBlock* preEnd = b.GetInsertBlock();
        auto* loop = BasicBlock::Create(ctx_, "lanes.sample", fn);
        auto* post = BasicBlock::Create(ctx_, "lanes.done", fn);
        b.CreateBr(loop);

        // One sample for every lane: as the one-instance settled loop, on vectors.
        b.SetInsertPoint(loop);
        auto* f = b.CreatePHI(i64_, 2, "f");
        f->addIncoming(b.getInt64(0), preEnd);
        for (uint32_t i = 0; i < nodeCount; ++i)
            if (nodes_[i].emit != nullptr) b.CreateCall(nodes_[i].emit, {soa[i], outA[i], kctx});
        auto signal = [&](const SignalRef& s) -> Value* {
            if (auto it = local.find(s.node); it != local.end())
                return b.CreateAlignedLoad(fv_, lanesAt(b, outA[it->second], 4 * s.output),
                                           llvm::Align(4));
            auto k = static_cast<uint32_t>(std::find(g_.inputs.begin(), g_.inputs.end(), s) -
                                           g_.inputs.begin());
            std::vector<Value*> lanes;
            for (unsigned l = 0; l < lanes_; ++l)
                lanes.push_back(b.CreateLoad(f32_, b.CreateInBoundsGEP(f32_, IN[l][k], f)));
            return splat(b, lanes);
        };
        auto sum = [&](const std::vector<SignalRef>& sources) {
            Value* v = signal(sources[0]);
            for (size_t k = 1; k < sources.size(); ++k) v = b.CreateFAdd(v, signal(sources[k]));
            return v;
        };
        for (uint32_t i = 0; i < nodeCount; ++i) {
            const ScheduledNode& n = sched_.nodes[g_.nodes[i]];
            for (uint32_t s = 0; s < n.inputCount(); ++s) {
                const auto& src = n.sources[s];
                Value* x = src.empty()
                               ? llvm::ConstantFP::get(
                                     fv_, static_cast<double>(n.layout->inputs[s].unconnectedValue))
                               : sum(src);
                b.CreateAlignedStore(x, lanesAt(b, inA[i], 4 * s), llvm::Align(4));
            }
            for (uint32_t p = 0; p < n.paramCount(); ++p) {
                const auto& src = n.sources[n.inputCount() + p];
                Value* x = src.empty() ? paramVec[i][p]
                                       : clampParam(b, b.CreateFAdd(paramVec[i][p], sum(src)),
                                                    n.layout->params[p].desc);
                b.CreateAlignedStore(x, lanesAt(b, inA[i], 4 * (n.inputCount() + p)),
                                     llvm::Align(4));
            }
            b.CreateCall(nodes_[i].kernel, {soa[i], inA[i], outA[i], kctx});
        }
        for (uint32_t k = 0; k < exports; ++k) {
            Value* v = signal(g_.exports[k]);
            for (unsigned l = 0; l < lanes_; ++l)
                b.CreateStore(b.CreateExtractElement(v, l), b.CreateInBoundsGEP(f32_, EX[l][k], f));
        }
        Value* next = b.CreateAdd(f, b.getInt64(1), "f.next", true, true);
        f->addIncoming(next, b.GetInsertBlock());
        b.CreateCondBr(b.CreateICmpULT(next, frames64), loop, post);

        // The lanes' state back to each instance's memory, through staging.
        b.SetInsertPoint(post);
        for (uint32_t i = 0; i < nodeCount; ++i)
            for (uint32_t k = 0; k < nodes_[i].words; ++k)
                b.CreateAlignedStore(
                    b.CreateAlignedLoad(iv_, lanesAt(b, soa[i], 4 * k), llvm::Align(4)),
                    lanesAt(b, stage[i], 4 * k), llvm::Align(64));
        laneLoop(b, "scatter", [&](Value* l) {
            for (uint32_t i = 0; i < nodeCount; ++i) {
                Value* kernelState = b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), memOf(l, i),
                                                                  nodes_[i].kernelOffset);
                for (uint32_t k = 0; k < nodes_[i].words; ++k)
                    b.CreateAlignedStore(
                        b.CreateLoad(i32_, staged(stage[i], k, l)),
                        b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), kernelState, 4 * k),
                        llvm::Align(4));
            }
        });
        b.CreateBr(done);
        b.SetInsertPoint(done);
        b.CreateRetVoid();
    }

    static constexpr uint32_t kMaxWideStateWords = 64;

    llvm::Module& m_;
    const Schedule& sched_;
    const FusionGroup& g_;
    const LowerOptions& opts_;
    const ShapeSymbols& symbols_;
    const unsigned lanes_;
    llvm::LLVMContext& ctx_;
    Type* f32_;
    Type* i32_;
    Type* i64_;
    Type* ptr_;
    llvm::FixedVectorType* fv_;
    llvm::FixedVectorType* iv_;
    std::vector<NodeKernels> nodes_;
    std::vector<Function*> made_;
};

} // namespace

/// Offsets of one group instance, in the order of the group function's pointer arguments: per
/// node its first parameter (floats from params) and its instance memory (bytes from state), then
/// its input and export buffers (floats from scratch).
std::vector<uint32_t> instanceRow(const Schedule& sched, const FusionPlan& plan,
                                  const FusionGroup& g, uint32_t maxBlock) {
    std::vector<uint32_t> o;
    for (uint32_t v : g.nodes) {
        o.push_back(sched.nodes[v].paramIndex);
        o.push_back(sched.nodes[v].stateOffset);
    }
    for (const SignalRef& s : g.inputs)
        o.push_back(static_cast<uint32_t>(plan.bufferOf(s)) * maxBlock);
    for (const SignalRef& s : g.exports)
        o.push_back(static_cast<uint32_t>(plan.bufferOf(s)) * maxBlock);
    return o;
}

std::string kernelSymbol(const ModuleDescriptor& desc, KernelEntry entry) {
    static constexpr const char* kSuffix[] = {"tick", "emit", "prepare", "process"};
    return fmt::format("chronus_{}_{}", desc.kernel, kSuffix[static_cast<int>(entry)]);
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

void dropSettledPath(llvm::Module& module) {
    Function* group = module.getFunction("chronus_group");
    if (group == nullptr || group->isDeclaration()) return;
    for (BasicBlock& block : *group) {
        auto* branch = llvm::dyn_cast<llvm::BranchInst>(block.getTerminator());
        // The block `run` ends in `br settled, %settled, %sample` (groupFunction).
        if (block.getName() != "run" || branch == nullptr || !branch->isConditional()) continue;
        BasicBlock* general = branch->getSuccessor(1);
        llvm::BranchInst::Create(general, branch);
        branch->eraseFromParent();
        llvm::removeUnreachableBlocks(*group);
        return;
    }
}

std::unique_ptr<llvm::Module> lowerShape(const Schedule& schedule, const FusionPlan& plan,
                                         uint32_t shape, llvm::LLVMContext& context,
                                         const llvm::DataLayout& dataLayout,
                                         const std::string& triple, const LowerOptions& options,
                                         const ShapeSymbols& symbols) {
    auto module = std::make_unique<llvm::Module>("chronus_shape", context);
    module->setDataLayout(dataLayout);
    module->setTargetTriple(triple);
    Lowering l(schedule, plan, options, *module);
    l.makeKernelContext();
    Function* group = l.groupFunction(shape, "chronus_group");
    l.entryFunction(shape, group, symbols.scalar);
    return module;
}

Expected<bool> addWideEntry(llvm::Module& module, const Schedule& schedule, const FusionPlan& plan,
                            uint32_t shape, const LowerOptions& options,
                            const ShapeSymbols& symbols, std::string& whyNot) {
    whyNot.clear();
    if (symbols.lanes < 2 || symbols.wide.empty()) {
        whyNot = "one lane";
        return false;
    }
    WideLowering w(module, schedule, plan, shape, options, symbols);
    return w.run(whyNot);
}

} // namespace chronus::jit

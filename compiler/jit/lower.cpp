#include "jit/lower.h"

#include <algorithm>
#include <fmt/format.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
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

    Function* kernel(const ModuleDescriptor& desc, bool emit) {
        std::string name = kernelSymbol(desc, emit);
        if (auto it = kernels.find(name); it != kernels.end()) return it->second;
        auto* ty = emit ? FunctionType::get(Type::getVoidTy(ctx), {ptr, ptr, ptr}, false)
                        : FunctionType::get(Type::getVoidTy(ctx), {ptr, ptr, ptr, ptr}, false);
        auto* f = Function::Create(ty, llvm::GlobalValue::ExternalLinkage, name, module);
        f->setDoesNotThrow();
        kernels[name] = f;
        return f;
    }

    Function* groupFunction(uint32_t shapeIndex);
    Function* renderFunction(const std::vector<Function*>& shapes);
};

llvm::Constant* constF(Type* t, float v) {
    return llvm::ConstantFP::get(t, static_cast<double>(v));
}

std::string valueName(const ScheduledNode& n, uint32_t local) {
    return fmt::format("{}{}", n.desc->kernel, local);
}

Function* Lowering::groupFunction(uint32_t shapeIndex) {
    const FusionShape& shape = plan.shapes[shapeIndex];
    const FusionGroup& g = plan.groups[shape.exemplar];
    const auto nodeCount = static_cast<uint32_t>(g.nodes.size());
    std::map<uint32_t, uint32_t> local;
    for (uint32_t i = 0; i < nodeCount; ++i) local[g.nodes[i]] = i;

    // Arguments: per node its parameter targets and instance memory, then the block buffers it
    // reads and writes, then the frame count. Each pointer is noalias: instances never overlap.
    std::vector<Type*> argTypes(2 * nodeCount + g.inputs.size() + g.exports.size(), ptr);
    argTypes.push_back(i32);
    auto* fty = FunctionType::get(Type::getVoidTy(ctx), argTypes, false);
    auto* fn = Function::Create(fty, llvm::GlobalValue::InternalLinkage,
                                fmt::format("chronus_group_{}", shapeIndex), module);
    setHostAttributes(*fn, opts.targetCpu, opts.targetFeatures);
    fn->addFnAttr(llvm::Attribute::NoInline);
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
    auto* loop = BasicBlock::Create(ctx, "sample", fn);
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
    };
    std::vector<NodeValues> nv(nodeCount);
    for (uint32_t i = 0; i < nodeCount; ++i) {
        const ScheduledNode& n = sched.nodes[g.nodes[i]];
        const std::string name = valueName(n, i);
        Value* params = fn->getArg(2 * i);
        Value* mem = fn->getArg(2 * i + 1);
        NodeValues& v = nv[i];
        v.kernelState = b.CreateConstInBoundsGEP1_64(
            b.getInt8Ty(), mem, n.kernelStateOffset - n.stateOffset, name + ".state");
        v.inTy = ArrayType::get(f32, std::max<size_t>(n.layout.slotCount(), 1));
        v.outTy = ArrayType::get(f32, std::max<uint32_t>(n.outputCount(), 1));
        v.in = b.CreateAlloca(v.inTy, nullptr, name + ".in");
        v.out = b.CreateAlloca(v.outTy, nullptr, name + ".out");
        for (uint32_t p = 0; p < n.paramCount(); ++p) {
            const std::string pname = name + "." + n.layout.params[p].name;
            // Targets: once per block, monotonic (relaxed) atomic loads of std::atomic<float>.
            auto* load = b.CreateAlignedLoad(f32, b.CreateConstInBoundsGEP1_64(f32, params, p),
                                             llvm::Align(4), pname + ".target");
            load->setAtomic(llvm::AtomicOrdering::Monotonic);
            v.targets.push_back(load);
            auto* slot = b.CreateAlloca(f32, nullptr, pname + ".smoother");
            b.CreateStore(
                b.CreateAlignedLoad(f32, b.CreateConstInBoundsGEP1_64(f32, mem, p), llvm::Align(4)),
                slot);
            v.smoothers.push_back(slot);
        }
    }
    Value* frames64 = b.CreateZExt(frames, i64, "frames64");
    b.CreateCondBr(b.CreateICmpEQ(frames, b.getInt32(0)), exit, loop);

    // One sample: delayed outputs first, then every node in order, then the exports.
    b.SetInsertPoint(loop);
    auto* f = b.CreatePHI(i64, 2, "f");
    f->addIncoming(b.getInt64(0), entry);
    for (uint32_t i = 0; i < nodeCount; ++i) {
        const ScheduledNode& n = sched.nodes[g.nodes[i]];
        if (n.hasDelayedOutput())
            b.CreateCall(kernel(*n.desc, true), {nv[i].kernelState, nv[i].out, kernelContext});
    }
    auto signal = [&](const SignalRef& s) -> Value* {
        if (auto it = local.find(s.node); it != local.end())
            return b.CreateLoad(f32, b.CreateConstInBoundsGEP2_32(nv[it->second].outTy,
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
    auto maxnum = llvm::Intrinsic::maxnum;
    auto minnum = llvm::Intrinsic::minnum;
    for (uint32_t i = 0; i < nodeCount; ++i) {
        const ScheduledNode& n = sched.nodes[g.nodes[i]];
        NodeValues& v = nv[i];
        Type* inTy = v.inTy;
        for (uint32_t s = 0; s < n.inputCount(); ++s) {
            const auto& src = n.sources[s];
            Value* x = src.empty() ? constF(f32, n.layout.inputs[s].unconnectedValue) : sum(src);
            b.CreateStore(x, b.CreateConstInBoundsGEP2_32(inTy, v.in, 0, s));
        }
        for (uint32_t p = 0; p < n.paramCount(); ++p) {
            const ParamDesc& d = n.layout.params[p].desc;
            Value* s = v.targets[p];
            if (d.smoothed) {
                // s + coef * (target - s), in that order (no contraction: matches the interpreter)
                Value* prev = b.CreateLoad(f32, v.smoothers[p]);
                s = b.CreateFAdd(prev, b.CreateFMul(constF(f32, sched.smoothingCoef),
                                                    b.CreateFSub(v.targets[p], prev)));
            }
            b.CreateStore(s, v.smoothers[p]);
            const auto& src = n.sources[n.inputCount() + p];
            Value* x = src.empty() ? s : b.CreateFAdd(s, sum(src));
            x = b.CreateBinaryIntrinsic(maxnum, x, constF(f32, d.minValue));
            x = b.CreateBinaryIntrinsic(minnum, x, constF(f32, d.maxValue));
            b.CreateStore(x, b.CreateConstInBoundsGEP2_32(inTy, v.in, 0, n.inputCount() + p));
        }
        b.CreateCall(kernel(*n.desc, false), {v.kernelState, v.in, v.out, kernelContext});
    }
    for (uint32_t k = 0; k < g.exports.size(); ++k)
        b.CreateStore(signal(g.exports[k]),
                      b.CreateInBoundsGEP(f32, fn->getArg(exportArg0 + k), f));
    Value* next = b.CreateAdd(f, b.getInt64(1), "f.next", true, true);
    f->addIncoming(next, loop);
    b.CreateCondBr(b.CreateICmpULT(next, frames64), loop, exit);

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

/// A counted loop `for (i = 0; i < count; ++i) body(i)` at the builder's insertion point; leaves
/// the builder after the loop. `count` must be non-zero.
/// With `keepRolled`, the loop carries llvm.loop.unroll.disable: a loop over group instances
/// stays one call site instead of a copy per instance (code size and compile time).
template <class Body>
void countedLoop(IRBuilder<>& b, Value* count, const char* name, Body body,
                 bool keepRolled = false) {
    Function* fn = b.GetInsertBlock()->getParent();
    llvm::LLVMContext& ctx = fn->getContext();
    BasicBlock* before = b.GetInsertBlock();
    auto* loop = BasicBlock::Create(ctx, name, fn);
    auto* after = BasicBlock::Create(ctx, std::string(name) + ".done", fn);
    b.CreateBr(loop);
    b.SetInsertPoint(loop);
    auto* i = b.CreatePHI(count->getType(), 2, std::string(name) + ".i");
    i->addIncoming(llvm::ConstantInt::get(count->getType(), 0), before);
    body(static_cast<Value*>(i));
    Value* next = b.CreateAdd(i, llvm::ConstantInt::get(count->getType(), 1), "", true, true);
    i->addIncoming(next, b.GetInsertBlock());
    auto* latch = b.CreateCondBr(b.CreateICmpULT(next, count), loop, after);
    if (keepRolled) {
        llvm::Metadata* ops[] = {
            nullptr, llvm::MDNode::get(ctx, llvm::MDString::get(ctx, "llvm.loop.unroll.disable"))};
        auto* id = llvm::MDNode::getDistinct(ctx, ops);
        id->replaceOperandWith(0, id);
        latch->setMetadata(llvm::LLVMContext::MD_loop, id);
    }
    b.SetInsertPoint(after);
}

Function* Lowering::renderFunction(const std::vector<Function*>& shapes) {
    auto* fty = FunctionType::get(Type::getVoidTy(ctx), {ptr, ptr, ptr, ptr, i32}, false);
    auto* fn = Function::Create(fty, llvm::GlobalValue::ExternalLinkage, opts.renderName, module);
    setHostAttributes(*fn, opts.targetCpu, opts.targetFeatures);
    const char* names[] = {"params", "state", "scratch", "out", "frames"};
    for (unsigned a = 0; a < 5; ++a) fn->getArg(a)->setName(names[a]);
    for (unsigned a = 0; a < 4; ++a) {
        fn->addParamAttr(a, llvm::Attribute::NoAlias);
        fn->addParamAttr(a, llvm::Attribute::NoCapture);
    }
    fn->addParamAttr(1, llvm::Attribute::getWithAlignment(ctx, llvm::Align(64)));
    fn->addParamAttr(2, llvm::Attribute::getWithAlignment(ctx, llvm::Align(64)));
    Value* params = fn->getArg(0);
    Value* state = fn->getArg(1);
    Value* scratch = fn->getArg(2);
    Value* out = fn->getArg(3);
    Value* frames = fn->getArg(4);

    auto* entry = BasicBlock::Create(ctx, "entry", fn);
    IRBuilder<> b(entry);
    auto* exit = BasicBlock::Create(ctx, "exit", fn);
    auto* body = BasicBlock::Create(ctx, "body", fn);
    b.CreateCondBr(b.CreateICmpEQ(frames, b.getInt32(0)), exit, body);
    b.SetInsertPoint(body);

    // Per-instance offsets of a group: per node its first parameter (floats) and its instance
    // memory (bytes), then its input and export buffers (floats from scratch).
    auto offsets = [&](const FusionGroup& g) {
        std::vector<uint32_t> o;
        for (uint32_t v : g.nodes) {
            o.push_back(sched.nodes[v].paramIndex);
            o.push_back(sched.nodes[v].stateOffset);
        }
        for (const SignalRef& s : g.inputs)
            o.push_back(static_cast<uint32_t>(plan.bufferOf(s)) * opts.maxBlock);
        for (const SignalRef& s : g.exports)
            o.push_back(static_cast<uint32_t>(plan.bufferOf(s)) * opts.maxBlock);
        return o;
    };
    auto pointers = [&](const FusionGroup& g, auto offsetAt) {
        std::vector<Value*> args;
        for (uint32_t k = 0; k < g.nodes.size(); ++k) {
            args.push_back(b.CreateInBoundsGEP(f32, params, offsetAt(2 * k)));
            args.push_back(b.CreateInBoundsGEP(b.getInt8Ty(), state, offsetAt(2 * k + 1)));
        }
        for (size_t k = 2 * g.nodes.size();
             k < 2 * g.nodes.size() + g.inputs.size() + g.exports.size(); ++k)
            args.push_back(b.CreateInBoundsGEP(f32, scratch, offsetAt(static_cast<uint32_t>(k))));
        args.push_back(frames);
        return args;
    };

    // Groups in order. A run of consecutive groups of one shape is a loop over a constant table
    // of their offsets, so the render function stays small however many voices there are.
    for (size_t first = 0; first < plan.groups.size();) {
        const uint32_t shape = plan.groups[first].shape;
        size_t end = first + 1;
        while (end < plan.groups.size() && plan.groups[end].shape == shape) ++end;
        if (end - first == 1) {
            auto o = offsets(plan.groups[first]);
            b.CreateCall(shapes[shape], pointers(plan.groups[first], [&](uint32_t k) -> Value* {
                             return b.getInt64(o[k]);
                         }));
        } else {
            std::vector<llvm::Constant*> table;
            size_t stride = 0;
            for (size_t g = first; g < end; ++g) {
                auto o = offsets(plan.groups[g]);
                stride = o.size();
                for (uint32_t x : o) table.push_back(b.getInt32(x));
            }
            auto* tableTy = ArrayType::get(i32, table.size());
            auto* gv =
                new llvm::GlobalVariable(module, tableTy, true, llvm::GlobalValue::InternalLinkage,
                                         llvm::ConstantArray::get(tableTy, table),
                                         fmt::format("chronus.instances.{}", first));
            Value* count = b.getInt64(end - first);
            countedLoop(
                b, count, "instances",
                [&](Value* i) {
                    Value* row = b.CreateMul(i, b.getInt64(stride));
                    auto at = [&](uint32_t k) -> Value* {
                        Value* idx = b.CreateAdd(row, b.getInt64(k));
                        return b.CreateZExt(b.CreateLoad(i32, b.CreateInBoundsGEP(i32, gv, idx)),
                                            i64);
                    };
                    b.CreateCall(shapes[shape], pointers(plan.groups[first], at));
                },
                true);
        }
        first = end;
    }

    // The output: the taps summed in order ((t0 + t1) + t2 ..., as the interpreter does), one tap
    // at a time over the block.
    Value* frames64 = b.CreateZExt(frames, i64, "frames64");
    if (sched.outputTaps.empty()) {
        b.CreateMemSet(out, b.getInt8(0), b.CreateMul(frames64, b.getInt64(4)),
                       llvm::MaybeAlign(4));
    } else {
        auto tapAt = [&](Value* index) {
            return b.CreateInBoundsGEP(f32, scratch, b.CreateMul(index, b.getInt64(opts.maxBlock)));
        };
        Value* tap0 = tapAt(b.getInt64(plan.tapBuffers[0]));
        countedLoop(b, frames64, "copy", [&](Value* f) {
            b.CreateStore(b.CreateLoad(f32, b.CreateInBoundsGEP(f32, tap0, f)),
                          b.CreateInBoundsGEP(f32, out, f));
        });
        if (plan.tapBuffers.size() > 1) {
            std::vector<llvm::Constant*> rest;
            for (size_t t = 1; t < plan.tapBuffers.size(); ++t)
                rest.push_back(b.getInt32(plan.tapBuffers[t]));
            auto* tableTy = ArrayType::get(i32, rest.size());
            auto* gv =
                new llvm::GlobalVariable(module, tableTy, true, llvm::GlobalValue::InternalLinkage,
                                         llvm::ConstantArray::get(tableTy, rest), "chronus.taps");
            countedLoop(
                b, b.getInt64(rest.size()), "taps",
                [&](Value* t) {
                    Value* tap = tapAt(
                        b.CreateZExt(b.CreateLoad(i32, b.CreateInBoundsGEP(i32, gv, t)), i64));
                    countedLoop(b, frames64, "add", [&](Value* f) {
                        Value* dst = b.CreateInBoundsGEP(f32, out, f);
                        b.CreateStore(
                            b.CreateFAdd(b.CreateLoad(f32, dst),
                                         b.CreateLoad(f32, b.CreateInBoundsGEP(f32, tap, f))),
                            dst);
                    });
                },
                true);
        }
    }
    b.CreateBr(exit);
    b.SetInsertPoint(exit);
    b.CreateRetVoid();
    return fn;
}

} // namespace

std::string kernelSymbol(const ModuleDescriptor& desc, bool emit) {
    return fmt::format("chronus_{}_{}", desc.kernel, emit ? "emit" : "tick");
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

std::unique_ptr<llvm::Module> lowerSchedule(const Schedule& schedule, const FusionPlan& plan,
                                            llvm::LLVMContext& context,
                                            const llvm::DataLayout& dataLayout,
                                            const std::string& triple,
                                            const LowerOptions& options) {
    auto module = std::make_unique<llvm::Module>("chronus_patch", context);
    module->setDataLayout(dataLayout);
    module->setTargetTriple(triple);
    Lowering l(schedule, plan, options, *module);
    l.makeKernelContext();
    std::vector<Function*> shapes;
    for (uint32_t s = 0; s < plan.shapes.size(); ++s) shapes.push_back(l.groupFunction(s));
    l.renderFunction(shapes);
    return module;
}

} // namespace chronus::jit

// wide_entry.cpp: the entry point that runs `lanes` instances of a shape side by side.
#include "compiler/jit/wide_entry.h"

#include "compiler/jit/sample_lowering.h"
#include "compiler/jit/widen.h"

#include <algorithm>
#include <fmt/format.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/IRBuilder.h>
#include <map>

namespace chronus::jit {

namespace {

using llvm::ArrayType;
using llvm::BasicBlock;
using llvm::Function;
using llvm::IRBuilder;
using llvm::Type;
using llvm::Value;

/// Builds the wide entry of one shape into its module.
class WideLowering {
public:
    WideLowering(ShapeModule& shape, const Schedule& sched, const FusionPlan& plan,
                 uint32_t shapeIndex, const LowerOptions& opts, uint32_t lanes)
        : shape_(shape), m_(*shape.module), sched_(sched),
          g_(plan.groups[plan.shapes[shapeIndex].exemplar]), opts_(opts), lanes_(lanes),
          ctx_(m_.getContext()), f32_(Type::getFloatTy(ctx_)), i32_(Type::getInt32Ty(ctx_)),
          i64_(Type::getInt64Ty(ctx_)), fv_(llvm::FixedVectorType::get(f32_, lanes_)),
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

    /// Per lane, what the sample loop reads and writes (allocas and block buffers).
    struct Lanes {
        std::vector<Value*> soa, in, out;     ///< per node: state, `in`, `out`, [word][lane]
        std::vector<std::vector<Value*>> par; ///< per node: each parameter's block values
        std::vector<std::vector<Value*>> inputs, exports; ///< per lane: its block buffers
    };

    class WidePath;

    Status widenKernels(std::string& whyNot) {
        static const bool kTick[] = {false, false, false, true};
        static const bool kEmit[] = {false, false, true};
        std::map<Function*, Function*> done;
        auto wide = [&](const ModuleDescriptor& d, KernelEntry e) -> Function* {
            Function* scalar = shape_.kernels.linked(d, e);
            if (scalar == nullptr) {
                whyNot = kernelSymbol(d, e) + " is not linked";
                return nullptr;
            }
            if (auto it = done.find(scalar); it != done.end()) return it->second;
            auto w = widenKernel(*scalar, lanes_, fmt::format("{}.x{}", kernelSymbol(d, e), lanes_),
                                 e == KernelEntry::Emit ? std::span<const bool>(kEmit)
                                                        : std::span<const bool>(kTick));
            if (!w) {
                whyNot = w.error().message;
                return nullptr;
            }
            setHostAttributes(**w, opts_.targetCpu, opts_.targetFeatures);
            made_.push_back(*w);
            return done[scalar] = *w;
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
                k.prepare = shape_.kernels.linked(*n.desc, KernelEntry::Prepare);
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

    void build();

    static constexpr uint32_t kMaxWideStateWords = 64;

    ShapeModule& shape_;
    llvm::Module& m_;
    const Schedule& sched_;
    const FusionGroup& g_;
    const LowerOptions& opts_;
    const unsigned lanes_;
    llvm::LLVMContext& ctx_;
    Type* f32_;
    Type* i32_;
    Type* i64_;
    llvm::FixedVectorType* fv_;
    llvm::FixedVectorType* iv_;
    std::vector<NodeKernels> nodes_;
    std::vector<Function*> made_;
};

/// Every lane's sample at once (sample_lowering.h): `in`, `out` and state structure-of-arrays,
/// parameters the lanes' block values, signals of other groups gathered lane by lane.
class WideLowering::WidePath final : public SamplePath {
public:
    WidePath(WideLowering& w, IRBuilder<>& b, SlotLowering& slots, const Lanes& lanes)
        : w_(w), b_(b), slots_(slots), lanes_(lanes) {
        for (uint32_t i = 0; i < w.g_.nodes.size(); ++i) local_[w.g_.nodes[i]] = i;
    }

    Value* frame = nullptr;

    Value* signal(const SignalRef& s) override {
        if (auto it = local_.find(s.node); it != local_.end())
            return b_.CreateAlignedLoad(
                w_.fv_, w_.lanesAt(b_, lanes_.out[it->second], 4 * s.output), llvm::Align(4));
        const auto k =
            static_cast<uint32_t>(s.node == kGroupInputNode ? s.output : w_.g_.inputOf(s));
        std::vector<Value*> values;
        for (unsigned l = 0; l < w_.lanes_; ++l)
            values.push_back(
                b_.CreateLoad(w_.f32_, b_.CreateInBoundsGEP(w_.f32_, lanes_.inputs[l][k], frame)));
        return w_.splat(b_, values);
    }
    Value* param(uint32_t i, uint32_t p, SignalReader read) override {
        return slots_.settledParam(node(i), p, lanes_.par[i][p], read);
    }
    void setSlot(uint32_t i, uint32_t slot, Value* x) override {
        b_.CreateAlignedStore(x, w_.lanesAt(b_, lanes_.in[i], 4 * slot), llvm::Align(4));
    }
    void emit(uint32_t i) override {
        b_.CreateCall(w_.nodes_[i].emit, {lanes_.soa[i], lanes_.out[i], w_.shape_.kernelContext});
    }
    void tick(uint32_t i) override {
        b_.CreateCall(w_.nodes_[i].kernel,
                      {lanes_.soa[i], lanes_.in[i], lanes_.out[i], w_.shape_.kernelContext});
    }
    void setExport(uint32_t k, Value* v) override {
        for (unsigned l = 0; l < w_.lanes_; ++l)
            b_.CreateStore(b_.CreateExtractElement(v, l),
                           b_.CreateInBoundsGEP(w_.f32_, lanes_.exports[l][k], frame));
    }

private:
    const ScheduledNode& node(uint32_t i) const { return w_.sched_.nodes[w_.g_.nodes[i]]; }

    WideLowering& w_;
    IRBuilder<>& b_;
    SlotLowering& slots_;
    const Lanes& lanes_;
    std::map<uint32_t, uint32_t> local_;
};

void WideLowering::build() {
    const RowLayout row(g_);
    uint32_t paramTotal = 0;
    std::vector<uint32_t> paramBase; // first staging slot of each node's parameters
    for (uint32_t v : g_.nodes) {
        paramBase.push_back(paramTotal);
        paramTotal += sched_.nodes[v].paramCount();
    }

    auto* fn = Function::Create(shapeEntryType(ctx_), llvm::GlobalValue::ExternalLinkage,
                                fmt::format("{}_x{}", shape_.entry->getName().str(), lanes_), &m_);
    shape_.wideEntry = fn;
    shape_.lanes = lanes_;
    setHostAttributes(*fn, opts_.targetCpu, opts_.targetFeatures);
    const char* names[] = {"params", "state", "scratch", "rows", "frames"};
    for (unsigned a = 0; a < 5; ++a) fn->getArg(a)->setName(names[a]);
    fn->addParamAttr(3, llvm::Attribute::ReadOnly);
    Value* frames = fn->getArg(4);

    auto* entry = BasicBlock::Create(ctx_, "entry", fn);
    auto* done = BasicBlock::Create(ctx_, "done", fn);
    IRBuilder<> b(entry);
    SlotLowering lane(b, sched_, g_, f32_); // one lane at a time, block rate
    SlotLowering all(b, sched_, g_, fv_);   // every lane at once, per sample

    // Allocas first (entry block, fixed size). Per node: its lanes' kernel state, `in` and
    // `out`, structure of arrays and only ever addressed by constants (so they become vector
    // registers), and a scalar `in` for prepare. Staging for what the lane loops move: kernel
    // state and parameter values, [word][lane].
    auto makeArray = [&](uint64_t floats, const std::string& what) {
        auto* a =
            b.CreateAlloca(ArrayType::get(f32_, std::max<uint64_t>(floats, 1)), nullptr, what);
        a->setAlignment(llvm::Align(64));
        return a;
    };
    Lanes lanes;
    std::vector<Value*> inS(row.nodes), stage(row.nodes);
    for (uint32_t i = 0; i < row.nodes; ++i) {
        const ScheduledNode& n = sched_.nodes[g_.nodes[i]];
        const std::string name = irValueName(n, i);
        lanes.soa.push_back(makeArray(uint64_t{nodes_[i].words} * lanes_, name + ".lanes.state"));
        stage[i] = makeArray(uint64_t{nodes_[i].words} * lanes_, name + ".staging");
        lanes.in.push_back(makeArray(n.layout->kernelInCount() * lanes_, name + ".lanes.in"));
        lanes.out.push_back(makeArray(uint64_t{n.outputCount()} * lanes_, name + ".lanes.out"));
        inS[i] = makeArray(n.layout->kernelInCount(), name + ".in");
    }
    Value* paramStage = makeArray(uint64_t{paramTotal} * lanes_, "params.staging");
    Value* settledFlag = b.CreateAlloca(b.getInt1Ty(), nullptr, "settled");
    b.CreateStore(b.getTrue(), settledFlag);

    Value* rows = fn->getArg(3);
    auto rowAt = [&](Value* l, uint32_t k) {
        Value* at = b.CreateAdd(b.CreateMul(l, b.getInt64(row.words())), b.getInt64(k));
        return b.CreateZExt(
            b.CreateAlignedLoad(i32_, b.CreateInBoundsGEP(i32_, rows, at), llvm::Align(4)), i64_);
    };
    auto paramsOf = [&](Value* l, uint32_t i) {
        return b.CreateInBoundsGEP(f32_, fn->getArg(0), rowAt(l, row.params(i)));
    };
    auto memOf = [&](Value* l, uint32_t i) {
        return b.CreateInBoundsGEP(b.getInt8Ty(), fn->getArg(1), rowAt(l, row.memory(i)));
    };
    auto bufferOf = [&](Value* l, uint32_t k) { // k: the row's k-th buffer, inputs then exports
        return b.CreateInBoundsGEP(f32_, fn->getArg(2), rowAt(l, row.input(k)));
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
    /// Parameter p of a lane whose row gives `params` and `mem`, in that lane's memory.
    auto laneParam = [&](Value* params, Value* mem, uint32_t p, auto&& use) {
        auto s = [&]() -> Value* {
            return b.CreateAlignedLoad(f32_, smoother(mem, p), llvm::Align(4));
        };
        auto t = [&]() -> Value* { return target(params, p); };
        auto set = [&](Value* x) { b.CreateAlignedStore(x, smoother(mem, p), llvm::Align(4)); };
        return use(ParamAccess{s, t, set});
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
        for (uint32_t i = 0; i < row.nodes; ++i) {
            const ScheduledNode& n = sched_.nodes[g_.nodes[i]];
            Value* params = paramsOf(l, i);
            Value* mem = memOf(l, i);
            for (uint32_t p = 0; p < n.paramCount(); ++p)
                ok = laneParam(params, mem, p, [&](const ParamAccess& a) {
                    return lane.andSettled(ok, n.layout->params[p].desc, a);
                });
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
        for (uint32_t i = 0; i < row.nodes; ++i) {
            args.push_back(paramsOf(l, i));
            args.push_back(memOf(l, i));
        }
        for (uint32_t k = 0; k < row.buffers(); ++k) args.push_back(bufferOf(l, k));
        args.push_back(frames);
        b.CreateCall(shape_.group, args);
    });
    b.CreateBr(done);

    // Settled: per lane, each parameter's block value (blockParam), prepare, and the kernel
    // state into staging.
    b.SetInsertPoint(pre);
    laneLoop(b, "gather", [&](Value* l) {
        for (uint32_t i = 0; i < row.nodes; ++i) {
            const ScheduledNode& n = sched_.nodes[g_.nodes[i]];
            Value* params = paramsOf(l, i);
            Value* mem = memOf(l, i);
            std::vector<Value*> block;
            for (uint32_t p = 0; p < n.paramCount(); ++p) {
                Value* v = laneParam(
                    params, mem, p, [&](const ParamAccess& a) { return lane.blockParam(n, p, a); });
                b.CreateStore(v, staged(paramStage, paramBase[i] + p, l));
                block.push_back(v);
            }
            Value* kernelState =
                b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), mem, nodes_[i].kernelOffset);
            if (nodes_[i].prepare != nullptr) {
                setPrepareSlots(n, block, lane, [&](uint32_t slot, Value* x) {
                    b.CreateStore(x, b.CreateConstInBoundsGEP1_64(f32_, inS[i], slot));
                });
                b.CreateCall(nodes_[i].prepare, {kernelState, inS[i], shape_.kernelContext});
            }
            for (uint32_t k = 0; k < nodes_[i].words; ++k)
                b.CreateStore(b.CreateAlignedLoad(
                                  i32_,
                                  b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), kernelState, 4 * k),
                                  llvm::Align(4)),
                              staged(stage[i], k, l));
        }
    });
    // Staging to vectors: the lanes' state and parameters, side by side.
    lanes.par.resize(row.nodes);
    for (uint32_t i = 0; i < row.nodes; ++i) {
        for (uint32_t k = 0; k < nodes_[i].words; ++k)
            b.CreateAlignedStore(
                b.CreateAlignedLoad(iv_, lanesAt(b, stage[i], 4 * k), llvm::Align(64)),
                lanesAt(b, lanes.soa[i], 4 * k), llvm::Align(4));
        for (uint32_t p = 0; p < sched_.nodes[g_.nodes[i]].paramCount(); ++p)
            lanes.par[i].push_back(b.CreateAlignedLoad(
                fv_, lanesAt(b, paramStage, 4 * (paramBase[i] + p)), llvm::Align(4)));
    }
    // Each lane's block buffers, for the sample loop.
    lanes.inputs.resize(lanes_);
    lanes.exports.resize(lanes_);
    for (unsigned l = 0; l < lanes_; ++l) {
        for (uint32_t k = 0; k < row.inputs; ++k)
            lanes.inputs[l].push_back(bufferOf(b.getInt64(l), k));
        for (uint32_t k = 0; k < row.exports; ++k)
            lanes.exports[l].push_back(bufferOf(b.getInt64(l), row.inputs + k));
    }
    Value* frames64 = b.CreateZExt(frames, i64_);
    BasicBlock* preEnd = b.GetInsertBlock();
    auto* loop = BasicBlock::Create(ctx_, "lanes.sample", fn);
    auto* post = BasicBlock::Create(ctx_, "lanes.done", fn);
    b.CreateBr(loop);

    // One sample for every lane: as the one-instance settled loop, on vectors.
    WidePath path(*this, b, all, lanes);
    lowerSampleLoop(b, loop, preEnd, frames64, post, [&](Value* f) {
        path.frame = f;
        lowerSample(sched_, g_, all, path);
    });

    // The lanes' state back to each instance's memory, through staging.
    b.SetInsertPoint(post);
    for (uint32_t i = 0; i < row.nodes; ++i)
        for (uint32_t k = 0; k < nodes_[i].words; ++k)
            b.CreateAlignedStore(
                b.CreateAlignedLoad(iv_, lanesAt(b, lanes.soa[i], 4 * k), llvm::Align(4)),
                lanesAt(b, stage[i], 4 * k), llvm::Align(64));
    laneLoop(b, "scatter", [&](Value* l) {
        for (uint32_t i = 0; i < row.nodes; ++i) {
            Value* kernelState =
                b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), memOf(l, i), nodes_[i].kernelOffset);
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

} // namespace

Expected<bool> addWideEntry(ShapeModule& shape, const Schedule& schedule, const FusionPlan& plan,
                            uint32_t shapeIndex, const LowerOptions& options, uint32_t lanes,
                            std::string& whyNot) {
    whyNot.clear();
    if (lanes < 2) {
        whyNot = "one lane";
        return false;
    }
    WideLowering w(shape, schedule, plan, shapeIndex, options, lanes);
    return w.run(whyNot);
}

} // namespace chronus::jit

#include "compiler/jit/widen.h"

#include <llvm/ADT/PostOrderIterator.h>
#include <llvm/Analysis/VectorUtils.h>
#include <llvm/IR/AttributeMask.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/InstIterator.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/IntrinsicInst.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Operator.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Transforms/Utils/Cloning.h>
#include <map>
#include <vector>

namespace chronus::jit {

namespace {

using llvm::BasicBlock;
using llvm::Function;
using llvm::Instruction;
using llvm::Type;
using llvm::Value;

template <class T>
std::string describe(const T& v) {
    std::string text;
    llvm::raw_string_ostream os(text);
    v.print(os);
    return os.str();
}

/// A memory location a pointer may hold: `offset` bytes from argument `arg`, where `mask` (null:
/// always) says in which lanes the pointer is this one.
struct Leaf {
    unsigned arg;
    int64_t offset;
    Value* mask;
};

/// Builds the vector form of one straight-line-or-acyclic function.
class Widener {
public:
    Widener(Function& work, Function& wide, unsigned lanes, std::span<const bool> uniform)
        : work_(work), wide_(wide), lanes_(lanes), uniform_(uniform),
          dl_(work.getParent()->getDataLayout()),
          b_(BasicBlock::Create(work.getContext(), "entry", &wide)) {}

    Status run() {
        llvm::ReversePostOrderTraversal<Function*> rpo(&work_);
        std::map<BasicBlock*, unsigned> order;
        for (BasicBlock* bb : rpo) order[bb] = static_cast<unsigned>(order.size());
        for (BasicBlock* bb : rpo)
            for (BasicBlock* succ : llvm::successors(bb))
                if (order[succ] <= order[bb]) return makeError("it has a loop");
        for (BasicBlock* bb : rpo) {
            Value* mask = blockMask(bb);
            masks_[bb] = mask;
            for (Instruction& inst : *bb)
                if (Status s = widen(inst, mask); !s) return s;
        }
        b_.CreateRetVoid();
        return {};
    }

private:
    Type* wideType(Type* t) const { return llvm::FixedVectorType::get(t, lanes_); }
    Value* allTrue() { return llvm::ConstantInt::getTrue(wideType(b_.getInt1Ty())); }
    Value* andMask(Value* a, Value* c) {
        if (a == nullptr) return c;
        if (c == nullptr) return a;
        return b_.CreateAnd(a, c);
    }

    /// The vector value of scalar value `v`.
    Expected<Value*> get(Value* v) {
        if (auto it = values_.find(v); it != values_.end()) return it->second;
        if (auto* c = llvm::dyn_cast<llvm::Constant>(v)) {
            Type* t = c->getType();
            if (!t->isIntegerTy() && !t->isFloatingPointTy())
                return makeError("it uses the constant {} as a value", describe(*v));
            return llvm::ConstantVector::getSplat(llvm::ElementCount::getFixed(lanes_), c);
        }
        return makeError("it uses {} as a value", describe(*v));
    }

    Value* blockMask(BasicBlock* bb) {
        if (bb == &work_.getEntryBlock()) return nullptr; // every lane
        Value* mask = nullptr;
        for (BasicBlock* pred : llvm::predecessors(bb)) {
            if (!masks_.contains(pred)) continue; // unreachable: no lane comes from there
            Value* e = edges_[{pred, bb}];
            if (e == nullptr) e = allTrue();
            mask = mask == nullptr ? e : (mask == e ? mask : b_.CreateOr(mask, e));
        }
        return mask;
    }

    void setEdge(BasicBlock* from, BasicBlock* to, Value* mask) {
        auto key = std::make_pair(from, to);
        auto it = edges_.find(key);
        if (it == edges_.end() || it->second == nullptr) {
            edges_[key] = mask == nullptr ? allTrue() : mask;
            return;
        }
        it->second = b_.CreateOr(it->second, mask == nullptr ? allTrue() : mask);
    }

    /// Where pointer `p` may point, per lane.
    Status resolve(Value* p, Value* mask, std::vector<Leaf>& out) {
        if (auto* a = llvm::dyn_cast<llvm::Argument>(p)) {
            out.push_back({a->getArgNo(), 0, mask});
            return {};
        }
        if (auto* gep = llvm::dyn_cast<llvm::GEPOperator>(p)) {
            llvm::APInt offset(dl_.getIndexTypeSizeInBits(gep->getType()), 0);
            if (!gep->accumulateConstantOffset(dl_, offset))
                return makeError("it addresses memory by a computed index ({})", describe(*p));
            size_t first = out.size();
            if (Status s = resolve(gep->getPointerOperand(), mask, out); !s) return s;
            for (size_t k = first; k < out.size(); ++k) out[k].offset += offset.getSExtValue();
            return {};
        }
        if (auto* sel = llvm::dyn_cast<llvm::SelectInst>(p)) {
            auto c = get(sel->getCondition());
            if (!c) return c.error();
            if (Status s = resolve(sel->getTrueValue(), andMask(mask, *c), out); !s) return s;
            return resolve(sel->getFalseValue(), andMask(mask, b_.CreateNot(*c)), out);
        }
        if (auto* phi = llvm::dyn_cast<llvm::PHINode>(p)) {
            for (unsigned k = 0; k < phi->getNumIncomingValues(); ++k) {
                if (!masks_.contains(phi->getIncomingBlock(k))) continue;
                Value* e = edges_[{phi->getIncomingBlock(k), phi->getParent()}];
                if (Status s = resolve(phi->getIncomingValue(k), andMask(mask, e), out); !s)
                    return s;
            }
            return {};
        }
        return makeError("it uses a pointer it cannot follow ({})", describe(*p));
    }

    /// Address of `leaf` in the wide function and the type to access there.
    Expected<Value*> address(const Leaf& leaf, Type* scalarType) {
        Value* base = wide_.getArg(leaf.arg);
        if (uniform_[leaf.arg])
            return b_.CreateConstInBoundsGEP1_64(b_.getInt8Ty(), base,
                                                 static_cast<uint64_t>(leaf.offset));
        if (dl_.getTypeStoreSize(scalarType) != 4 || leaf.offset % 4 != 0 || leaf.offset < 0)
            return makeError("it accesses per-instance memory other than as aligned 4-byte words");
        return b_.CreateConstInBoundsGEP1_64(b_.getInt8Ty(), base,
                                             static_cast<uint64_t>(leaf.offset) * lanes_);
    }

    Status load(llvm::LoadInst& ld) {
        if (!ld.isSimple()) return makeError("it has a volatile or atomic load");
        std::vector<Leaf> leaves;
        if (Status s = resolve(ld.getPointerOperand(), nullptr, leaves); !s) return s;
        Type* t = ld.getType();
        if (!t->isIntegerTy() && !t->isFloatingPointTy())
            return makeError("it loads a {}", describe(*t));
        Value* result = nullptr;
        for (const Leaf& leaf : leaves) {
            auto at = address(leaf, t);
            if (!at) return at.error();
            Value* v = nullptr;
            if (uniform_[leaf.arg])
                v = b_.CreateVectorSplat(lanes_, b_.CreateAlignedLoad(t, *at, ld.getAlign()));
            else
                v = b_.CreateAlignedLoad(wideType(t), *at, llvm::Align(4));
            // Leaves partition the lanes: each lane takes the load its pointer selects.
            result = result == nullptr || leaf.mask == nullptr
                         ? v
                         : b_.CreateSelect(leaf.mask, v, result);
        }
        values_[&ld] = result;
        return {};
    }

    Status store(llvm::StoreInst& st, Value* blockMask) {
        if (!st.isSimple()) return makeError("it has a volatile or atomic store");
        std::vector<Leaf> leaves;
        if (Status s = resolve(st.getPointerOperand(), nullptr, leaves); !s) return s;
        Type* t = st.getValueOperand()->getType();
        auto v = get(st.getValueOperand());
        if (!v) return v.error();
        for (const Leaf& leaf : leaves) {
            if (uniform_[leaf.arg]) return makeError("it writes shared memory");
            auto at = address(leaf, t);
            if (!at) return at.error();
            Value* mask = andMask(blockMask, leaf.mask);
            Value* value = *v;
            if (mask != nullptr) // lanes that do not store keep what is there
                value = b_.CreateSelect(mask, value,
                                        b_.CreateAlignedLoad(wideType(t), *at, llvm::Align(4)));
            b_.CreateAlignedStore(value, *at, llvm::Align(4));
        }
        return {};
    }

    Status call(llvm::CallInst& c) {
        auto* intrinsic = llvm::dyn_cast<llvm::IntrinsicInst>(&c);
        if (intrinsic == nullptr)
            return makeError("it calls {}", c.getCalledFunction() != nullptr
                                                ? c.getCalledFunction()->getName().str()
                                                : std::string("through a pointer"));
        const llvm::Intrinsic::ID id = intrinsic->getIntrinsicID();
        switch (id) {
        case llvm::Intrinsic::lifetime_start:
        case llvm::Intrinsic::lifetime_end:
        case llvm::Intrinsic::assume:
        case llvm::Intrinsic::experimental_noalias_scope_decl:
        case llvm::Intrinsic::dbg_declare:
        case llvm::Intrinsic::dbg_value:
        case llvm::Intrinsic::dbg_label:
            return {}; // hints only
        default:
            break;
        }
        if (!llvm::isTriviallyVectorizable(id))
            return makeError("it calls {}", intrinsic->getCalledFunction()->getName().str());
        std::vector<Value*> args;
        std::vector<Type*> types;
        if (llvm::isVectorIntrinsicWithOverloadTypeAtArg(id, -1))
            types.push_back(wideType(c.getType()));
        for (unsigned k = 0; k < c.arg_size(); ++k) {
            Value* a = c.getArgOperand(k);
            if (llvm::isVectorIntrinsicWithScalarOpAtArg(id, k)) {
                if (!llvm::isa<llvm::Constant>(a))
                    return makeError("it passes a varying value where {} needs a constant",
                                     intrinsic->getCalledFunction()->getName().str());
                args.push_back(a);
            } else {
                auto w = get(a);
                if (!w) return w.error();
                args.push_back(*w);
            }
            if (llvm::isVectorIntrinsicWithOverloadTypeAtArg(id, static_cast<int>(k)))
                types.push_back(args.back()->getType());
        }
        Function* decl = llvm::Intrinsic::getDeclaration(wide_.getParent(), id, types);
        values_[&c] = b_.CreateCall(decl, args);
        return {};
    }

    Status widen(Instruction& inst, Value* mask) {
        auto operand = [&](unsigned k) { return get(inst.getOperand(k)); };
        if (llvm::isa<llvm::GetElementPtrInst>(inst)) return {}; // followed where it is used
        if (auto* ld = llvm::dyn_cast<llvm::LoadInst>(&inst)) return load(*ld);
        if (auto* st = llvm::dyn_cast<llvm::StoreInst>(&inst)) return store(*st, mask);
        if (auto* c = llvm::dyn_cast<llvm::CallInst>(&inst)) return call(*c);
        if (inst.getType()->isPointerTy()) {
            if (llvm::isa<llvm::SelectInst>(inst) || llvm::isa<llvm::PHINode>(inst))
                return {}; // followed where it is used
            return makeError("it makes a pointer ({})", describe(inst));
        }
        if (auto* bin = llvm::dyn_cast<llvm::BinaryOperator>(&inst)) {
            switch (bin->getOpcode()) {
            case Instruction::UDiv:
            case Instruction::SDiv:
            case Instruction::URem:
            case Instruction::SRem: {
                // Computed for every lane, taken or not: only a divisor that cannot trap.
                auto* d = llvm::dyn_cast<llvm::ConstantInt>(bin->getOperand(1));
                if (d == nullptr || d->isZero() || d->isMinusOne())
                    return makeError("it divides integers by a value that may be 0 or -1");
                break;
            }
            default:
                break;
            }
            auto a = operand(0), c = operand(1);
            if (!a) return a.error();
            if (!c) return c.error();
            // No nsw/nuw/exact: lanes computed speculatively must not become poison.
            values_[&inst] = b_.CreateBinOp(bin->getOpcode(), *a, *c);
            return {};
        }
        if (auto* un = llvm::dyn_cast<llvm::UnaryOperator>(&inst)) {
            auto a = operand(0);
            if (!a) return a.error();
            values_[&inst] = b_.CreateUnOp(un->getOpcode(), *a);
            return {};
        }
        if (auto* cmp = llvm::dyn_cast<llvm::CmpInst>(&inst)) {
            auto a = operand(0), c = operand(1);
            if (!a) return a.error();
            if (!c) return c.error();
            values_[&inst] = b_.CreateCmp(cmp->getPredicate(), *a, *c);
            return {};
        }
        if (llvm::isa<llvm::SelectInst>(inst)) {
            auto c = operand(0), t = operand(1), f = operand(2);
            if (!c) return c.error();
            if (!t) return t.error();
            if (!f) return f.error();
            values_[&inst] = b_.CreateSelect(*c, *t, *f);
            return {};
        }
        if (auto* cast = llvm::dyn_cast<llvm::CastInst>(&inst)) {
            if (cast->getSrcTy()->isPointerTy()) return makeError("it casts a pointer");
            auto a = operand(0);
            if (!a) return a.error();
            values_[&inst] = b_.CreateCast(cast->getOpcode(), *a, wideType(cast->getDestTy()));
            return {};
        }
        if (llvm::isa<llvm::FreezeInst>(inst)) {
            auto a = operand(0);
            if (!a) return a.error();
            values_[&inst] = b_.CreateFreeze(*a);
            return {};
        }
        if (auto* phi = llvm::dyn_cast<llvm::PHINode>(&inst)) {
            // Each active lane arrived along exactly one edge: select that edge's value.
            Value* result = nullptr;
            for (unsigned k = 0; k < phi->getNumIncomingValues(); ++k) {
                if (!masks_.contains(phi->getIncomingBlock(k))) continue;
                auto v = get(phi->getIncomingValue(k));
                if (!v) return v.error();
                Value* e = edges_[{phi->getIncomingBlock(k), phi->getParent()}];
                result = result == nullptr || e == nullptr ? *v : b_.CreateSelect(e, *v, result);
            }
            values_[&inst] = result;
            return {};
        }
        if (auto* br = llvm::dyn_cast<llvm::BranchInst>(&inst)) {
            if (br->isUnconditional()) {
                setEdge(br->getParent(), br->getSuccessor(0), mask);
                return {};
            }
            auto c = get(br->getCondition());
            if (!c) return c.error();
            setEdge(br->getParent(), br->getSuccessor(0), andMask(mask, *c));
            setEdge(br->getParent(), br->getSuccessor(1), andMask(mask, b_.CreateNot(*c)));
            return {};
        }
        if (auto* sw = llvm::dyn_cast<llvm::SwitchInst>(&inst)) {
            auto c = get(sw->getCondition());
            if (!c) return c.error();
            Value* none = nullptr; // lanes that match no case
            for (auto& kase : sw->cases()) {
                auto k = get(kase.getCaseValue());
                if (!k) return k.error();
                Value* is = b_.CreateICmpEQ(*c, *k);
                setEdge(sw->getParent(), kase.getCaseSuccessor(), andMask(mask, is));
                none = andMask(none, b_.CreateNot(is));
            }
            setEdge(sw->getParent(), sw->getDefaultDest(), andMask(mask, none));
            return {};
        }
        if (llvm::isa<llvm::ReturnInst>(inst)) return {};
        return makeError("it has an instruction the widener does not know ({})", describe(inst));
    }

    Function& work_;
    Function& wide_;
    const unsigned lanes_;
    std::span<const bool> uniform_;
    const llvm::DataLayout& dl_;
    llvm::IRBuilder<> b_;
    std::map<Value*, Value*> values_;
    std::map<BasicBlock*, Value*> masks_;
    std::map<std::pair<BasicBlock*, BasicBlock*>, Value*> edges_; ///< null: every lane of `from`
};

} // namespace

Expected<Function*> widenKernel(Function& scalar, unsigned lanes, const std::string& name,
                                std::span<const bool> uniform) {
    if (scalar.isDeclaration()) return makeError("{} has no body", scalar.getName().str());
    if (uniform.size() != scalar.arg_size())
        return makeError("internal: {} arguments, {} uniform flags", scalar.arg_size(),
                         uniform.size());
    llvm::Module& module = *scalar.getParent();
    // A working copy with every call it makes to a function with a body inlined.
    llvm::ValueToValueMapTy map;
    Function* work = llvm::CloneFunction(&scalar, map);
    auto fail = [&](const Error& e) -> Expected<Function*> {
        work->eraseFromParent();
        return makeError("{} does not widen: {}", scalar.getName().str(), e.message);
    };
    for (int round = 0; round < 8; ++round) {
        std::vector<llvm::CallBase*> calls;
        for (Instruction& inst : llvm::instructions(*work))
            if (auto* cb = llvm::dyn_cast<llvm::CallBase>(&inst))
                if (Function* callee = cb->getCalledFunction();
                    callee != nullptr && !callee->isDeclaration() && !callee->isIntrinsic())
                    calls.push_back(cb);
        if (calls.empty()) break;
        for (llvm::CallBase* cb : calls) {
            llvm::InlineFunctionInfo info;
            if (!llvm::InlineFunction(*cb, info).isSuccess())
                return fail(makeError("a call in it cannot be inlined"));
        }
    }
    for (const llvm::Argument& a : work->args())
        if (!a.getType()->isPointerTy()) return fail(makeError("an argument is not a pointer"));

    Function* wide =
        Function::Create(work->getFunctionType(), llvm::GlobalValue::InternalLinkage, name, module);
    wide->copyAttributesFrom(&scalar);
    wide->addFnAttr(llvm::Attribute::AlwaysInline);
    wide->removeFnAttr(llvm::Attribute::NoInline);
    wide->removeFnAttr(llvm::Attribute::OptimizeNone);
    // Per-argument attributes described the scalar layout (sizes, alignments): drop them.
    for (unsigned k = 0; k < wide->arg_size(); ++k)
        wide->removeParamAttrs(k, llvm::AttributeMask(wide->getAttributes().getParamAttrs(k)));
    Widener w(*work, *wide, lanes, uniform);
    if (Status s = w.run(); !s) {
        wide->eraseFromParent();
        return fail(s.error());
    }
    work->eraseFromParent();
    std::string problems;
    llvm::raw_string_ostream os(problems);
    if (llvm::verifyFunction(*wide, &os)) {
        wide->eraseFromParent();
        return makeError("internal: the widened {} is invalid: {}", scalar.getName().str(),
                         os.str());
    }
    return wide;
}

} // namespace chronus::jit

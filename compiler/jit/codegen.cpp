#include "compiler/jit/codegen.h"

#include "compiler/jit/host_jit.h"
#include "compiler/jit/lower.h"

#include <algorithm>
#include <llvm/AsmParser/Parser.h>
#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/ExecutionEngine/Orc/CompileUtils.h>
#include <llvm/IR/DiagnosticInfo.h>
#include <llvm/IR/DiagnosticPrinter.h>
#include <llvm/IR/InstIterator.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Linker/Linker.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/SourceMgr.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Transforms/IPO/GlobalDCE.h>
#include <llvm/Transforms/Scalar/EarlyCSE.h>
#include <llvm/Transforms/Scalar/SROA.h>
#include <llvm/Transforms/Utils/Cloning.h>

namespace chronus::jit {

// --- Diagnostics ---------------------------------------------------------------------------------

DiagnosticLog::DiagnosticLog(llvm::LLVMContext& context) {
    context.setDiagnosticHandlerCallBack(&DiagnosticLog::handle, this);
}

void DiagnosticLog::handle(const llvm::DiagnosticInfo* info, void* self) {
    auto* log = static_cast<DiagnosticLog*>(self);
    if (info->getSeverity() == llvm::DS_Remark || info->getSeverity() == llvm::DS_Note) return;
    std::string text;
    llvm::raw_string_ostream os(text);
    llvm::DiagnosticPrinterRawOStream printer(os);
    info->print(printer);
    os.flush();
    if (info->getSeverity() == llvm::DS_Error) ++log->errors_;
    log->messages_.push_back(std::move(text));
}

std::string DiagnosticLog::text() const {
    std::string out;
    for (const auto& m : messages_) out += (out.empty() ? "" : "; ") + m;
    return out;
}

// --- Kernels -------------------------------------------------------------------------------------

Status linkKernels(llvm::Module& module, std::span<const unsigned char> bitcode,
                   const llvm::GlobalValue& keep, const std::string& cpu,
                   const std::string& features, DiagnosticLog& log) {
    llvm::LLVMContext& ctx = module.getContext();
    if (bitcode.empty())
        return makeError("JIT: the kernel bitcode is empty (no module sources built?)");
    llvm::MemoryBufferRef ref(
        llvm::StringRef(reinterpret_cast<const char*>(bitcode.data()), bitcode.size()),
        "kernels.bc");
    auto kernels = llvm::getLazyBitcodeModule(ref, ctx);
    if (!kernels) return toError(kernels.takeError(), "JIT: cannot read the kernel bitcode");
    llvm::Module& km = **kernels;
    if (km.getNamedGlobal("llvm.global_ctors") != nullptr)
        return makeError("JIT: the kernel bitcode has static constructors; kernels must be "
                         "freestanding (no globals with dynamic initialisation)");
    // `used` keeps every kernel alive in the bitcode; here only the referenced ones are wanted.
    for (const char* name : {"llvm.used", "llvm.compiler.used"})
        if (auto* gv = km.getNamedGlobal(name)) gv->eraseFromParent();
    km.setTargetTriple(module.getTargetTriple());
    km.setDataLayout(module.getDataLayout());

    std::vector<llvm::Function*> mine;
    for (llvm::Function& f : module) {
        if (!f.isDeclaration()) {
            mine.push_back(&f);
            continue;
        }
        if (f.isIntrinsic() || !f.getName().starts_with("chronus_")) continue;
        llvm::Function* k = km.getFunction(f.getName());
        if (k == nullptr || k->isDeclaration())
            return makeError("JIT: kernel {} is not in the kernel bitcode (is its module source in "
                             "CHRONUS_MODULE_SOURCES, with CHRONUS_KERNEL on the entry point?)",
                             f.getName().str());
        if (k->getFunctionType() != f.getFunctionType())
            return makeError("JIT: kernel {} has the wrong signature in the kernel bitcode",
                             f.getName().str());
    }
    if (llvm::Linker::linkModules(module, std::move(*kernels), llvm::Linker::Flags::LinkOnlyNeeded))
        return makeError("JIT: linking the kernel bitcode failed: {}", log.text());

    for (llvm::Function& f : module) {
        if (f.isDeclaration()) continue;
        setHostAttributes(f, cpu, features);
        bool generated = std::find(mine.begin(), mine.end(), &f) != mine.end();
        if (!generated && !f.hasFnAttribute(llvm::Attribute::NoInline)) {
            f.removeFnAttr(llvm::Attribute::OptimizeNone);
            f.addFnAttr(llvm::Attribute::AlwaysInline);
        }
    }
    for (llvm::GlobalValue& gv : module.global_values())
        if (!gv.isDeclaration() && &gv != &keep && !gv.hasLocalLinkage() &&
            !gv.hasAppendingLinkage())
            gv.setLinkage(llvm::GlobalValue::InternalLinkage);
    std::string problems;
    llvm::raw_string_ostream os(problems);
    if (llvm::verifyModule(module, &os))
        return makeError("JIT: the linked module is invalid: {}", os.str());
    return {};
}

// --- Pipeline and code generation ----------------------------------------------------------------

namespace {

/// The quick tier's inliner: every call of a defined always-inline function is inlined, and the
/// calls its body brings along, depth first. What LLVM's AlwaysInlinerPass does, without the block
/// frequencies and alias analysis it computes for every call site (and again after each inline, as
/// the caller grows): that pass was 60 % of the quick tier's optimisation time, this costs half
/// as much. The result differs only in a few noalias scopes, which nothing at this level uses. A
/// call that cannot be inlined stays a call.
void inlineAlwaysInline(llvm::Module& module) {
    auto wanted = [](llvm::CallBase* call) {
        llvm::Function* callee = call->getCalledFunction();
        return callee != nullptr && !callee->isDeclaration() && callee != call->getCaller() &&
               callee->hasFnAttribute(llvm::Attribute::AlwaysInline) &&
               !call->hasFnAttr(llvm::Attribute::NoInline);
    };
    std::vector<llvm::CallBase*> work;
    for (llvm::Function& f : module)
        for (llvm::Instruction& inst : llvm::instructions(f))
            if (auto* call = llvm::dyn_cast<llvm::CallBase>(&inst); call != nullptr && wanted(call))
                work.push_back(call);
    std::reverse(work.begin(), work.end()); // in program order
    // Bounded: a kernel that (directly or not) calls itself is left a call.
    for (size_t budget = 100000; !work.empty() && budget > 0; --budget) {
        llvm::CallBase* call = work.back();
        work.pop_back();
        llvm::InlineFunctionInfo info;
        if (!llvm::InlineFunction(*call, info, /*MergeAttributes=*/true, nullptr,
                                  /*InsertLifetime=*/false)
                 .isSuccess())
            continue;
        for (auto it = info.InlinedCallSites.rbegin(); it != info.InlinedCallSites.rend(); ++it)
            if (wanted(*it)) work.push_back(*it);
    }
}

} // namespace

void optimizeModule(llvm::Module& module, llvm::TargetMachine& tm, int optLevel) {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PipelineTuningOptions pto;
    pto.LoopVectorization = true; // LLVM 19 leaves SLP off unless asked (pitfall 2)
    pto.SLPVectorization = true;
    pto.LoopUnrolling = true;
    pto.LoopInterleaving = true;
    llvm::PassBuilder pb(&tm, pto);
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    llvm::ModulePassManager mpm;
    switch (optLevel) {
    case 0: {
        // The quick tier: every kernel inlined (inlineAlwaysInline, not the O0 pipeline's
        // always-inliner), then scalar replacement of the kernels' `in`, `out` and state allocas
        // and early CSE, which halve the code instruction selection sees (cheaper to compile, and
        // three times faster to run than without) for little time.
        inlineAlwaysInline(module);
        mpm.addPass(llvm::GlobalDCEPass()); // the kernels, all inlined: not worth optimising
        llvm::FunctionPassManager fpm;
        fpm.addPass(llvm::SROAPass(llvm::SROAOptions::ModifyCFG));
        fpm.addPass(llvm::EarlyCSEPass());
        mpm.addPass(llvm::createModuleToFunctionPassAdaptor(std::move(fpm)));
        break;
    }
    case 1:
        mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O1);
        break;
    case 3:
        mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
        break;
    default:
        mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O2);
        break;
    }
    mpm.addPass(llvm::GlobalDCEPass());
    mpm.run(module, mam);
}

Expected<std::unique_ptr<llvm::MemoryBuffer>> emitObject(llvm::Module& module,
                                                         llvm::TargetMachine& tm) {
    llvm::orc::SimpleCompiler compile(tm);
    auto obj = compile(module);
    if (!obj) return toError(obj.takeError(), "JIT: code generation failed");
    return std::move(*obj);
}

Expected<std::string> emitAssembly(llvm::Module& module, llvm::TargetMachine& tm) {
    llvm::SmallString<0> text;
    llvm::raw_svector_ostream os(text);
    llvm::legacy::PassManager pm;
    if (tm.addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::AssemblyFile))
        return makeError("JIT: this target cannot print assembly");
    pm.run(module);
    return std::string(text.str());
}

Expected<std::string> assemblyFromIrText(const std::string& irText, int optLevel) {
    llvm::LLVMContext ctx;
    DiagnosticLog log(ctx);
    llvm::SMDiagnostic diag;
    auto module = llvm::parseAssemblyString(irText, diag, ctx);
    if (!module) return makeError("JIT: cannot parse the kept IR: {}", diag.getMessage().str());
    auto tm = makeTargetMachine(optLevel);
    if (!tm) return tm.error();
    return emitAssembly(*module, **tm);
}

std::string printModule(const llvm::Module& module) {
    std::string text;
    llvm::raw_string_ostream os(text);
    module.print(os, nullptr);
    return os.str();
}

} // namespace chronus::jit

#include "compiler/jit/host_jit.h"

#include <atomic>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/Support/TargetSelect.h>

namespace chronus::jit {

namespace {

llvm::CodeGenOptLevel codegenLevel(int optLevel) {
    switch (optLevel) {
    case 0:
        return llvm::CodeGenOptLevel::None;
    case 1:
        return llvm::CodeGenOptLevel::Less;
    case 3:
        return llvm::CodeGenOptLevel::Aggressive;
    default:
        return llvm::CodeGenOptLevel::Default;
    }
}

/// Errors a JIT session reports outside any lookup (materialization on this thread): kept so that
/// the failing lookup's message can carry them, never printed, never fatal.
thread_local std::string tlSessionErrors;

} // namespace

Error toError(llvm::Error e, std::string_view what) {
    std::string msg = llvm::toString(std::move(e));
    if (!tlSessionErrors.empty()) {
        if (msg.find(tlSessionErrors) == std::string::npos) msg += " (" + tlSessionErrors + ")";
        tlSessionErrors.clear();
    }
    return makeError("{}: {}", what, msg);
}

Expected<HostJit*> HostJit::instance() {
    // Never destroyed, like the HostJit: a program (or the prewarm thread) may still ask for it
    // during static teardown, after this function-local static's destructor would have run (TSan).
    static const auto* instance = new Expected<HostJit*>([]() -> Expected<HostJit*> {
        llvm::InitializeNativeTarget();
        llvm::InitializeNativeTargetAsmPrinter();
        llvm::InitializeNativeTargetAsmParser();
        auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
        if (!jtmb) return toError(jtmb.takeError(), "JIT: cannot describe this machine");
        jtmb->getOptions().ExceptionModel = llvm::ExceptionHandling::None;
        auto* host = new HostJit(); // never freed: programs may be destroyed during static teardown
        host->jtmb_ = *jtmb;
        host->cpu_ = jtmb->getCPU();
        host->features_ = jtmb->getFeatures().getString();
        auto jit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(*jtmb).create();
        if (!jit) return toError(jit.takeError(), "JIT: cannot create the LLVM ORC JIT");
        host->jit_ = std::move(*jit);
        host->jit_->getExecutionSession().setErrorReporter([](llvm::Error e) {
            if (!tlSessionErrors.empty()) tlSessionErrors += "; ";
            tlSessionErrors += llvm::toString(std::move(e));
        });
        return host;
    }());
    return *instance;
}

Expected<std::unique_ptr<llvm::TargetMachine>> HostJit::targetMachine(int optLevel) const {
    llvm::orc::JITTargetMachineBuilder b = jtmb_;
    b.setCodeGenOptLevel(codegenLevel(optLevel));
    auto tm = b.createTargetMachine();
    if (!tm) return toError(tm.takeError(), "JIT: cannot create a target machine");
    return std::move(*tm);
}

Expected<llvm::TargetMachine*> HostJit::threadTargetMachine(int optLevel) const {
    thread_local std::unique_ptr<llvm::TargetMachine> machines[4];
    if (optLevel < 0 || optLevel > 3)
        return makeError("JIT: optimisation level {} is not one of 0, 1, 2, 3", optLevel);
    auto& tm = machines[optLevel];
    if (!tm) {
        auto made = targetMachine(optLevel);
        if (!made) return made.error();
        tm = made.take();
    }
    return tm.get();
}

Expected<std::unique_ptr<LinkedCode>> HostJit::link(std::unique_ptr<llvm::MemoryBuffer> object,
                                                    std::span<const std::string> symbols) {
    std::unique_ptr<LinkedCode> code(new LinkedCode());
    code->tracker_ = jit_->getMainJITDylib().createResourceTracker();
    if (llvm::Error e = jit_->addObjectFile(code->tracker_, std::move(object)))
        return toError(std::move(e), "JIT: cannot add the object"); // ~LinkedCode removes it
    for (const std::string& symbol : symbols) {
        auto address = jit_->lookup(symbol);
        if (!address) return toError(address.takeError(), "JIT: cannot link the program");
        code->addresses_.push_back(*address);
    }
    return code;
}

void HostJit::noteRemoved() {
    static std::atomic<uint32_t> removed{0};
    if (++removed % 64 == 0) jit_->getExecutionSession().getSymbolStringPool()->clearDeadEntries();
}

LinkedCode::~LinkedCode() {
    if (!tracker_) return;
    if (llvm::Error e = tracker_->remove()) llvm::consumeError(std::move(e));
    tracker_.reset();
    if (auto host = HostJit::instance()) (*host)->noteRemoved();
}

} // namespace chronus::jit

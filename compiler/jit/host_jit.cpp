#include "compiler/jit/host_jit.h"

#include <algorithm>
#include <atomic>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/TargetParser/Host.h>

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

std::atomic<bool> gJitCreated{false};

/// Registers the native target, asm printer and parser, once per process.
void registerNativeTarget() {
    static const bool done = [] {
        llvm::InitializeNativeTarget();
        llvm::InitializeNativeTargetAsmPrinter();
        llvm::InitializeNativeTargetAsmParser();
        return true;
    }();
    (void)done;
}

llvm::orc::JITTargetMachineBuilder hostMachineBuilder(int optLevel) {
    const HostTarget& host = hostTarget();
    llvm::orc::JITTargetMachineBuilder b{llvm::Triple(host.triple)};
    b.setCPU(host.cpu);
    b.getFeatures() = llvm::SubtargetFeatures(host.features);
    b.getOptions().ExceptionModel = llvm::ExceptionHandling::None;
    b.setCodeGenOptLevel(codegenLevel(optLevel));
    return b;
}

} // namespace

Error toError(llvm::Error e, std::string_view what) {
    std::string msg = llvm::toString(std::move(e));
    if (!tlSessionErrors.empty()) {
        if (msg.find(tlSessionErrors) == std::string::npos) msg += " (" + tlSessionErrors + ")";
        tlSessionErrors.clear();
    }
    return makeError("{}: {}", what, msg);
}

const HostTarget& hostTarget() {
    // What JITTargetMachineBuilder::detectHost() finds, without building a target machine; the
    // features sorted so that the text (part of every cache key) does not depend on a hash order.
    static const HostTarget* host = [] {
        auto* h = new HostTarget(); // never freed: read during static teardown
        h->triple = llvm::sys::getProcessTriple();
        h->cpu = llvm::sys::getHostCPUName().str();
        llvm::StringMap<bool> map = llvm::sys::getHostCPUFeatures();
        std::vector<std::string> features;
        for (const auto& f : map) features.push_back((f.second ? "+" : "-") + f.first().str());
        std::sort(features.begin(), features.end());
        for (const std::string& f : features) h->features += (h->features.empty() ? "" : ",") + f;
        return h;
    }();
    return *host;
}

Expected<std::unique_ptr<llvm::TargetMachine>> makeTargetMachine(int optLevel) {
    registerNativeTarget();
    auto tm = hostMachineBuilder(optLevel).createTargetMachine();
    if (!tm) return toError(tm.takeError(), "JIT: cannot create a target machine");
    return std::move(*tm);
}

Expected<llvm::TargetMachine*> threadTargetMachine(int optLevel) {
    thread_local std::unique_ptr<llvm::TargetMachine> machines[4];
    if (optLevel < 0 || optLevel > 3)
        return makeError("JIT: optimisation level {} is not one of 0, 1, 2, 3", optLevel);
    auto& tm = machines[optLevel];
    if (!tm) {
        auto made = makeTargetMachine(optLevel);
        if (!made) return made.error();
        tm = made.take();
    }
    return tm.get();
}

Expected<HostJit*> HostJit::instance() {
    // Never destroyed, like the HostJit: a program (or the prewarm thread) may still ask for it
    // during static teardown, after this function-local static's destructor would have run (TSan).
    static const auto* instance = new Expected<HostJit*>([]() -> Expected<HostJit*> {
        registerNativeTarget();
        auto jit =
            llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(hostMachineBuilder(2)).create();
        if (!jit) return toError(jit.takeError(), "JIT: cannot create the LLVM ORC JIT");
        gJitCreated = true;
        auto* host = new HostJit(); // never freed: programs may be destroyed during static teardown
        host->jit_ = std::move(*jit);
        host->jit_->getExecutionSession().setErrorReporter([](llvm::Error e) {
            if (!tlSessionErrors.empty()) tlSessionErrors += "; ";
            tlSessionErrors += llvm::toString(std::move(e));
        });
        return host;
    }());
    return *instance;
}

bool hostJitCreated() {
    return gJitCreated.load();
}

Expected<std::shared_ptr<LinkedCode>> HostJit::link(std::unique_ptr<llvm::MemoryBuffer> object,
                                                    std::span<const std::string> symbols) {
    if (symbols.empty()) return makeError("JIT: internal: an object linked for no symbol");
    std::lock_guard lock(mutex_);
    Linked& slot = linked_[symbols[0]];
    if (auto live = slot.holder.lock()) return live; // the same key's code: the same code
    if (slot.tracker) {
        // Its last holder is on its way out (its release will find newer code and leave it).
        if (llvm::Error e = slot.tracker->remove()) llvm::consumeError(std::move(e));
        slot.tracker.reset();
    }
    auto fail = [&](llvm::Error e, std::string_view what) -> Error {
        if (slot.tracker)
            if (llvm::Error r = slot.tracker->remove()) llvm::consumeError(std::move(r));
        linked_.erase(symbols[0]);
        return toError(std::move(e), what);
    };
    slot.tracker = jit_->getMainJITDylib().createResourceTracker();
    if (llvm::Error e = jit_->addObjectFile(slot.tracker, std::move(object)))
        return fail(std::move(e), "JIT: cannot add the object");
    std::shared_ptr<LinkedCode> code(new LinkedCode());
    for (const std::string& symbol : symbols) {
        auto address = jit_->lookup(symbol);
        if (!address) return fail(address.takeError(), "JIT: cannot link the program");
        code->addresses_.push_back(*address);
    }
    code->host_ = this;
    code->name_ = symbols[0];
    code->generation_ = slot.generation = ++generations_;
    slot.holder = code;
    return code;
}

void HostJit::release(const std::string& name, uint64_t generation) {
    std::lock_guard lock(mutex_);
    auto it = linked_.find(name);
    if (it == linked_.end() || it->second.generation != generation) return;
    if (llvm::Error e = it->second.tracker->remove()) llvm::consumeError(std::move(e));
    linked_.erase(it);
    // Interned names of removed code are freed now and then.
    if (++removed_ % 64 == 0) jit_->getExecutionSession().getSymbolStringPool()->clearDeadEntries();
}

LinkedCode::~LinkedCode() {
    if (host_ != nullptr) host_->release(name_, generation_);
}

} // namespace chronus::jit

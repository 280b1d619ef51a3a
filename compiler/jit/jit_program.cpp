#include "jit/fusion.h"
#include "jit/jit.h"
#include "jit/kernel_bitcode.h"
#include "jit/llvm_jit.h"
#include "jit/lower.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <llvm/ExecutionEngine/Orc/Core.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>
#include <mutex>
#include <new>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace chronus {

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

/// Flush-to-zero and denormals-are-zero for the duration of a render call: the JIT code is
/// compiled assuming them ("denormal-fp-math"="preserve-sign"), and biquad tails otherwise decay
/// into subnormals that run 2-3x slower. Restores the caller's mode. No system call.
class DenormalScope {
public:
#if defined(__x86_64__) || defined(__i386__)
    DenormalScope() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040u); }
    ~DenormalScope() { _mm_setcsr(saved_); }

private:
    unsigned saved_;
#endif
};

struct AlignedFloats {
    void operator()(float* p) const { ::operator delete[](p, std::align_val_t{64}); }
};

class JitProgramImpl final : public JitProgram {
public:
    JitProgramImpl(Schedule schedule, int optLevel, uint32_t maxBlock, size_t buffers)
        : sched_(std::move(schedule)), optLevel_(optLevel), maxBlock_(maxBlock) {
        size_t floats = std::max<size_t>(buffers, 1) * maxBlock;
        scratch_.reset(
            static_cast<float*>(::operator new[](floats * sizeof(float), std::align_val_t{64})));
        std::fill(scratch_.get(), scratch_.get() + floats, 0.0f);
    }

    ~JitProgramImpl() override {
        if (!tracker_) return;
        if (llvm::Error e = tracker_->remove()) llvm::consumeError(std::move(e));
        tracker_.reset();
        if (auto host = jit::HostJit::instance()) (*host)->noteRemoved();
    }

    const Schedule& schedule() const override { return sched_; }
    std::string_view engine() const override { return "jit"; }
    const JitTimings& timings() const override { return timings_; }
    int optLevel() const override { return optLevel_; }

    // UBSan's -fsanitize=function would read a type signature in front of the JIT's function.
#if defined(__clang__)
    __attribute__((no_sanitize("function")))
#endif
    void
    render(const std::atomic<float>* params, std::byte* state, float* out,
           uint32_t frames) noexcept override {
        DenormalScope ftz;
        // std::atomic<float> is layout-compatible with float; the code reads it atomically.
        const auto* p = reinterpret_cast<const float*>(params);
        while (frames > 0) {
            uint32_t n = std::min(frames, maxBlock_);
            fn_(p, state, scratch_.get(), out, n);
            out += n;
            frames -= n;
        }
    }

    Expected<std::string> ir(std::string_view stage) const override {
        if (stage != "lowered" && stage != "optimized" && stage != "asm")
            return makeError("unknown IR stage '{}': use lowered, optimized or asm", stage);
        if (!keptIr_) return makeError("this program was compiled without keeping its IR");
        if (stage == "lowered") return lowered_;
        if (stage == "optimized") return optimized_;
        std::lock_guard lock(asmMutex_);
        if (asm_.empty()) {
            auto text = jit::assemblyFromIrText(optimized_, optLevel_);
            if (!text) return text.error();
            asm_ = std::move(*text);
        }
        return asm_;
    }

    Schedule sched_;
    int optLevel_;
    uint32_t maxBlock_;
    jit::RenderFn fn_ = nullptr;
    llvm::orc::ResourceTrackerSP tracker_;
    std::unique_ptr<float[], AlignedFloats> scratch_;
    JitTimings timings_;
    bool keptIr_ = false;
    std::string lowered_, optimized_;
    mutable std::mutex asmMutex_;
    mutable std::string asm_;
};

std::atomic<uint64_t> gProgramSerial{0};

} // namespace

Expected<std::unique_ptr<JitProgram>> compileJit(const Schedule& schedule,
                                                 const JitOptions& options) {
    const auto t0 = Clock::now();
    if (options.optLevel < 0 || options.optLevel > 3)
        return makeError("JIT: optimisation level {} is not one of 0, 1, 2, 3", options.optLevel);
    if (options.maxBlock == 0 || options.maxBlock > 65536)
        return makeError("JIT: block size {} is outside [1, 65536]", options.maxBlock);
    for (const ScheduledNode& n : schedule.nodes)
        if (n.desc == nullptr || n.desc->kernel.empty())
            return makeError("JIT: module '{}' has no kernel", n.id);
    auto host = jit::HostJit::instance();
    if (!host) return host.error();
    jit::HostJit& hj = **host;

    JitTimings t;
    const uint32_t maxBlock = (options.maxBlock + 15) / 16 * 16; // keeps buffers 64-byte aligned
    jit::FusionPlan plan = jit::planFusion(schedule);
    t.groups = static_cast<uint32_t>(plan.groups.size());
    t.shapes = static_cast<uint32_t>(plan.shapes.size());
    t.buffers = static_cast<uint32_t>(plan.buffers.size());

    // One context and one target machine per compile: compiles may run on several threads.
    auto context = std::make_unique<llvm::LLVMContext>();
    jit::DiagnosticLog log(*context);
    auto tm = hj.targetMachine(options.optLevel);
    if (!tm) return tm.error();
    jit::LowerOptions lo;
    lo.maxBlock = maxBlock;
    lo.renderName = fmt::format("chronus_render_{}", gProgramSerial.fetch_add(1));
    lo.targetCpu = hj.cpu();
    lo.targetFeatures = hj.features();
    auto module = jit::lowerSchedule(schedule, plan, *context, (*tm)->createDataLayout(),
                                     (*tm)->getTargetTriple().str(), lo);
    {
        std::string problems;
        llvm::raw_string_ostream os(problems);
        if (llvm::verifyModule(*module, &os))
            return makeError("JIT: internal: the lowered IR is invalid: {}", os.str());
    }
    auto program =
        std::make_unique<JitProgramImpl>(schedule, options.optLevel, maxBlock, plan.buffers.size());
    auto tText = Clock::now();
    if (options.keepIr) program->lowered_ = jit::printModule(*module);
    t.irTextMs += msSince(tText);
    auto bitcode = options.kernelBitcode.empty() ? jit::kernelBitcode() : options.kernelBitcode;
    if (Status s =
            jit::linkKernels(*module, bitcode, lo.renderName, lo.targetCpu, lo.targetFeatures, log);
        !s)
        return s.error();
    t.lowerMs = msSince(t0) - t.irTextMs;

    auto t1 = Clock::now();
    jit::optimizeModule(*module, **tm, options.optLevel);
    t.optimizeMs = msSince(t1);
    if (log.hasErrors()) return makeError("JIT: optimisation reported: {}", log.text());
    tText = Clock::now();
    if (options.keepIr) program->optimized_ = jit::printModule(*module);
    program->keptIr_ = options.keepIr;
    t.irTextMs += msSince(tText);

    auto t2 = Clock::now();
    auto object = jit::emitObject(*module, **tm);
    if (!object) return object.error();
    if (log.hasErrors()) return makeError("JIT: code generation reported: {}", log.text());
    t.codegenMs = msSince(t2);

    auto t3 = Clock::now();
    llvm::orc::LLJIT& lljit = hj.lljit();
    auto tracker = lljit.getMainJITDylib().createResourceTracker();
    if (llvm::Error e = lljit.addObjectFile(tracker, std::move(*object))) {
        llvm::consumeError(tracker->remove());
        return jit::toError(std::move(e), "JIT: cannot add the object");
    }
    auto address = lljit.lookup(lo.renderName);
    if (!address) {
        Error err = jit::toError(address.takeError(), "JIT: cannot link the program");
        llvm::consumeError(tracker->remove());
        return err;
    }
    program->tracker_ = std::move(tracker);
    program->fn_ = address->toPtr<jit::RenderFn>();
    t.linkMs = msSince(t3);
    t.totalMs = msSince(t0);
    program->timings_ = t;
    return std::unique_ptr<JitProgram>(std::move(program));
}

} // namespace chronus

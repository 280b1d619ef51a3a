#include "runtime/backend.h"
#include "runtime/engine.h"
#include "runtime/recorder.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fmt/format.h>
#include <pthread.h>
#include <sched.h>
#include <thread>
#include <time.h>
#include <vector>

namespace chronus {

namespace {

class NullBackend final : public AudioBackend {
public:
    NullBackend(Engine& engine, const BackendOptions& o)
        : engine_(engine), opts_(o), channels_(std::max<uint32_t>(o.channels, 1)),
          block_(std::size_t{engine.options().frames} * channels_) {
        const std::size_t frames = engine.options().frames;
        for (uint32_t c = 0; c < channels_; ++c) out_.push_back(block_.data() + c * frames);
        if (o.recorder != nullptr) recordScratch_.assign(frames * o.recorder->channels(), 0.0f);
        if (opts_.input != nullptr && opts_.input->frames() > 0) {
            inputs_ = static_cast<uint32_t>(opts_.input->channels.size());
            inBlock_.assign(frames * inputs_, 0.0f);
            for (uint32_t k = 0; k < inputs_; ++k) in_.push_back(inBlock_.data() + k * frames);
        }
    }
    ~NullBackend() override { stop(); }

    Status start() override {
        if (thread_.joinable()) return {};
        stop_.store(false);
        thread_ = std::thread([this] { run(); });
        return {};
    }
    void stop() override {
        stop_.store(true);
        if (thread_.joinable()) thread_.join();
    }
    bool running() const override { return thread_.joinable() && !stop_.load(); }
    std::string describe() const override {
        return fmt::format("null (clock-paced), {}{}{} Hz, {} frames",
                           channels_ > 1 ? fmt::format("{} channels, ", channels_) : "",
                           inputs_ > 0 ? fmt::format("{} channel(s) in (looped), ", inputs_) : "",
                           engine_.options().sampleRate, engine_.options().frames);
    }
    ClockJitter clockJitter() const override {
        ClockJitter j;
        j.measured = true;
        j.wakeups = wakeups_.load(std::memory_order_relaxed);
        j.lateWakeups = lateWakeups_.load(std::memory_order_relaxed);
        j.worstLateMs = double(worstLateNs_.load(std::memory_order_relaxed)) / 1e6;
        return j;
    }

private:
    static void bump(std::atomic<uint64_t>& c) noexcept {
        c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }

    /// This thread's CPU time: what the render cost, without the time the thread was not running.
    static std::chrono::nanoseconds threadCpuTime() noexcept {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
    }

    /// The audio thread: sleeps to each block's slot, renders, records. Block k is due at its slot
    /// s_k = start + k * period and must be ready one period later (a device that plays each block
    /// while the next renders). It is late when it is ready after that. Whose fault that is, is
    /// told by what the render cost in CPU time (the engine's callback is wait-free, so its cost
    /// is its CPU time): more than a period, and the engine could not have made it on any clock
    /// (an xrun, the engine's); otherwise the thread woke, or was run, too late (jitter).
    void run() {
        // Real-time priority where allowed (as a JACK or ALSA callback thread would have); a
        // refusal only means late wake-ups are likelier.
        sched_param sp{};
        sp.sched_priority = std::min(70, sched_get_priority_max(SCHED_FIFO));
        (void)pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
        if (opts_.onAudioThreadStart != nullptr) opts_.onAudioThreadStart();
        using Clock = std::chrono::steady_clock;
        const auto period =
            std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                double(engine_.options().frames) / double(engine_.options().sampleRate)));
        auto slot = Clock::now();
        while (!stop_.load(std::memory_order_relaxed)) {
            const auto woke = Clock::now();
            const auto cpuBefore = threadCpuTime();
            const uint32_t frames = engine_.options().frames;
            loopInput(frames);
            engine_.audioThreadRender(out_.data(), channels_, in_.data(), inputs_, frames);
            const auto cost = threadCpuTime() - cpuBefore;
            if (opts_.recorder != nullptr)
                opts_.recorder->audioThreadPushPlanar(out_.data(), channels_, frames,
                                                      recordScratch_.data());
            const auto ready = Clock::now();
            bump(wakeups_);
            const auto late = woke - slot;
            if (late.count() > 0) {
                const auto ns = static_cast<uint64_t>(
                    std::chrono::duration_cast<std::chrono::nanoseconds>(late).count());
                if (ns > worstLateNs_.load(std::memory_order_relaxed))
                    worstLateNs_.store(ns, std::memory_order_relaxed);
            }
            if (ready > slot + period) {
                if (cost > period)
                    engine_.audioThreadAddXruns(1);
                else
                    bump(lateWakeups_);
            }
            slot += period;
            // More than a block behind the next slot: a device would have skipped ahead.
            if (ready > slot + period) slot = ready;
            std::this_thread::sleep_until(slot);
        }
        if (opts_.onAudioThreadEnd != nullptr) opts_.onAudioThreadEnd();
    }

    /// Audio thread: the next `frames` of the looped input into in_ (a copy: the loop wraps).
    void loopInput(uint32_t frames) noexcept {
        if (inputs_ == 0) return;
        const InputAudio& a = *opts_.input;
        const uint64_t length = a.frames();
        for (uint32_t f = 0; f < frames; ++f) {
            for (uint32_t k = 0; k < inputs_; ++k) in_[k][f] = a.channels[k][inPos_];
            if (++inPos_ == length) inPos_ = 0;
        }
    }

    Engine& engine_;
    BackendOptions opts_;
    uint32_t channels_;
    std::vector<float> block_;         ///< planar, channels_ buffers of a block
    std::vector<float*> out_;          ///< into block_
    std::vector<float> recordScratch_; ///< a block interleaved for the recorder
    uint32_t inputs_ = 0;
    std::vector<float> inBlock_; ///< planar: this block's looped input
    std::vector<float*> in_;
    uint64_t inPos_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> wakeups_{0}, lateWakeups_{0}, worstLateNs_{0};
    std::thread thread_;
};

} // namespace

std::unique_ptr<AudioBackend> makeNullBackend(Engine& engine, const BackendOptions& options) {
    return std::make_unique<NullBackend>(engine, options);
}

} // namespace chronus

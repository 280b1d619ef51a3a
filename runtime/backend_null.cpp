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
#include <vector>

namespace chronus {

namespace {

class NullBackend final : public AudioBackend {
public:
    NullBackend(Engine& engine, const BackendOptions& o)
        : engine_(engine), opts_(o), block_(engine.options().frames) {}
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
        return fmt::format("null (clock-paced), {} Hz, {} frames", engine_.options().sampleRate,
                           engine_.options().frames);
    }

private:
    /// The audio thread: sleeps to each block's deadline, renders, records.
    void run() {
        // Real-time priority where allowed (as a JACK or ALSA callback thread would have); a
        // refusal only means late wake-ups are likelier, and those are counted as xruns.
        sched_param sp{};
        sp.sched_priority = std::min(70, sched_get_priority_max(SCHED_FIFO));
        (void)pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
        if (opts_.onAudioThreadStart != nullptr) opts_.onAudioThreadStart();
        using Clock = std::chrono::steady_clock;
        const auto period =
            std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                double(engine_.options().frames) / double(engine_.options().sampleRate)));
        auto next = Clock::now();
        while (!stop_.load(std::memory_order_relaxed)) {
            engine_.audioThreadRender(block_.data(), static_cast<uint32_t>(block_.size()));
            if (opts_.recorder != nullptr)
                opts_.recorder->audioThreadPush(block_.data(),
                                                static_cast<uint32_t>(block_.size()));
            next += period;
            const auto now = Clock::now();
            if (now > next + period) { // a whole block late: the device would have run dry
                engine_.audioThreadAddXruns(1);
                next = now;
            }
            std::this_thread::sleep_until(next);
        }
        if (opts_.onAudioThreadEnd != nullptr) opts_.onAudioThreadEnd();
    }

    Engine& engine_;
    BackendOptions opts_;
    std::vector<float> block_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

} // namespace

std::unique_ptr<AudioBackend> makeNullBackend(Engine& engine, const BackendOptions& options) {
    return std::make_unique<NullBackend>(engine, options);
}

} // namespace chronus

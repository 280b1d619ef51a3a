#include "runtime/backend_offline.h"

#include "runtime/engine.h"
#include "runtime/recorder.h"

#include <algorithm>
#include <chrono>
#include <fmt/format.h>

namespace chronus {

OfflineBackend::OfflineBackend(Engine& engine, const BackendOptions& options)
    : engine_(engine), opts_(options), block_(engine.options().frames) {}

OfflineBackend::~OfflineBackend() {
    stop();
}

void OfflineBackend::render(float* out, uint64_t frames) {
    if (!started_) {
        started_ = true;
        if (opts_.onAudioThreadStart != nullptr) opts_.onAudioThreadStart();
    }
    while (frames > 0) {
        const auto n = static_cast<uint32_t>(std::min<uint64_t>(frames, block_.size()));
        if (sinkFailed_) { // nothing more can be kept: skip to the end
            position_ += frames;
            return;
        }
        float* dst = out != nullptr ? out : block_.data();
        engine_.audioThreadRender(dst, n);
        if (opts_.recorder != nullptr) opts_.recorder->pushWaiting(dst, n);
        if (sink_ && !sink_(dst, n)) sinkFailed_ = true;
        if (out != nullptr) out += n;
        frames -= n;
        position_ += n;
    }
}

bool OfflineBackend::waitForCommit(uint64_t seq, double timeoutMs) {
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double, std::milli>(timeoutMs));
    // The compile takes most of the wait and needs nothing from here; the handshakes after it
    // (state snapshot, swap) want a prompt block boundary. So the poll starts at 50 us and backs
    // off to 1 ms: a fixed 50 us woke this thread 20,000 times a second of compile, and the
    // wake-ups cost a cold 16-voice render more CPU than its O2 compile.
    auto pause = std::chrono::microseconds(50);
    while (!engine_.commitSettled(seq)) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        engine_.audioThreadService();
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(1000));
    }
    return true;
}

Status OfflineBackend::start() {
    if (thread_.joinable()) return {};
    stop_.store(false);
    done_.store(false);
    thread_ = std::thread([this] {
        while (!stop_.load(std::memory_order_relaxed) &&
               (opts_.maxSamples == 0 || position_ < opts_.maxSamples)) {
            uint64_t n = block_.size();
            if (opts_.maxSamples != 0) n = std::min(n, opts_.maxSamples - position_);
            render(nullptr, n);
        }
        if (opts_.onAudioThreadEnd != nullptr) opts_.onAudioThreadEnd();
        done_.store(true);
    });
    return {};
}

void OfflineBackend::stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
}

bool OfflineBackend::running() const {
    return thread_.joinable() && !done_.load() && !stop_.load();
}

std::string OfflineBackend::describe() const {
    return fmt::format("offline (as fast as possible), {} Hz, {} frames",
                       engine_.options().sampleRate, engine_.options().frames);
}

} // namespace chronus

#include "runtime/backend_offline.h"

#include "runtime/engine.h"
#include "runtime/recorder.h"

#include <algorithm>
#include <chrono>
#include <fmt/format.h>

namespace chronus {

OfflineBackend::OfflineBackend(Engine& engine, const BackendOptions& options)
    : engine_(engine), opts_(options), channels_(std::max<uint32_t>(options.channels, 1)),
      frames_(engine.options().frames), block_(std::size_t{frames_} * channels_) {
    for (uint32_t c = 0; c < channels_; ++c)
        out_.push_back(block_.data() + std::size_t{c} * frames_);
    if (channels_ > 1) interleaved_.assign(block_.size(), 0.0f);
    if (options.recorder != nullptr)
        recordScratch_.assign(std::size_t{frames_} * options.recorder->channels(), 0.0f);
    if (opts_.input != nullptr) {
        inputs_ = static_cast<uint32_t>(opts_.input->channels.size());
        inBlock_.assign(std::size_t{frames_} * inputs_, 0.0f);
        for (uint32_t k = 0; k < inputs_; ++k)
            in_.push_back(inBlock_.data() + std::size_t{k} * frames_);
    }
}

OfflineBackend::~OfflineBackend() {
    stop();
}

void OfflineBackend::render(float* out, uint64_t frames) {
    if (!started_) {
        started_ = true;
        if (opts_.onAudioThreadStart != nullptr) opts_.onAudioThreadStart();
    }
    while (frames > 0) {
        const auto n = static_cast<uint32_t>(std::min<uint64_t>(frames, frames_));
        if (sinkFailed_) { // nothing more can be kept: skip to the end
            position_ += frames;
            return;
        }
        // This block of the input, silence past its end.
        for (uint32_t k = 0; k < inputs_; ++k) {
            const std::vector<float>& src = opts_.input->channels[k];
            for (uint32_t f = 0; f < n; ++f)
                in_[k][f] = position_ + f < src.size() ? src[position_ + f] : 0.0f;
        }
        const float* dst = nullptr;
        float* mono = out != nullptr ? out : block_.data();
        float* const monoOut[1] = {mono};
        float* const* planar = channels_ == 1 ? monoOut : out_.data();
        engine_.audioThreadRender(planar, channels_, in_.data(), inputs_, n);
        if (channels_ == 1) {
            dst = mono;
        } else {
            float* inter = out != nullptr ? out : interleaved_.data();
            for (uint32_t f = 0; f < n; ++f)
                for (uint32_t c = 0; c < channels_; ++c) inter[f * channels_ + c] = out_[c][f];
            dst = inter;
        }
        if (opts_.recorder != nullptr)
            opts_.recorder->audioThreadPushPlanar(planar, channels_, n, recordScratch_.data(),
                                                  /*wait=*/true);
        if (sink_ && !sink_(dst, n)) sinkFailed_ = true;
        if (out != nullptr) out += std::size_t{n} * channels_;
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
            uint64_t n = frames_;
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
    return fmt::format("offline (as fast as possible), {}{} Hz, {} frames",
                       channels_ > 1 ? fmt::format("{} channels, ", channels_) : "",
                       engine_.options().sampleRate, engine_.options().frames);
}

} // namespace chronus

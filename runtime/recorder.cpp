#include "runtime/recorder.h"

#include <algorithm>
#include <chrono>
#include <vector>

namespace chronus {

Expected<std::unique_ptr<Recorder>> Recorder::create(const std::string& path, float sampleRate,
                                                     WavFormat format, double bufferSeconds,
                                                     uint32_t channels) {
    channels = std::max<uint32_t>(channels, 1);
    auto wav =
        WavWriter::create(path, static_cast<int>(sampleRate), static_cast<int>(channels), format);
    if (!wav) return wav.error();
    const auto capacity = static_cast<std::size_t>(bufferSeconds * double(sampleRate)) * channels;
    std::unique_ptr<Recorder> r(new Recorder(wav.take(), path, capacity, channels));
    r->writer_ = std::thread([p = r.get()] { p->writerLoop(); });
    return r;
}

std::unique_ptr<Recorder> Recorder::createSink(Sink sink, float sampleRate, double bufferSeconds) {
    const auto capacity = static_cast<std::size_t>(bufferSeconds * double(sampleRate));
    std::unique_ptr<Recorder> r(new Recorder(WavWriter{}, "", capacity, 1));
    r->sink_ = std::move(sink);
    r->writer_ = std::thread([p = r.get()] { p->writerLoop(); });
    return r;
}

Recorder::Recorder(WavWriter wav, std::string path, std::size_t capacity, uint32_t channels)
    : wav_(std::move(wav)), path_(std::move(path)), channels_(channels), ring_(capacity) {}

Recorder::~Recorder() {
    (void)finish();
}

bool Recorder::audioThreadPush(const float* samples, uint32_t frames) noexcept {
    if (ring_.tryPushAll(samples, std::size_t{frames} * channels_)) return true;
    dropped_.store(dropped_.load(std::memory_order_relaxed) + frames, std::memory_order_relaxed);
    return false;
}

void Recorder::pushWaiting(const float* samples, uint32_t frames) {
    const auto most = std::max<uint32_t>(static_cast<uint32_t>(ring_.capacity() / 2 / channels_),
                                         1); // frames per push
    while (frames > 0) {
        const uint32_t n = std::min(frames, most);
        while (!ring_.tryPushAll(samples, std::size_t{n} * channels_))
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        samples += std::size_t{n} * channels_;
        frames -= n;
    }
}

bool Recorder::audioThreadPushPlanar(const float* const* planar, uint32_t channels, uint32_t frames,
                                     float* scratch, bool wait) noexcept {
    const float* samples = planar[0];
    if (channels_ > 1 || channels == 0) {
        for (uint32_t f = 0; f < frames; ++f)
            for (uint32_t c = 0; c < channels_; ++c)
                scratch[f * channels_ + c] = c < channels ? planar[c][f] : 0.0f;
        samples = scratch;
    }
    if (!wait) return audioThreadPush(samples, frames);
    pushWaiting(samples, frames);
    return true;
}

Status Recorder::drain() {
    // A multiple of the channel count: the ring holds whole frames, so every pop is whole frames.
    std::vector<float> chunk(std::size_t{4096} * channels_);
    for (;;) {
        const std::size_t n = ring_.popInto(chunk.data(), chunk.size());
        if (n == 0) return {};
        const std::size_t frames = n / channels_;
        if (sink_)
            sink_(chunk.data(), n);
        else if (Status s = wav_.write(chunk.data(), frames); !s)
            return s;
        written_.fetch_add(frames, std::memory_order_relaxed);
    }
}

void Recorder::writerLoop() {
    while (!stop_.load(std::memory_order_acquire)) {
        if (Status s = drain(); !s) {
            writeError_ = s;
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

Status Recorder::finish() {
    if (finished_) return writeError_;
    finished_ = true;
    stop_.store(true, std::memory_order_release);
    if (writer_.joinable()) writer_.join();
    if (writeError_.ok()) writeError_ = drain();
    if (Status s = wav_.close(); !s && writeError_.ok()) writeError_ = s;
    return writeError_;
}

} // namespace chronus

#include "runtime/recorder.h"

#include <chrono>
#include <vector>

namespace chronus {

Expected<std::unique_ptr<Recorder>> Recorder::create(const std::string& path, float sampleRate,
                                                     WavFormat format, double bufferSeconds) {
    auto wav = WavWriter::create(path, static_cast<int>(sampleRate), 1, format);
    if (!wav) return wav.error();
    const auto capacity = static_cast<std::size_t>(bufferSeconds * double(sampleRate));
    std::unique_ptr<Recorder> r(new Recorder(wav.take(), path, capacity));
    r->writer_ = std::thread([p = r.get()] { p->writerLoop(); });
    return r;
}

std::unique_ptr<Recorder> Recorder::createSink(Sink sink, float sampleRate, double bufferSeconds) {
    const auto capacity = static_cast<std::size_t>(bufferSeconds * double(sampleRate));
    std::unique_ptr<Recorder> r(new Recorder(WavWriter{}, "", capacity));
    r->sink_ = std::move(sink);
    r->writer_ = std::thread([p = r.get()] { p->writerLoop(); });
    return r;
}

Recorder::Recorder(WavWriter wav, std::string path, std::size_t capacity)
    : wav_(std::move(wav)), path_(std::move(path)), ring_(capacity) {}

Recorder::~Recorder() {
    (void)finish();
}

bool Recorder::audioThreadPush(const float* samples, uint32_t frames) noexcept {
    if (ring_.tryPushAll(samples, frames)) return true;
    dropped_.store(dropped_.load(std::memory_order_relaxed) + frames, std::memory_order_relaxed);
    return false;
}

void Recorder::pushWaiting(const float* samples, uint32_t frames) {
    while (frames > 0) {
        const uint32_t n = std::min<uint32_t>(frames, static_cast<uint32_t>(ring_.capacity() / 2));
        while (!ring_.tryPushAll(samples, n))
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        samples += n;
        frames -= n;
    }
}

Status Recorder::drain() {
    std::vector<float> chunk(8192);
    for (;;) {
        const std::size_t n = ring_.popInto(chunk.data(), chunk.size());
        if (n == 0) return {};
        if (sink_)
            sink_(chunk.data(), n);
        else if (Status s = wav_.write(chunk.data(), n); !s)
            return s;
        written_.fetch_add(n, std::memory_order_relaxed);
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

// `--record OUT.wav`: captures what the audio callback produced, written off the audio thread.
// The callback pushes into a preallocated SPSC ring; a writer thread drains it into the file.
// A full ring drops the block and counts it (never blocks the audio thread).
#pragma once

#include "base/expected.h"
#include "runtime/spsc_ring.h"
#include "runtime/wav_file.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace chronus {

class Recorder {
public:
    /// Control thread: opens `path` (`channels` interleaved, in `format`: 32-bit float unless
    /// told) and starts the writer thread. The ring holds `bufferSeconds` of audio.
    static Expected<std::unique_ptr<Recorder>> create(const std::string& path, float sampleRate,
                                                      WavFormat format = WavFormat::float32,
                                                      double bufferSeconds = 4.0,
                                                      uint32_t channels = 1);
    /// Receives the recorded audio instead of a file: called on the writer thread with each chunk
    /// drained from the ring, in order (`chronus soak` analyses the output this way).
    using Sink = std::function<void(const float* samples, std::size_t count)>;
    /// Control thread: like create(), but hands the audio to `sink` instead of writing a file.
    static std::unique_ptr<Recorder> createSink(Sink sink, float sampleRate,
                                                double bufferSeconds = 4.0);
    ~Recorder();

    /// Audio thread; wait-free. `frames` frames of channels() interleaved samples. False (and
    /// counted as dropped) when the ring has no room.
    bool audioThreadPush(const float* samples, uint32_t frames) noexcept;
    /// Offline drivers: like audioThreadPush, but waits for room instead of dropping.
    void pushWaiting(const float* samples, uint32_t frames);
    /// Audio thread; wait-free. A block of `channels` planar buffers (a device's), recorded as
    /// channels() interleaved: channel k from planar[k], silence where the block has none.
    /// `scratch` holds frames * channels() floats. `wait`: pushWaiting (offline drivers).
    bool audioThreadPushPlanar(const float* const* planar, uint32_t channels, uint32_t frames,
                               float* scratch, bool wait = false) noexcept;
    uint32_t channels() const { return channels_; }

    /// Control thread, after the backend stopped: writes what is left and closes the file.
    Status finish();

    /// Frames (of every channel).
    uint64_t droppedFrames() const { return dropped_.load(std::memory_order_relaxed); }
    uint64_t writtenFrames() const { return written_.load(std::memory_order_relaxed); }
    const std::string& path() const { return path_; }

private:
    Recorder(WavWriter wav, std::string path, std::size_t capacity, uint32_t channels);
    void writerLoop();
    Status drain();

    WavWriter wav_;
    Sink sink_; ///< set: the audio goes here, not to wav_
    std::string path_;
    uint32_t channels_ = 1;
    SpscRing<float> ring_; ///< whole frames only (every push is)
    std::atomic<uint64_t> dropped_{0}, written_{0};
    std::atomic<bool> stop_{false};
    Status writeError_;
    bool finished_ = false;
    std::thread writer_;
};

} // namespace chronus

// The offline backend: runs the engine's callback as fast as possible, deterministically. Driven
// synchronously (render(), waitForCommit()) by `chronus render` and the tests, or on its own
// thread by `serve --device offline`.
#pragma once

#include "runtime/backend.h"

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

namespace chronus {

class OfflineBackend final : public AudioBackend {
public:
    OfflineBackend(Engine& engine, const BackendOptions& options);
    ~OfflineBackend() override;

    /// Renders `frames` samples in blocks of the engine's frame count (the last may be shorter)
    /// into `out` (channels() interleaved per frame; may be null: rendered and recorded only).
    /// The caller is the audio thread. Audio in (options.input) plays from sample 0 once.
    void render(float* out, uint64_t frames);
    uint32_t channels() const { return channels_; }

    /// Drives the block boundary (no audio rendered) until commit `seq` is reported, so that its
    /// swap lands exactly at the current sample. False after `timeoutMs`.
    bool waitForCommit(uint64_t seq, double timeoutMs = 600'000);

    uint64_t position() const { return position_; }

    /// Receives every block as it is rendered (channels() interleaved) (a streaming render writes
    /// its file here); false stops it: from then on render() only advances the position, so whoever
    /// drives it finishes at once, and sinkFailed() says so.
    using Sink = std::function<bool(const float* samples, uint32_t frames)>;
    void setSink(Sink sink) { sink_ = std::move(sink); }
    bool sinkFailed() const { return sinkFailed_; }

    // Threaded use (serve): renders until stop() or options.maxSamples.
    Status start() override;
    void stop() override;
    bool running() const override;
    std::string describe() const override;

private:
    Engine& engine_;
    BackendOptions opts_;
    uint32_t channels_;
    uint32_t frames_;                  ///< the engine's block
    std::vector<float> block_;         ///< planar, channels_ buffers of frames_
    std::vector<float*> out_;          ///< into block_
    std::vector<float> interleaved_;   ///< a block interleaved, when channels_ > 1
    std::vector<float> recordScratch_; ///< a block interleaved for the recorder
    uint32_t inputs_ = 0;
    std::vector<float> inBlock_; ///< planar: this block's input
    std::vector<float*> in_;
    uint64_t position_ = 0;
    bool started_ = false; ///< onAudioThreadStart called
    Sink sink_;
    bool sinkFailed_ = false;
    std::atomic<bool> stop_{false}, done_{false};
    std::thread thread_;
};

} // namespace chronus

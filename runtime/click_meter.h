// Clicks at swaps, measured on the audio the engine played (`chronus soak`): the largest
// sample-to-sample jump in a window around each swap, against the largest jump anywhere else
// (the steady state). Also counts dropouts (stretches of digital silence once sound started) and
// non-finite samples. Streaming and bounded: audio arrives in order on one thread (the recorder's
// writer), swap positions on another (the control thread), possibly later than the audio they
// refer to; a stretch of audio is judged once every swap that could touch it is known.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

namespace chronus {

struct ClickMeterOptions {
    uint32_t before = 256;         ///< samples before a swap that belong to its window
    uint32_t after = 1024;         ///< samples from a swap on that belong to its window
    uint32_t dropoutSamples = 480; ///< this many samples in a row at |x| < silence: a dropout
    float silence = 1e-6f;
    double clickRatio = 1.5;          ///< a swap jump above ratio x the steady maximum is a click
    std::size_t historySeconds = 20;  ///< audio that may wait for its swaps (at 48 kHz)
    std::size_t expectedSwaps = 1024; ///< reserved up front, so memory stays flat
};

struct ClickReport {
    uint64_t samples = 0;       ///< audio analysed
    uint64_t swaps = 0;         ///< swaps whose window was analysed
    uint64_t clicks = 0;        ///< swaps whose jump exceeded clickRatio x steadyMax
    double steadyMax = 0;       ///< largest jump outside every swap window
    uint64_t steadySamples = 0; ///< audio outside every swap window (the reference's basis)
    double worstSwapJump = 0;   ///< largest jump inside a swap window
    uint64_t worstSwapSample = 0;
    std::vector<uint64_t> clickSamples; ///< the first few clicks' swap positions
    uint64_t dropouts = 0;
    uint64_t nonFinite = 0;
    uint64_t overflowed = 0; ///< samples that could not wait for their swaps (judged steady)
    double worstRatio() const { return steadyMax > 0 ? worstSwapJump / steadyMax : 0; }
};

class ClickMeter {
public:
    ClickMeter(float sampleRate, const ClickMeterOptions& options = {});

    /// Control thread: swap positions, in increasing order.
    void addSwap(uint64_t sample);
    /// Control thread: every swap before engine sample `position` has been added.
    void knownUpTo(uint64_t position);
    /// Audio consumer thread: the next `n` samples (engine samples counted from 0).
    void audio(const float* x, std::size_t n);
    /// After the last audio and swaps: judges what is left and reports.
    ClickReport finish();

private:
    static constexpr uint32_t kSegment = 16; ///< jumps are kept as one maximum per 16 samples
    void judge(uint64_t limit);              ///< judges whole segments ending at or before `limit`

    const ClickMeterOptions opts_;
    std::mutex mutex_;
    /// A swap whose window is not judged to its end yet, and the largest jump seen in it so far.
    struct PendingSwap {
        uint64_t at = 0;
        double max = 0;
    };
    void close(const PendingSwap& p); ///< records a swap as judged
    // Swaps not yet judged (control thread adds, the judge drops them once past).
    std::deque<PendingSwap> pending_;
    uint64_t known_ = 0;
    // Segment maxima not yet judged: a ring indexed by segment number.
    std::unique_ptr<float[]> ring_;
    std::size_t ringSize_;
    uint64_t received_ = 0; ///< samples received
    uint64_t judged_ = 0;   ///< segments judged
    float last_ = 0;        ///< the previous sample (jumps span audio() calls)
    float segMax_ = 0;      ///< the segment being filled
    uint64_t silentRun_ = 0;
    bool sounded_ = false;
    // Results.
    std::vector<double> swapJumps_;
    std::vector<uint64_t> swapAt_;
    ClickReport report_;
};

} // namespace chronus

// Clicks, measured as the second difference |x[n] - 2 x[n-1] + x[n-2]|: how far a sample leaves
// the straight line through the two before it. A step or a kink in the signal is a spike there,
// while a sine of amplitude A at w radians per sample never reads more than 2A(1 - cos w) ~ A w²,
// so the measure is steady on any smooth signal and jumps at a discontinuity of the signal or of
// its slope (a first difference misses a kink and grows with the signal's frequency alone).
//
// Two forms:
// - measureClickAt: one event in a rendered signal, against the steady state on both sides of it
//   (the tests' click checks).
// - ClickMeter: every swap of a running engine, streaming, on the audio it played (`chronus
//   soak`): the largest second difference in a window around each swap against the largest
//   anywhere else (the steady state). A swap with nothing but silence before it starts the first
//   sound: that onset is the patch's (a tone without an envelope starts where it starts), so it
//   is counted apart and not judged. Also counts dropouts (stretches of digital silence once
//   sound started) and non-finite samples. Bounded: audio arrives in order on one thread (the
//   recorder's writer), swap positions on another (the control thread), possibly later than the
//   audio they refer to; a stretch of audio is judged once every swap that could touch it is
//   known.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

namespace chronus {

/// Where measureClickAt looks, in samples.
struct ClickWindows {
    uint32_t before = 256;  ///< the event's window starts this far before it (a block: a swap lands
                            ///< at a block boundary)
    uint32_t after = 1024;  ///< ... and ends this far after it (a 10 ms crossfade and more)
    uint32_t steady = 4800; ///< the steady state: this much on either side of the window
};

/// One event's click: the largest second difference in its window and the steady state's on
/// either side.
struct EventClick {
    uint64_t at = 0;
    double peak = 0;         ///< largest second difference in [at - before, at + after)
    double steadyBefore = 0; ///< largest in the `steady` samples before the window
    double steadyAfter = 0;  ///< largest in the `steady` samples after it
    /// peak against the louder side's steady state (a click is what neither side does on its own).
    double ratio() const;
};

/// |x[i] - 2 x[i-1] + x[i-2]| for i >= 2.
inline double secondDifference(std::span<const float> x, std::size_t i) {
    const double d = double(x[i]) - 2.0 * double(x[i - 1]) + double(x[i - 2]);
    return d < 0 ? -d : d;
}

/// The click at sample `at` of `x` (windows cut at the signal's ends).
EventClick measureClickAt(std::span<const float> x, uint64_t at, const ClickWindows& w = {});

struct ClickMeterOptions {
    uint32_t before = 256;         ///< samples before a swap that belong to its window
    uint32_t after = 1024;         ///< samples from a swap on that belong to its window
    uint32_t dropoutSamples = 480; ///< this many samples in a row at |x| < silence: a dropout
    float silence = 1e-6f;
    double clickRatio = 3;            ///< a swap's peak above ratio x the steady maximum: a click
    std::size_t historySeconds = 20;  ///< audio that may wait for its swaps (at 48 kHz)
    std::size_t expectedSwaps = 1024; ///< reserved up front, so memory stays flat
};

struct ClickReport {
    uint64_t samples = 0;       ///< audio analysed
    uint64_t swaps = 0;         ///< swaps whose window was analysed
    uint64_t onsets = 0;        ///< swaps from silence into the first sound (not judged)
    uint64_t clicks = 0;        ///< swaps whose peak exceeded clickRatio x steadyMax
    double steadyMax = 0;       ///< largest second difference outside every swap window
    uint64_t steadySamples = 0; ///< audio outside every swap window (the reference's basis)
    double worstSwapPeak = 0;   ///< largest second difference inside a swap window
    uint64_t worstSwapSample = 0;
    std::vector<uint64_t> clickSamples; ///< the first few clicks' swap positions
    uint64_t dropouts = 0;
    uint64_t nonFinite = 0;
    uint64_t overflowed = 0; ///< samples that could not wait for their swaps (judged steady)
    double worstRatio() const { return steadyMax > 0 ? worstSwapPeak / steadyMax : 0; }
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
    static constexpr uint32_t kSegment = 16; ///< peaks are kept as one maximum per 16 samples
    void judge(uint64_t limit);              ///< judges whole segments ending at or before `limit`

    const ClickMeterOptions opts_;
    std::mutex mutex_;
    /// A swap whose window is not judged to its end yet, and the largest peak seen in it so far.
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
    float last_ = 0;        ///< the previous sample (second differences span audio() calls)
    float beforeLast_ = 0;  ///< the one before it
    float segMax_ = 0;      ///< the segment being filled
    uint64_t silentRun_ = 0;
    bool sounded_ = false;
    uint64_t firstSound_ = std::numeric_limits<uint64_t>::max(); ///< sample of the first sound
    // Results.
    std::vector<double> swapPeaks_;
    std::vector<uint64_t> swapAt_;
    ClickReport report_;
};

} // namespace chronus

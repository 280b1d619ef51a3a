// The last check before the speaker. A parameter write inside its documented range can make a
// stable patch unstable (a feedback loop's gain above 1, a chain of gains into a resonant
// filter), and the commit-time warm-up cannot see it coming. So every block the callback is about
// to hand to the device is checked: a non-finite sample, or a peak above kRunawayPeak, silences
// that block, and the patch's state is reset so that it recovers once the parameter is sane again.
//
// After a trip the output stays silent for a hold-off (50 ms, doubling while the patch keeps
// tripping, up to 1 s; back to 50 ms after a second without one), rendering on but muted; then
// the state is reset (at most once per hold-off, since a reset costs as much as the state is
// large) and the output fades in over one block. A parameter written during a hold-off ends it
// early, once 50 ms have passed: the write may be the fix. So a patch that stays unstable is heard
// as silence, never as bursts, and costs at most one reset a second while nothing changes.
#pragma once

#include <atomic>
#include <cstdint>

namespace chronus {

enum class GuardCause : uint32_t { none = 0, nonFinite = 1, runaway = 2 };
/// "", "non-finite" or "runaway".
const char* guardCauseName(GuardCause cause);

class OutputGuard {
public:
    explicit OutputGuard(float sampleRate);

    /// What the caller does with the slots that played the block.
    struct Verdict {
        bool poison = false; ///< the block was bad: its slots' state is not to be trusted
        bool reset = false;  ///< the hold-off is over: reset the poisoned slots' state now
    };
    /// Audio thread; wait-free, allocation-free, O(frames). Checks (and, when bad or held off,
    /// silences or fades in) the block `out` about to be played, which began at engine sample
    /// `sample` while commit `seq` played; `writes` counts the parameter writes made so far.
    Verdict audioThreadCheck(float* out, uint32_t frames, uint64_t sample, uint64_t seq,
                             uint64_t writes) noexcept {
        float* const outs[1] = {out};
        return audioThreadCheck(outs, 1, frames, sample, seq, writes);
    }
    /// The same for a block of `channels` planar buffers: one bad sample on any channel trips
    /// the guard for all of them (every channel is silenced, held off and faded in together).
    Verdict audioThreadCheck(float* const* out, uint32_t channels, uint32_t frames, uint64_t sample,
                             uint64_t seq, uint64_t writes) noexcept;
    /// Audio thread; wait-free: a slot with fresh state (nothing poisoned carried into it) now
    /// plays, so a hold-off in progress ends and the next block fades in.
    void audioThreadFreshSlot() noexcept;

    // ---- any thread (counters) ---------------------------------------------------------------
    uint64_t trips() const noexcept { return trips_.load(std::memory_order_acquire); }
    GuardCause lastCause() const noexcept {
        return static_cast<GuardCause>(lastCause_.load(std::memory_order_relaxed));
    }
    uint64_t lastSeq() const noexcept { return lastSeq_.load(std::memory_order_relaxed); }
    uint64_t lastSample() const noexcept { return lastSample_.load(std::memory_order_relaxed); }

private:
    const uint64_t minHoldoff_, maxHoldoff_, calm_; ///< in samples

    // Audio thread only.
    uint64_t holdoff_ = 0; ///< samples still to silence
    uint64_t held_ = 0;    ///< samples silenced in this hold-off so far
    uint64_t writesAtTrip_ = 0;
    uint64_t backoff_;   ///< the next hold-off's length
    uint64_t clean_ = 0; ///< samples played clean since the last hold-off ended
    bool fadeIn_ = false;

    // Written by the audio thread (the details first, then the count that publishes them).
    std::atomic<uint32_t> lastCause_{0};
    std::atomic<uint64_t> trips_{0}, lastSeq_{0}, lastSample_{0};
};

} // namespace chronus

// The one clock of live MIDI: every event is stamped with the monotonic clock when the input
// callback receives it, and the audio thread reads the same clock when its block starts, so it
// can place each event at a frame with a constant delay of one block (no jitter beyond the
// stamp's own). The clock is steady_clock: CLOCK_MONOTONIC on Linux, a vDSO read, no system call.
// It is not JACK's clock: Debian 12's jack2 stamps frames with CLOCK_MONOTONIC_RAW (measured
// 0.2 s apart on this machine), so never compare a JACK frame time with these stamps.
#pragma once

#include <chrono>
#include <cstdint>

namespace chronus::midi {

/// Any thread, the audio thread included; wait-free. Nanoseconds on the monotonic clock.
inline uint64_t monotonicNowNs() noexcept {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

/// Audio thread; wait-free. The frame of a block of `frames` at `sampleRate` at which an event
/// received at `eventNs` plays, for a block whose callback started at `blockStartNs`: events are
/// delayed by exactly one block, so the block covers those received in
/// [blockStartNs - blockDuration, blockStartNs) and keeps their spacing. Earlier ones (a late
/// callback) play at frame 0; later ones (drain them next block) at the last frame.
inline uint32_t audioThreadFrameInBlock(uint64_t eventNs, uint64_t blockStartNs, uint32_t frames,
                                        double sampleRate) noexcept {
    if (frames == 0) return 0;
    const double blockNs = 1e9 * frames / sampleRate;
    const double sinceWindow = double(int64_t(eventNs - blockStartNs)) + blockNs;
    if (!(sinceWindow > 0)) return 0;
    const double frame = sinceWindow * sampleRate / 1e9 + 0.5; // to the nearest frame
    return frame >= frames - 1 ? frames - 1 : static_cast<uint32_t>(frame);
}

} // namespace chronus::midi

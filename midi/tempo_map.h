// Ticks to seconds for a Standard MIDI File: metrical time (ticks per quarter note, with tempo
// changes) or SMPTE time (frames per second and ticks per frame, where tempo does not apply).
#pragma once

#include <cstdint>
#include <vector>

namespace chronus::midi {

/// A Set Tempo meta event: from `tick` on, a quarter note lasts `microsPerQuarter`.
struct TempoChange {
    uint64_t tick = 0;
    uint32_t microsPerQuarter = 500'000;
};

/// The MIDI file default before any Set Tempo: 120 beats per minute.
inline constexpr uint32_t kDefaultMicrosPerQuarter = 500'000;

class TempoMap {
public:
    /// Metrical time. `changes` in any order; at equal ticks the last one listed wins. A change
    /// at tick > 0 leaves the default tempo before it.
    static TempoMap metrical(uint16_t ticksPerQuarter, std::vector<TempoChange> changes);
    /// SMPTE time: `framesPerSecond` is 24, 25, 29 (29.97, drop-frame) or 30.
    static TempoMap smpte(int framesPerSecond, uint8_t ticksPerFrame);

    /// Seconds from the start of the file to `tick`. Exact up to one rounding to double: each
    /// segment is summed in integer tick-microseconds before the one division.
    double secondsAt(uint64_t tick) const;

    bool isSmpte() const { return smpteTicksPerSecondNum_ != 0; }
    /// The tempo segments in effect, in tick order (empty for SMPTE time).
    const std::vector<TempoChange>& changes() const { return segments_; }

private:
    uint32_t ticksPerQuarter_ = 480;
    std::vector<TempoChange> segments_;     // first at tick 0
    std::vector<unsigned __int128> starts_; // per segment: sum of earlier ticks * microsPerQuarter
    // SMPTE: seconds = tick * den / num.
    uint64_t smpteTicksPerSecondNum_ = 0, smpteTicksPerSecondDen_ = 1;
};

} // namespace chronus::midi

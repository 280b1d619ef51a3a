// OSC timetags and the engine's sample clock.
//
// Mapping (used for bundles whose timetag lies in the future): when a bundle arrives the server
// reads the engine's sample position P (EngineStatus::samplePosition: samples rendered so far,
// i.e. the first sample of the next block) and, right after, the wall clock `now` as an OSC/NTP
// timetag. An event stamped T is applied at engine sample
//
//     P + round((T - now) * sampleRate)
//
// so the next block to render stands for "now". The mapping is re-read for every bundle; the
// position is only updated once per block, so it is exact to the sample relative to the block
// clock and within one block (plus network transit) of the wall clock, which is why clients stamp
// bundles a little ahead (scsynth's convention: now + latency, e.g. 0.1 s). Timetags at or before
// `now`, and the special "immediately" timetag (0, 1), apply at once.
#pragma once

#include <cstdint>
#include <optional>

namespace chronus::osc {

/// An OSC timetag: seconds since 1900-01-01 (NTP era 0) and a 2^-32 s fraction.
struct Timetag {
    uint32_t sec = 0;
    uint32_t frac = 1;
    bool immediate() const { return sec == 0; }
    bool operator==(const Timetag&) const = default;
};

/// The wall clock as a timetag.
Timetag timetagNow();

/// a - b in seconds.
double timetagDiff(Timetag a, Timetag b);

/// The engine sample at which an event stamped `when` happens, or nothing if it is due now (not in
/// the future). See the mapping above.
std::optional<uint64_t> timetagToSample(Timetag when, Timetag now, uint64_t samplePosition,
                                        float sampleRate);

} // namespace chronus::osc

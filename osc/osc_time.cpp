#include "osc/osc_time.h"

#include <cmath>
#include <lo/lo.h>

namespace chronus::osc {

Timetag timetagNow() {
    lo_timetag t;
    lo_timetag_now(&t);
    return {t.sec, t.frac};
}

double timetagDiff(Timetag a, Timetag b) {
    return (static_cast<double>(a.sec) - static_cast<double>(b.sec)) +
           (static_cast<double>(a.frac) - static_cast<double>(b.frac)) * 0x1p-32;
}

std::optional<uint64_t> timetagToSample(Timetag when, Timetag now, uint64_t samplePosition,
                                        float sampleRate) {
    if (when.immediate()) return std::nullopt;
    const double ahead = timetagDiff(when, now);
    if (!(ahead > 0)) return std::nullopt;
    const double samples = std::round(ahead * static_cast<double>(sampleRate));
    if (!(samples >= 1)) return std::nullopt; // less than half a sample ahead: now
    return samplePosition + static_cast<uint64_t>(samples);
}

} // namespace chronus::osc

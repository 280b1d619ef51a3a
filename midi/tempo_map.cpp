#include "midi/tempo_map.h"

#include <algorithm>

namespace chronus::midi {

TempoMap TempoMap::metrical(uint16_t ticksPerQuarter, std::vector<TempoChange> changes) {
    TempoMap map;
    map.ticksPerQuarter_ = ticksPerQuarter == 0 ? 1 : ticksPerQuarter;
    // In tick order, equal ticks in the order given (std::stable_sort would do, but libstdc++ 12's
    // uses get_temporary_buffer, deprecated and so an error under -Werror with clang 19).
    std::vector<std::size_t> order(changes.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return changes[a].tick != changes[b].tick ? changes[a].tick < changes[b].tick : a < b;
    });
    map.segments_.push_back({0, kDefaultMicrosPerQuarter});
    for (std::size_t i : order) {
        const TempoChange& c = changes[i];
        if (c.tick == map.segments_.back().tick)
            map.segments_.back().microsPerQuarter = c.microsPerQuarter; // the last one wins
        else
            map.segments_.push_back(c);
    }
    map.starts_.resize(map.segments_.size());
    unsigned __int128 sum = 0;
    for (std::size_t i = 0; i < map.segments_.size(); ++i) {
        map.starts_[i] = sum;
        if (i + 1 < map.segments_.size())
            sum +=
                static_cast<unsigned __int128>(map.segments_[i + 1].tick - map.segments_[i].tick) *
                map.segments_[i].microsPerQuarter;
    }
    return map;
}

TempoMap TempoMap::smpte(int framesPerSecond, uint8_t ticksPerFrame) {
    TempoMap map;
    const uint64_t tpf = ticksPerFrame == 0 ? 1 : ticksPerFrame;
    if (framesPerSecond == 29) { // 29.97 frames per second: 30000 / 1001
        map.smpteTicksPerSecondNum_ = 30000 * tpf;
        map.smpteTicksPerSecondDen_ = 1001;
    } else {
        map.smpteTicksPerSecondNum_ = uint64_t(framesPerSecond > 0 ? framesPerSecond : 30) * tpf;
        map.smpteTicksPerSecondDen_ = 1;
    }
    return map;
}

double TempoMap::secondsAt(uint64_t tick) const {
    if (isSmpte()) {
        const auto num = static_cast<unsigned __int128>(tick) * smpteTicksPerSecondDen_;
        return static_cast<double>(num) / static_cast<double>(smpteTicksPerSecondNum_);
    }
    // The last segment starting at or before `tick`.
    auto it = std::upper_bound(segments_.begin(), segments_.end(), tick,
                               [](uint64_t t, const TempoChange& c) { return t < c.tick; });
    const auto i = static_cast<std::size_t>(it - segments_.begin()) - 1;
    const unsigned __int128 tickMicros =
        starts_[i] +
        static_cast<unsigned __int128>(tick - segments_[i].tick) * segments_[i].microsPerQuarter;
    return static_cast<double>(tickMicros) / (1e6 * ticksPerQuarter_);
}

} // namespace chronus::midi

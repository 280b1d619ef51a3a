#include "runtime/state_layout.h"

#include "compiler/schedule.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace chronus {

namespace {

/// Instance memory starts 16-byte aligned (schedule.cpp lays nodes out so).
constexpr uint32_t kAlign = 16;

uint64_t alignUp(uint64_t v) {
    return (v + kAlign - 1) / kAlign * kAlign;
}

struct Range {
    uint64_t begin = 0, end = 0;
};

} // namespace

bool keepSurvivorsInPlace(Schedule& next, const Schedule& playing, std::size_t capacity) {
    // What the playing layout occupies, in address order.
    std::vector<Range> used;
    used.reserve(playing.nodes.size());
    for (const ScheduledNode& n : playing.nodes)
        if (n.stateBytes > 0)
            used.push_back({n.stateOffset, uint64_t{n.stateOffset} + n.stateBytes});
    std::sort(used.begin(), used.end(), [](Range a, Range b) { return a.begin < b.begin; });

    std::vector<uint64_t> offsets(next.nodes.size(), UINT64_MAX);
    bool anySurvivor = false;
    for (std::size_t i = 0; i < next.nodes.size(); ++i) {
        const ScheduledNode& n = next.nodes[i];
        const ScheduledNode* o = playing.find(n.id);
        if (o != nullptr && o->desc == n.desc && o->stateBytes == n.stateBytes &&
            n.stateBytes > 0) {
            offsets[i] = o->stateOffset;
            anySurvivor = true;
        }
    }
    if (!anySurvivor) return false;

    // The gaps between what plays (and after it); new nodes fill them first-fit, largest first so
    // that a long delay line does not end up after many small modules' crumbs.
    std::vector<Range> gaps;
    uint64_t cursor = 0;
    for (Range r : used) {
        if (r.begin > cursor) gaps.push_back({cursor, r.begin});
        cursor = std::max(cursor, r.end);
    }
    gaps.push_back({alignUp(cursor), UINT64_MAX});
    std::vector<std::size_t> fresh;
    for (std::size_t i = 0; i < next.nodes.size(); ++i)
        if (offsets[i] == UINT64_MAX) fresh.push_back(i);
    std::sort(fresh.begin(), fresh.end(), [&](std::size_t a, std::size_t b) {
        const uint32_t x = next.nodes[a].stateBytes, y = next.nodes[b].stateBytes;
        return x != y ? x > y : a < b;
    });
    for (std::size_t i : fresh) {
        const uint64_t bytes = next.nodes[i].stateBytes;
        for (Range& g : gaps) {
            const uint64_t at = alignUp(g.begin);
            if (at + bytes > g.end) continue;
            offsets[i] = at;
            g.begin = at + bytes;
            break;
        }
    }

    uint64_t extent = 0;
    for (std::size_t i = 0; i < next.nodes.size(); ++i)
        extent = std::max(extent, offsets[i] + next.nodes[i].stateBytes);
    if (extent > capacity || extent > UINT32_MAX) return false;
    for (std::size_t i = 0; i < next.nodes.size(); ++i) {
        ScheduledNode& n = next.nodes[i];
        const uint32_t inside = n.kernelStateOffset - n.stateOffset;
        n.stateOffset = static_cast<uint32_t>(offsets[i]);
        n.kernelStateOffset = n.stateOffset + inside;
    }
    next.stateBytes = static_cast<uint32_t>(extent);
    return true;
}

} // namespace chronus

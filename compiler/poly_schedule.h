// What the audio thread's voice allocator needs of each poly, resolved against a schedule: per
// voice, the parameters a note writes, its fader, and the modules that say when it is idle.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace chronus {

class PatchGraph;
struct Schedule;

/// A parameter of a node: where a note's pitch, gate or velocity goes.
struct VoiceTarget {
    uint32_t node = 0;    ///< into Schedule::nodes
    uint32_t param = 0;   ///< into that node's layout params
    float lo = 0, hi = 1; ///< velocity's range
};

struct ScheduledVoice {
    std::vector<VoiceTarget> pitch, gate, velocity;
    uint32_t fader = 0;         ///< node of the voice's fader (its `gate` fades it out and in)
    std::vector<uint32_t> idle; ///< nodes whose descriptor has an idle hook
};

struct SchedulePoly {
    std::string id;
    std::vector<ScheduledVoice> voices;
};

/// The polys of `graph`, against `schedule` (built from it: every node id is there).
std::vector<SchedulePoly> schedulePolys(const PatchGraph& graph, const Schedule& schedule);

} // namespace chronus

// Fusion groups: the schedule cut into pieces that each run as one per-sample loop with every
// kernel inlined (signals in registers), joined by block buffers. Groups are keyed by shape
// (module types and kernels, layout, wiring, sample rate and smoothing; not parameter values nor
// creation arguments, which reach the code only through layout and state) so that each distinct
// shape is compiled once and called by every group of that shape with its own parameter and state
// pointers.
// No LLVM here: the plan is plain data, testable on its own.
#pragma once

#include "compiler/schedule.h"

#include <cstdint>
#include <string>
#include <vector>

namespace chronus::jit {

/// One group instance. Its nodes run in schedule order inside one per-sample loop.
struct FusionGroup {
    std::vector<uint32_t> nodes;    ///< schedule node indices, ascending
    std::vector<SignalRef> inputs;  ///< signals of other groups it reads, in first-use order
    std::vector<SignalRef> exports; ///< its signals that others (or the output) read; ascending
    uint32_t shape = 0;             ///< index into FusionPlan::shapes
};

/// A distinct group shape: compiled once per program into one function.
struct FusionShape {
    std::string key;       ///< canonical text of types, kernels, layout and wiring
    uint32_t exemplar = 0; ///< first group of this shape; the lowering reads its structure
    uint32_t instances = 0;
};

struct FusionPlan {
    /// In execution order: every group after those it reads, instances of a shape next to each
    /// other where the dependencies allow.
    std::vector<FusionGroup> groups;
    std::vector<FusionShape> shapes;  ///< in first-use order
    std::vector<SignalRef> buffers;   ///< block buffer b carries signal buffers[b]
    std::vector<uint32_t> tapBuffers; ///< buffer of each schedule output tap, in tap order

    /// Block buffer that carries `s`, or -1.
    int64_t bufferOf(SignalRef s) const;
};

/// Cuts `schedule` into groups. Deterministic: the same schedule always gives the same plan.
/// Rules: a feedback stage stays in one group; an edge joins its ends when its source has no
/// other consumer and its destination no other producer; then the same rule between groups, where
/// a shared source (a group feeding several others, like an LFO read by every voice) does not
/// count, until nothing changes; finally groups that would depend on each other in a cycle are
/// merged. So summing points (a mixer of voices) and shared sources become group boundaries.
FusionPlan planFusion(const Schedule& schedule);

} // namespace chronus::jit

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
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace chronus::jit {

/// A block buffer a group reads from other groups: one signal, or the sum of several. A kernel
/// `in` slot whose leading sources all come from other groups (voices into a mixer, many LFOs
/// into one cutoff) reads them as one summed input: the render plan adds them up into a buffer of
/// its own, in the slot's source order, before the group runs; how many there are is in no shape
/// key and no generated code.
struct GroupInput {
    std::vector<SignalRef> signals;      ///< one: read as it is; more: summed in this order
    std::vector<uint32_t> signalBuffers; ///< the block buffer of each of `signals`
    bool summed() const { return signals.size() > 1; }
};

/// A slot of one of the group's nodes whose first `sources` sources come summed in group input
/// `input`; its other sources (the first of them from inside the group) are added in code after
/// it, in order, so the sum is the one schedule.h defines, bit for bit.
struct SummedSlot {
    uint32_t node = 0; ///< schedule node index
    uint32_t slot = 0; ///< kernel `in` slot
    uint32_t input = 0;
    uint32_t sources = 0;
};

/// What a slot of a node adds up, as the group's code sees it: the summed input (-1: none), then
/// `rest` of the slot's sources, in order.
struct SlotSources {
    int64_t summedInput = -1;
    std::span<const SignalRef> rest;
    bool empty() const { return summedInput < 0 && rest.empty(); }
};

/// The group input `k` as a signal the lowering reads like any other (SamplePath::signal): the
/// node index no schedule has, and the input's index.
constexpr uint32_t kGroupInputNode = UINT32_MAX;
inline SignalRef groupInputSignal(uint32_t k) {
    return {kGroupInputNode, k};
}

/// One group instance. Its nodes run in schedule order inside one per-sample loop.
struct FusionGroup {
    std::vector<uint32_t> nodes;        ///< schedule node indices, ascending
    std::vector<GroupInput> inputs;     ///< what it reads from other groups, in first-use order
    std::vector<SummedSlot> summed;     ///< its slots that read a summed input
    std::vector<SignalRef> exports;     ///< its signals that others (or the output) read; ascending
    std::vector<uint32_t> inputBuffers; ///< block buffer of each input
    std::vector<uint32_t> exportBuffers; ///< block buffer of each export
    uint32_t shape = 0;                  ///< index into FusionPlan::shapes

    /// The input that carries signal `s` alone, or -1.
    int64_t inputOf(SignalRef s) const;
    /// What slot `slot` of schedule node `v` (one of the group's) adds up, of `sources` (its
    /// schedule sources).
    SlotSources slotSources(uint32_t v, uint32_t slot, std::span<const SignalRef> sources) const;
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
    std::vector<FusionShape> shapes; ///< in first-use order
    /// Block buffer b < buffers.size() carries signal buffers[b] (an export); the summed inputs'
    /// buffers follow them.
    std::vector<SignalRef> buffers;
    uint32_t bufferCount = 0;         ///< exports and summed inputs
    std::vector<uint32_t> tapBuffers; ///< buffer of each schedule output tap, in tap order

    /// Block buffer that carries export `s`, or -1.
    int64_t bufferOf(SignalRef s) const;
    std::unordered_map<uint64_t, uint32_t> bufferIndex; ///< (node << 32 | output) -> buffer

    /// Groups are cut after this many nodes (never inside a feedback stage): compile time and
    /// memory then grow linearly with a patch, however long its chains.
    static constexpr uint32_t kMaxGroupNodes = 48;
};

/// Cuts `schedule` into groups. Deterministic: the same schedule always gives the same plan.
/// Rules: a feedback stage stays in one group; an edge joins its ends when its source has no
/// other consumer and its destination no other producer; then the same rule between groups, where
/// a shared source (a group feeding several others, like an LFO read by every voice) does not
/// count, until nothing changes; finally groups that would depend on each other in a cycle are
/// merged; groups longer than kMaxGroupNodes are cut. So summing points (a mixer of voices) and
/// shared sources become group boundaries.
FusionPlan planFusion(const Schedule& schedule);

} // namespace chronus::jit

// The one graph walk: validated order, memory layout and wiring of a patch, consumed alike by the
// interpreter and the JIT lowering, so both run the same program.
//
// Semantics both engines implement exactly (per module, per parameter p):
//   once per block:  target = params[paramIndex + p]        (relaxed atomic load)
//   every sample:    s = smoothed ? s + smoothingCoef * (target - s) : target
//                    in[inputs + p] = clamp(s + sum(sources), min, max)   (fmin(fmax(v, min), max))
// Audio input i reads the sum of its sources, in `sources` order, or its unconnectedValue.
// Per sample, modules with delayed outputs emit first, then every module ticks in node order.
// The output sample is the sum of `outputTaps` in order (0 with none); a patch of several
// channels sums each channel's taps (Schedule::channelTaps) into its own buffer.
//
// Channels. A patch is mono (one channel: each `output`'s `out`, or with no `output` the first
// output of every module that feeds nothing) unless some `output` has `left` or `right`
// connected or sits at a channel above 1 (its creation argument), or, with no `output`, a module
// that feeds nothing has outputs `left` and `right` (a `pan` left at the end). Then it has as many
// channels as its highest output reaches: channel k sums, in node order, the `left` of every
// output at k and the `right` of every output at k - 1 (its `in` is in both); with no `output`,
// such a module's left is in channel 1 and its right in channel 2, any other's first output in
// both. A mono patch's taps are exactly what they were before channels existed.
//
// Audio in. Each `input` node (ModuleDescriptor::isAudioInput) reads one channel of the render
// call's input (Schedule::inputs); before each block the engine points its state at that
// channel's samples for the block (audioThreadPointInputs), or at nothing (silence).
//
// Engines may take a shortcut that changes no bit: when every smoothed parameter of a node is at
// its smoother's fixed point (s + coef * (target - s) == s), s is the same for every sample of
// the block, so unmodulated parameters are computed once; and a node that canPrepare() then runs
// its kernel's prepare once and process per sample instead of tick (module_abi.h).
#pragma once

#include "base/expected.h"
#include "compiler/poly_schedule.h"
#include "modules/descriptor.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chronus {

class ParamBlock;

class PatchGraph;

/// Output `output` of scheduled node `node`.
struct SignalRef {
    uint32_t node = 0;
    uint32_t output = 0;
    bool operator==(const SignalRef&) const = default;
};

struct ScheduledNode {
    std::string id;
    const ModuleDescriptor* desc = nullptr;
    /// Shared with the PatchGraph's module (immutable): copying a schedule copies no layouts.
    std::shared_ptr<const ModuleLayout> layout;
    InstanceConfig config;
    uint32_t paramIndex = 0;        ///< first of layout.params.size() targets in the param array
    uint32_t stateOffset = 0;       ///< instance memory: one smoother float per parameter, ...
    uint32_t kernelStateOffset = 0; ///< ... then the kernel's state, 16-byte aligned
    uint32_t stateBytes = 0;        ///< the whole instance memory
    std::vector<std::vector<SignalRef>> sources; ///< per kernel `in` slot: signals summed into it
    std::vector<float> initialParams;            ///< targets when the schedule was built

    bool hasDelayedOutput() const { return desc->emit != nullptr; }
    /// The kernel has prepare/process and none of its `prepared` parameters is modulated.
    bool canPrepare() const {
        if (!desc->hasPrepare()) return false;
        for (uint32_t p = 0; p < paramCount(); ++p)
            if (layout->params[p].desc.prepared && !sources[inputCount() + p].empty()) return false;
        return true;
    }
    uint32_t inputCount() const { return static_cast<uint32_t>(layout->inputs.size()); }
    uint32_t paramCount() const { return static_cast<uint32_t>(layout->params.size()); }
    uint32_t outputCount() const { return static_cast<uint32_t>(layout->outputs.size()); }
};

/// A contiguous run of nodes. A feedback stage is a loop closed through delayed outputs and must
/// run sample by sample; any other stage is one node and may run a block at a time.
struct Stage {
    uint32_t first = 0;
    uint32_t count = 0;
    bool feedback = false;
};

struct ScheduleOptions {
    float sampleRate = 48000;
    float smoothingMs = 10; ///< time constant of parameter smoothing
};

/// An `input` node and the channel of audio in it reads (0-based).
struct AudioInputRef {
    uint32_t node = 0;
    uint32_t channel = 0;
};

/// Most channels a patch has (an `output` at channel 15 has its right on 16).
inline constexpr uint32_t kMaxChannels = 16;

struct Schedule {
    std::vector<ScheduledNode> nodes; ///< topological; edges from delayed outputs ignored
    std::vector<Stage> stages;        ///< in order; covers `nodes`
    /// Every channel's taps, channel 0's first, then channel 1's, ... (see channelTaps).
    std::vector<SignalRef> outputTaps;
    /// Where each channel's taps start in outputTaps, and one past the last: channels + 1
    /// entries. Empty (a schedule built by hand) is one channel of every tap.
    std::vector<uint32_t> channelFirstTap;
    std::vector<AudioInputRef> inputs; ///< the `input` nodes, in node order
    uint32_t paramCount = 0;
    uint32_t stateBytes = 0;
    float sampleRate = 48000;
    float smoothingCoef = 1; ///< per-sample one-pole coefficient, from ScheduleOptions
    std::unordered_map<std::string, uint32_t> byId; ///< node index of each id (find)
    std::vector<SchedulePoly> polys; ///< the voice allocator's view (compiler/poly_schedule.h)
    KernelContext context() const { return {sampleRate, 1.0f / sampleRate}; }

    uint32_t channelCount() const {
        return channelFirstTap.empty() ? 1 : static_cast<uint32_t>(channelFirstTap.size() - 1);
    }
    /// Channel `c`'s taps: [first, end) into outputTaps.
    uint32_t channelTapBegin(uint32_t c) const {
        return channelFirstTap.empty() ? 0 : channelFirstTap[c];
    }
    uint32_t channelTapEnd(uint32_t c) const {
        return channelFirstTap.empty() ? static_cast<uint32_t>(outputTaps.size())
                                       : channelFirstTap[c + 1];
    }

    const ScheduledNode* find(std::string_view id) const;
};

/// Orders, lays out and wires `graph`. Fails only on a graph the edit checks should have refused.
Expected<Schedule> buildSchedule(const PatchGraph& graph, const ScheduleOptions& options = {});

/// The channels a graph's program has (the rule above), without scheduling it: what `chronus
/// render` sizes its file by.
uint32_t outputChannelCount(const PatchGraph& graph);

/// Audio thread; wait-free. Points every `input` node's state at its channel of `in` (`inputs`
/// planar buffers, each read from `offset` on), or at nothing where the channel is missing:
/// what every engine does before each block it renders.
void audioThreadPointInputs(const Schedule& schedule, std::byte* state, const float* const* in,
                            uint32_t inputs, uint32_t offset) noexcept;

/// Control thread: initialises every instance's memory (smoothers at their initial targets, then
/// the kernel's init). `state` must hold schedule.stateBytes, 16-byte aligned.
void initState(const Schedule& schedule, std::byte* state);
/// Any thread: every parameter target at the value the schedule starts it at.
void initParams(const Schedule& schedule, ParamBlock& params);
void initNodeState(const ScheduledNode& node, std::byte* state);

} // namespace chronus

// The one graph walk: validated order, memory layout and wiring of a patch, consumed alike by the
// interpreter and the JIT lowering, so both run the same program.
//
// Semantics both engines implement exactly (per module, per parameter p):
//   once per block:  target = params[paramIndex + p]        (relaxed atomic load)
//   every sample:    s = smoothed ? s + smoothingCoef * (target - s) : target
//                    in[inputs + p] = clamp(s + sum(sources), min, max)   (fmin(fmax(v, min), max))
// Audio input i reads the sum of its sources, in `sources` order, or its unconnectedValue.
// Per sample, modules with delayed outputs emit first, then every module ticks in node order.
// The output sample is the sum of `outputTaps` in order (0 with none).
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

struct Schedule {
    std::vector<ScheduledNode> nodes; ///< topological; edges from delayed outputs ignored
    std::vector<Stage> stages;        ///< in order; covers `nodes`
    std::vector<SignalRef> outputTaps;
    uint32_t paramCount = 0;
    uint32_t stateBytes = 0;
    float sampleRate = 48000;
    float smoothingCoef = 1; ///< per-sample one-pole coefficient, from ScheduleOptions
    std::unordered_map<std::string, uint32_t> byId; ///< node index of each id (find)
    std::vector<SchedulePoly> polys; ///< the voice allocator's view (compiler/poly_schedule.h)
    KernelContext context() const { return {sampleRate, 1.0f / sampleRate}; }

    const ScheduledNode* find(std::string_view id) const;
};

/// Orders, lays out and wires `graph`. Fails only on a graph the edit checks should have refused.
Expected<Schedule> buildSchedule(const PatchGraph& graph, const ScheduleOptions& options = {});

/// Control thread: initialises every instance's memory (smoothers at their initial targets, then
/// the kernel's init). `state` must hold schedule.stateBytes, 16-byte aligned.
void initState(const Schedule& schedule, std::byte* state);
/// Any thread: every parameter target at the value the schedule starts it at.
void initParams(const Schedule& schedule, ParamBlock& params);
void initNodeState(const ScheduledNode& node, std::byte* state);

} // namespace chronus

// pan: one signal placed between two channels, equal-power. With x = (pos + 1) / 8 turns, i.e. an
// angle of (pos + 1) * pi / 4: left = in * cos, right = in * sin. pos -1 is hard left (right
// exactly 0), 1 hard right (left exactly 0), 0 the centre at cos(pi/4) = -3.01 dB on each side, so
// the power left^2 + right^2 is the input's at every position. `pos` is smoothed (no zipper noise
// when it moves) and may be modulated (an LFO: auto-pan). Sine and cosine are dsp::sin2pi (no libm,
// error below 1e-6: > 120 dB of separation at the hard positions).
#include "modules/dsp_math.h"
#include "modules/module_abi.h"

namespace {
enum In { kIn, kPos };
} // namespace

CHRONUS_KERNEL void chronus_pan_tick(void*, const float* CHRONUS_RESTRICT in,
                                     float* CHRONUS_RESTRICT out, const chronus::KernelContext*) {
    const float turn = (in[kPos] + 1.0f) * 0.125f; // [0, 0.25]
    out[0] = in[kIn] * chronus::dsp::sin2pi(turn + 0.25f);
    out[1] = in[kIn] * chronus::dsp::sin2pi(turn);
}

#ifndef CHRONUS_BITCODE
#include "modules/block_loop.h"
#include "modules/descriptor.h"

namespace chronus {
namespace {
constexpr std::string_view kAliases[] = {"panner"};
constexpr PortDesc kInputs[] = {{.name = "in"}};
constexpr PortDesc kOutputs[] = {{.name = "left"}, {.name = "right"}};
constexpr ParamDesc kParams[] = {
    {.name = "pos",
     .defaultValue = 0,
     .minValue = -1,
     .maxValue = 1,
     .unit = "",
     .doc = "-1 hard left, 0 centre (-3 dB each side), 1 hard right; equal power"},
};
} // namespace

extern const ModuleDescriptor kPan = {
    .type = "pan",
    .order = 16,
    .aliases = kAliases,
    .summary = "equal-power panner: in to left and right (connect them to output:left/right)",
    .inputs = kInputs,
    .outputs = kOutputs,
    .params = kParams,
    .kernel = "pan",
    .stateSize = [](const InstanceConfig&) -> std::size_t { return 0; },
    .init = [](void*, const InstanceConfig&, const float*) {},
    .tick = chronus_pan_tick,
    .block = blockLoop<chronus_pan_tick>,
};
} // namespace chronus
#endif

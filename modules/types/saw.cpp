// saw: a band-limited sawtooth (rising ramp, PolyBLEP-corrected drop) at `freq` Hz scaled by
// `gain`. Starts at 0, mid-drop, like simple_sine.
#include "modules/dsp_math.h"
#include "modules/module_abi.h"

namespace {
struct SawState {
    float phase;
};
enum In { kFreq, kGain };
} // namespace

CHRONUS_KERNEL void chronus_saw_tick(void* CHRONUS_RESTRICT state, const float* CHRONUS_RESTRICT in,
                                     float* CHRONUS_RESTRICT out,
                                     const chronus::KernelContext* CHRONUS_RESTRICT ctx) {
    namespace dsp = chronus::dsp;
    auto* s = static_cast<SawState*>(state);
    float dt = in[kFreq] * ctx->invSampleRate;
    float p = s->phase;
    float naive = 2.0f * p - 1.0f;
    out[0] = (naive - dsp::polyBlep(p, dsp::blepWidth(dt))) * in[kGain];
    s->phase = dsp::wrap01(p + dt);
}

#ifndef CHRONUS_BITCODE
#include "modules/block_loop.h"
#include "modules/descriptor.h"

namespace chronus {
namespace {
constexpr PortDesc kOutputs[] = {{.name = "out"}};
constexpr ParamDesc kParams[] = {
    {.name = "freq",
     .defaultValue = 220,
     .minValue = -20000,
     .maxValue = 20000,
     .unit = "Hz",
     .doc = "frequency; negative runs the ramp backwards (through-zero FM)"},
    {.name = "gain", .defaultValue = 0.2f, .minValue = 0, .maxValue = 1, .unit = ""},
};
void init(void* state, const InstanceConfig&, const float*) {
    *static_cast<SawState*>(state) = {};
}
} // namespace

extern const ModuleDescriptor kSaw = {
    .type = "saw",
    .order = 2,
    .aliases = {},
    .summary = "band-limited sawtooth oscillator (PolyBLEP)",
    .inputs = {},
    .outputs = kOutputs,
    .params = kParams,
    .kernel = "saw",
    .stateSize = [](const InstanceConfig&) { return sizeof(SawState); },
    .init = init,
    .tick = chronus_saw_tick,
    .block = blockLoop<chronus_saw_tick>,
};
} // namespace chronus
#endif

// simple_sine: the seeds' oscillator. A sine at `freq` Hz scaled by `gain`; audio-rate modulation
// of `freq` is frequency modulation.
#include "modules/dsp_math.h"
#include "modules/module_abi.h"

namespace {
struct SineState {
    float phase;
};
enum In { kFreq, kGain };
} // namespace

CHRONUS_KERNEL void chronus_sine_tick(void* CHRONUS_RESTRICT state,
                                      const float* CHRONUS_RESTRICT in, float* CHRONUS_RESTRICT out,
                                      const chronus::KernelContext* CHRONUS_RESTRICT ctx) {
    auto* s = static_cast<SineState*>(state);
    out[0] = chronus::dsp::sin2pi(s->phase) * in[kGain];
    s->phase = chronus::dsp::wrap01(s->phase + in[kFreq] * ctx->invSampleRate);
}

#ifndef CHRONUS_BITCODE
#include "modules/block_loop.h"
#include "modules/descriptor.h"

namespace chronus {
namespace {
constexpr std::string_view kAliases[] = {"sine"};
constexpr PortDesc kOutputs[] = {{.name = "out"}};
constexpr ParamDesc kParams[] = {
    {.name = "freq",
     .defaultValue = 440,
     .minValue = -20000,
     .maxValue = 20000,
     .unit = "Hz",
     .doc = "frequency; negative runs the phase backwards (through-zero FM)"},
    {.name = "gain", .defaultValue = 0.2f, .minValue = 0, .maxValue = 1, .unit = ""},
};
void init(void* state, const InstanceConfig&, const float*) {
    *static_cast<SineState*>(state) = {};
}
} // namespace

extern const ModuleDescriptor kSimpleSine = {
    .type = "simple_sine",
    .order = 1,
    .aliases = kAliases,
    .summary = "sine oscillator",
    .inputs = {},
    .outputs = kOutputs,
    .params = kParams,
    .kernel = "sine",
    .stateSize = [](const InstanceConfig&) { return sizeof(SineState); },
    .init = init,
    .tick = chronus_sine_tick,
    .block = blockLoop<chronus_sine_tick>,
};
} // namespace chronus
#endif

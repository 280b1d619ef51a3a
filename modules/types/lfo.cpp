// lfo: a low-frequency modulation source, output = depth * wave. Every shape crosses 0 rising at
// phase 0 (sine phase), so switching shapes keeps the timing of the cycle. Not band-limited: it is
// meant for parameters, not for listening.
#include "modules/dsp_math.h"
#include "modules/module_abi.h"

namespace {
struct LfoState {
    float phase;
};
enum In { kFreq, kDepth, kShape };
enum Shape { kSine, kTriangle, kSaw, kSquare };
} // namespace

CHRONUS_KERNEL void chronus_lfo_tick(void* CHRONUS_RESTRICT state, const float* CHRONUS_RESTRICT in,
                                     float* CHRONUS_RESTRICT out,
                                     const chronus::KernelContext* CHRONUS_RESTRICT ctx) {
    namespace dsp = chronus::dsp;
    auto* s = static_cast<LfoState*>(state);
    float p = s->phase;
    float quarter = p + 0.25f;
    quarter = quarter >= 1.0f ? quarter - 1.0f : quarter;
    float half = p + 0.5f;
    half = half >= 1.0f ? half - 1.0f : half;
    float sine = dsp::sin2pi(p);
    float triangle = 1.0f - 4.0f * std::fabs(quarter - 0.5f);
    float saw = 2.0f * half - 1.0f;
    float square = p < 0.5f ? 1.0f : -1.0f;
    auto shape = static_cast<int>(in[kShape] + 0.5f);
    float wave = shape == kSine       ? sine
                 : shape == kTriangle ? triangle
                 : shape == kSaw      ? saw
                                      : square;
    out[0] = in[kDepth] * wave;
    s->phase = dsp::wrap01(p + in[kFreq] * ctx->invSampleRate);
}

#ifndef CHRONUS_BITCODE
#include "modules/block_loop.h"
#include "modules/descriptor.h"

namespace chronus {
namespace {
constexpr PortDesc kOutputs[] = {{.name = "out"}};
constexpr std::string_view kShapes[] = {"sine", "triangle", "saw", "square"};
constexpr ParamDesc kParams[] = {
    // Up to audio rate, so an lfo can also be an FM modulator.
    {.name = "freq", .defaultValue = 1, .minValue = 0, .maxValue = 2000, .unit = "Hz"},
    // Wide: depth is in the unit of whatever it modulates (Hz of a cutoff, ms of a delay).
    {.name = "depth",
     .defaultValue = 1,
     .minValue = -100000,
     .maxValue = 100000,
     .unit = "",
     .doc = "output amplitude, in the unit of the modulated parameter"},
    {.name = "shape",
     .defaultValue = 0,
     .minValue = 0,
     .maxValue = 3,
     .unit = "",
     .smoothed = false,
     .choices = kShapes},
};
void init(void* state, const InstanceConfig&, const float*) {
    *static_cast<LfoState*>(state) = {};
}
} // namespace

extern const ModuleDescriptor kLfo = {
    .type = "lfo",
    .order = 6,
    .aliases = {},
    .summary = "modulation source: depth * sine/triangle/saw/square",
    .inputs = {},
    .outputs = kOutputs,
    .params = kParams,
    .kernel = "lfo",
    .stateSize = [](const InstanceConfig&) { return sizeof(LfoState); },
    .init = init,
    .tick = chronus_lfo_tick,
    .block = blockLoop<chronus_lfo_tick>,
};
} // namespace chronus
#endif

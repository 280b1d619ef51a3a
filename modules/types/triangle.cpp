// triangle: a band-limited triangle in sine phase (0 rising at phase 0, +1 at 1/4, -1 at 3/4),
// its two corners rounded by PolyBLAMP.
#include "modules/dsp_math.h"
#include "modules/module_abi.h"

namespace {
struct TriangleState {
    float phase;
};
enum In { kFreq, kGain };
} // namespace

CHRONUS_KERNEL void chronus_triangle_tick(void* CHRONUS_RESTRICT state,
                                          const float* CHRONUS_RESTRICT in,
                                          float* CHRONUS_RESTRICT out,
                                          const chronus::KernelContext* CHRONUS_RESTRICT ctx) {
    namespace dsp = chronus::dsp;
    auto* s = static_cast<TriangleState*>(state);
    float dt = in[kFreq] * ctx->invSampleRate;
    float w = dsp::blepWidth(dt);
    float p = s->phase;
    float sinceTrough = p + 0.25f;
    sinceTrough = sinceTrough >= 1.0f ? sinceTrough - 1.0f : sinceTrough;
    float sincePeak = p + 0.75f;
    sincePeak = sincePeak >= 1.0f ? sincePeak - 1.0f : sincePeak;
    float naive = 1.0f - 4.0f * std::fabs(sinceTrough - 0.5f);
    // The slope changes by -8*dt per sample at the peak and by +8*dt at the trough.
    float corners = 4.0f * w * (dsp::polyBlamp(sinceTrough, w) - dsp::polyBlamp(sincePeak, w));
    out[0] = (naive + corners) * in[kGain];
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
     .doc = "frequency; negative runs the wave backwards (through-zero FM)"},
    {.name = "gain", .defaultValue = 0.2f, .minValue = 0, .maxValue = 1, .unit = ""},
};
void init(void* state, const InstanceConfig&, const float*) {
    *static_cast<TriangleState*>(state) = {};
}
} // namespace

extern const ModuleDescriptor kTriangle = {
    .type = "triangle",
    .order = 4,
    .aliases = {},
    .summary = "band-limited triangle oscillator (PolyBLAMP)",
    .inputs = {},
    .outputs = kOutputs,
    .params = kParams,
    .kernel = "triangle",
    .stateSize = [](const InstanceConfig&) { return sizeof(TriangleState); },
    .init = init,
    .tick = chronus_triangle_tick,
    .block = blockLoop<chronus_triangle_tick>,
};
} // namespace chronus
#endif

// square (pulse): a band-limited pulse wave, +1 for the first `width` of each cycle and -1 for the
// rest, both edges PolyBLEP-corrected; `width` 0.5 is a square. Starts at 0, mid-edge.
#include "modules/dsp_math.h"
#include "modules/module_abi.h"

namespace {
struct SquareState {
    float phase;
};
enum In { kFreq, kGain, kWidth };
} // namespace

CHRONUS_KERNEL void chronus_square_tick(void* CHRONUS_RESTRICT state,
                                        const float* CHRONUS_RESTRICT in,
                                        float* CHRONUS_RESTRICT out,
                                        const chronus::KernelContext* CHRONUS_RESTRICT ctx) {
    namespace dsp = chronus::dsp;
    auto* s = static_cast<SquareState*>(state);
    float dt = in[kFreq] * ctx->invSampleRate;
    float w = dsp::blepWidth(dt);
    float width = in[kWidth];
    float p = s->phase;
    float naive = p < width ? 1.0f : -1.0f;
    float sinceFall = p < width ? p - width + 1.0f : p - width; // phase since the falling edge
    // Rising step (+2) at phase 0 subtracts the saw-shaped residual; falling (-2) at `width` adds.
    out[0] = (naive + dsp::polyBlep(p, w) - dsp::polyBlep(sinceFall, w)) * in[kGain];
    s->phase = dsp::wrap01(p + dt);
}

#ifndef CHRONUS_BITCODE
#include "modules/block_loop.h"
#include "modules/descriptor.h"

namespace chronus {
namespace {
constexpr std::string_view kAliases[] = {"pulse"};
constexpr PortDesc kOutputs[] = {{.name = "out"}};
constexpr ParamDesc kParams[] = {
    {.name = "freq",
     .defaultValue = 220,
     .minValue = -20000,
     .maxValue = 20000,
     .unit = "Hz",
     .doc = "frequency; negative runs the wave backwards (through-zero FM)"},
    {.name = "gain", .defaultValue = 0.2f, .minValue = 0, .maxValue = 1, .unit = ""},
    // Kept off 0 and 1, where the pulse would vanish into DC.
    {.name = "width",
     .defaultValue = 0.5f,
     .minValue = 0.01f,
     .maxValue = 0.99f,
     .unit = "",
     .doc = "fraction of the cycle spent high (pulse width)"},
};
void init(void* state, const InstanceConfig&, const float*) {
    *static_cast<SquareState*>(state) = {};
}
} // namespace

extern const ModuleDescriptor kSquare = {
    .type = "square",
    .order = 3,
    .aliases = kAliases,
    .summary = "band-limited square/pulse oscillator with pulse width (PolyBLEP)",
    .inputs = {},
    .outputs = kOutputs,
    .params = kParams,
    .kernel = "square",
    .stateSize = [](const InstanceConfig&) { return sizeof(SquareState); },
    .init = init,
    .tick = chronus_square_tick,
    .block = blockLoop<chronus_square_tick>,
};
} // namespace chronus
#endif

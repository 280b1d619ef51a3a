// lfo: a low-frequency modulation source, output = depth * wave. Every shape crosses 0 rising at
// phase 0 (sine phase), so switching shapes keeps the timing of the cycle, and a switch
// crossfades from the old shape to the new one over dsp::kChoiceFadeMs (modules/choice_fade.h),
// so a modulated level does not step. Not band-limited: it is meant for parameters, not for
// listening (saw and square themselves jump once or twice a cycle).
#include "modules/choice_fade.h"
#include "modules/dsp_math.h"
#include "modules/module_abi.h"

namespace {
struct LfoState {
    float phase;
    float shape; ///< the shape playing (a whole number)
    float fade;  ///< progress of the last switch's crossfade, 1 when done
    /// The shape weights a switch left, less the new shape's one-hot (weighted by the fade).
    float dSine, dTriangle, dSaw, dSquare;
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
    // A switch starts a fade from the weights playing now (mid-fade too).
    auto playing = static_cast<int>(s->shape);
    bool change = shape != playing;
    float h = dsp::choiceFadeRemaining(s->fade);
    auto oneHot = [](int a, int b) { return a == b ? 1.0f : 0.0f; };
    s->dSine = change ? oneHot(playing, kSine) + h * s->dSine - oneHot(shape, kSine) : s->dSine;
    s->dTriangle = change ? oneHot(playing, kTriangle) + h * s->dTriangle - oneHot(shape, kTriangle)
                          : s->dTriangle;
    s->dSaw = change ? oneHot(playing, kSaw) + h * s->dSaw - oneHot(shape, kSaw) : s->dSaw;
    s->dSquare =
        change ? oneHot(playing, kSquare) + h * s->dSquare - oneHot(shape, kSquare) : s->dSquare;
    float fade = change ? 0.0f : s->fade;
    h = change ? 1.0f : h;
    float wave = shape == kSine       ? sine
                 : shape == kTriangle ? triangle
                 : shape == kSaw      ? saw
                                      : square;
    // Once the fade is done, h is 0 and the wave is exactly the shape's.
    float left = s->dSine * sine + s->dTriangle * triangle + s->dSaw * saw + s->dSquare * square;
    out[0] = in[kDepth] * (wave + h * left);
    s->shape = static_cast<float>(shape);
    s->fade = dsp::choiceFadeAdvance(fade, dsp::choiceFadeStep(ctx->invSampleRate));
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
     .choices = kShapes,
     .faded = true},
};
void init(void* state, const InstanceConfig&, const float* params) {
    auto* s = static_cast<LfoState*>(state);
    *s = {};
    s->shape = std::floor(params[kShape] + 0.5f); // plays its first shape at once
    s->fade = 1;
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

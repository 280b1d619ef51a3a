// biquad_filter: the RBJ Audio-EQ-Cookbook lowpass, highpass, bandpass (constant 0 dB peak gain)
// and notch: the cookbook's analog prototypes, bilinear-transformed with the cutoff prewarped.
// Realised as a trapezoidal state-variable filter (A. Simper, "Linear Trap SVF", 2013), which has
// exactly these transfer functions but, unlike the cookbook's direct forms, stays stable when the
// cutoff is modulated at audio rate: with cutoff swept over +-12 kHz at 500 Hz and q 40, DF-I and
// TDF-II ran away to inf in float; this stays below 20. Coefficients are cached and recomputed only
// when cutoff, q or mode change, with sin/cos from dsp::sin2pi (no libm). That is block-rate work
// (prepare) while the three are unmodulated and settled; per sample only the SVF runs (process).
// The four modes are mixes of one state (the input, band and low), so a mode change crossfades
// the mix coefficients from the old mode's to the new one's over dsp::kChoiceFadeMs
// (modules/choice_fade.h): the filter's state runs on, and the change does not click.
#include "modules/choice_fade.h"
#include "modules/dsp_math.h"
#include "modules/module_abi.h"

namespace {
struct BiquadState {
    float ic1, ic2;        ///< the two integrators' states (trapezoidal "equivalent currents")
    float cutoff, q, mode; ///< inputs the coefficients were computed for (cutoff < 0: none yet)
    float a1, a2, a3;      ///< SVF update
    float m0, m1, m2;      ///< the mode's mix: output = m0 * input + m1 * band + m2 * low
    float d0, d1, d2;      ///< the mix a mode change left, less m0..m2 (weighted by the fade)
    float fade;            ///< progress of the last mode change's crossfade, 1 when done
};
enum In { kIn, kCutoff, kQ, kMode };
enum Mode { kLowpass, kHighpass, kBandpass, kNotch };

/// Coefficients for these (unclamped) inputs, written to the cache in `s`.
inline void design(BiquadState* s, float cutoff, float q, float mode,
                   const chronus::KernelContext* ctx) {
    namespace dsp = chronus::dsp;
    // Below Nyquist with margin: at 0.5 * rate the prewarped cutoff is infinite.
    float fc = dsp::clampf(cutoff, 1.0f, 0.45f * ctx->sampleRate);
    float halfTurn = 0.5f * fc * ctx->invSampleRate;                 // (w0 / 2) / (2 pi)
    float g = dsp::sin2pi(halfTurn) / dsp::sin2pi(halfTurn + 0.25f); // tan(w0 / 2): the prewarp
    float k = 1.0f / q;
    s->a1 = 1.0f / (1.0f + g * (g + k));
    s->a2 = g * s->a1;
    s->a3 = g * s->a2;
    auto m = static_cast<int>(mode + 0.5f);
    // lp = low; hp = in - k band - low; bp = k band (0 dB at the cutoff); notch = in - k band.
    float m0 = m == kHighpass || m == kNotch ? 1.0f : 0.0f;
    float m1 = m == kLowpass ? 0.0f : m == kBandpass ? k : -k;
    float m2 = m == kLowpass ? 1.0f : m == kHighpass ? -1.0f : 0.0f;
    // A new mode (not the first design) fades from the mix playing now, even mid-fade; a new
    // cutoff or q alone moves the target and keeps the fade going.
    bool newMode = s->cutoff >= 0 && m != static_cast<int>(s->mode + 0.5f);
    float h = dsp::choiceFadeRemaining(s->fade);
    s->d0 = newMode ? s->m0 + h * s->d0 - m0 : s->d0;
    s->d1 = newMode ? s->m1 + h * s->d1 - m1 : s->d1;
    s->d2 = newMode ? s->m2 + h * s->d2 - m2 : s->d2;
    s->fade = newMode ? 0.0f : s->fade;
    s->m0 = m0;
    s->m1 = m1;
    s->m2 = m2;
    s->cutoff = cutoff;
    s->q = q;
    s->mode = mode;
}
} // namespace

/// Block rate while cutoff, q and mode are unmodulated and settled: the coefficients.
CHRONUS_KERNEL void chronus_biquad_prepare(void* CHRONUS_RESTRICT state,
                                           const float* CHRONUS_RESTRICT in,
                                           const chronus::KernelContext* CHRONUS_RESTRICT ctx) {
    auto* s = static_cast<BiquadState*>(state);
    float cutoff = in[kCutoff], q = in[kQ], mode = in[kMode];
    if (cutoff != s->cutoff || q != s->q || mode != s->mode) design(s, cutoff, q, mode, ctx);
}

/// Per sample: the SVF with the cached coefficients, its mix crossfading after a mode change.
CHRONUS_KERNEL void chronus_biquad_process(void* CHRONUS_RESTRICT state,
                                           const float* CHRONUS_RESTRICT in,
                                           float* CHRONUS_RESTRICT out,
                                           const chronus::KernelContext* CHRONUS_RESTRICT ctx) {
    namespace dsp = chronus::dsp;
    auto* s = static_cast<BiquadState*>(state);
    float x = in[kIn];
    float v3 = x - s->ic2;
    float band = s->a1 * s->ic1 + s->a2 * v3;
    float low = s->ic2 + s->a2 * s->ic1 + s->a3 * v3;
    s->ic1 = 2.0f * band - s->ic1;
    s->ic2 = 2.0f * low - s->ic2;
    // The mix is the mode's, plus what a mode change left while its fade runs. Once the fade is
    // done its weight h is exactly 0 and m + 0 * d == m, so skipping it changes no bit; the
    // branch stays untaken until the next mode change (the JIT's wide form computes both and
    // selects). Each side computes its own output, so only that one value meets after it.
    if (s->fade < 1.0f) {
        float h = dsp::choiceFadeRemaining(s->fade);
        float c0 = s->m0 + h * s->d0, c1 = s->m1 + h * s->d1, c2 = s->m2 + h * s->d2;
        out[0] = c0 * x + c1 * band + c2 * low;
        s->fade = dsp::choiceFadeAdvance(s->fade, dsp::choiceFadeStep(ctx->invSampleRate));
    } else {
        out[0] = s->m0 * x + s->m1 * band + s->m2 * low;
    }
}

/// Per sample with cutoff, q or mode modulated or still gliding: both. The cache compare keeps
/// the scalar path cheap when only another parameter moves; the JIT's vector form evaluates the
/// design for every lane and selects (docs/jit.md).
CHRONUS_KERNEL void chronus_biquad_tick(void* CHRONUS_RESTRICT state,
                                        const float* CHRONUS_RESTRICT in,
                                        float* CHRONUS_RESTRICT out,
                                        const chronus::KernelContext* CHRONUS_RESTRICT ctx) {
    chronus_biquad_prepare(state, in, ctx);
    chronus_biquad_process(state, in, out, ctx);
}

#ifndef CHRONUS_BITCODE
#include "modules/block_loop.h"
#include "modules/descriptor.h"

namespace chronus {
namespace {
constexpr std::string_view kAliases[] = {"biquad"};
constexpr PortDesc kInputs[] = {{.name = "in"}};
constexpr PortDesc kOutputs[] = {{.name = "out"}};
constexpr std::string_view kModes[] = {"lp", "hp", "bp", "notch"};
constexpr ParamDesc kParams[] = {
    {.name = "cutoff",
     .defaultValue = 1000,
     .minValue = 10,
     .maxValue = 20000,
     .unit = "Hz",
     .doc = "cutoff or centre frequency; held below 0.45 * sample rate",
     .prepared = true},
    {.name = "q",
     .defaultValue = 0.7071f,
     .minValue = 0.1f,
     .maxValue = 40,
     .unit = "",
     .doc = "resonance; 0.7071 is Butterworth",
     .prepared = true},
    {.name = "mode",
     .defaultValue = 0,
     .minValue = 0,
     .maxValue = 3,
     .unit = "",
     .smoothed = false,
     .choices = kModes,
     .prepared = true,
     .faded = true},
};
void init(void* state, const InstanceConfig&, const float*) {
    auto* s = static_cast<BiquadState*>(state);
    *s = {};
    s->cutoff = -1; // no coefficients yet: the first tick designs them
    s->fade = 1;    // and plays its mode at once
}
} // namespace

extern const ModuleDescriptor kBiquadFilter = {
    .type = "biquad_filter",
    .order = 8,
    .aliases = kAliases,
    .summary = "RBJ cookbook lowpass, highpass, bandpass (0 dB peak) or notch; modulation-safe",
    .inputs = kInputs,
    .outputs = kOutputs,
    .params = kParams,
    .kernel = "biquad",
    .stateSize = [](const InstanceConfig&) { return sizeof(BiquadState); },
    .init = init,
    .tick = chronus_biquad_tick,
    .block = blockLoop<chronus_biquad_tick>,
    .prepare = chronus_biquad_prepare,
    .process = chronus_biquad_process,
    .processBlock = blockLoop<chronus_biquad_process>,
};
} // namespace chronus
#endif

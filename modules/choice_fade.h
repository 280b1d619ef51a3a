// The crossfade a kernel runs when a discrete parameter changes (a choice: a filter's mode, an
// LFO's shape). Such a value cannot glide as a smoothed one does, halfway between two modes means
// nothing, so the kernel renders the choice it leaves and the one it takes together and moves
// from one to the other over kChoiceFadeMs. A kernel keeps what it leaves as weights (the mixing
// coefficients playing at the change, less the new choice's), so a change in the middle of a
// fade starts from exactly what plays. The curve is smoothstep, 3t^2 - 2t^3: like a raised
// cosine its slope is zero at both ends, so neither corner is a kink, and it costs three
// multiplies and no libm, so kernels stay branch-free and widen. Freestanding, like every kernel.
#pragma once

namespace chronus::dsp {

/// How long a choice's crossfade lasts.
inline constexpr float kChoiceFadeMs = 5;

/// The fade's progress per sample (1 is the whole fade).
inline float choiceFadeStep(float invSampleRate) {
    return invSampleRate * (1000.0f / kChoiceFadeMs);
}

/// The weight of the choice being left at progress `t` in [0, 1]: 1 at 0, exactly 0 at 1 (then
/// the kernel's output is the new choice's, bit for bit).
inline float choiceFadeRemaining(float t) {
    return 1.0f - t * t * (3.0f - 2.0f * t);
}

/// The progress one sample on, held at 1.
inline float choiceFadeAdvance(float t, float step) {
    float next = t + step;
    return next < 1.0f ? next : 1.0f;
}

} // namespace chronus::dsp

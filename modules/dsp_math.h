// Small numeric helpers for kernels: branch-free and libm-free where a cheap exact-enough form
// exists, so that fused voices vectorize. Freestanding, like every kernel.
#pragma once

#include <cmath>

namespace chronus::dsp {

inline constexpr float kPi = 3.14159265358979323846f;
inline constexpr float kTwoPi = 6.28318530717958647692f;

/// sin(2*pi*phase) for any finite phase. Folded to [-pi/2, pi/2] and evaluated with an odd
/// degree-11 Taylor polynomial: absolute error below 1e-6 (measured in test_dsp_math).
inline float sin2pi(float phase) {
    float x = phase - std::nearbyint(phase); // [-0.5, 0.5]
    float t = 2.0f * x;                      // sin(pi * t), t in [-1, 1]
    float folded = std::copysign(1.0f, t) - t;
    t = std::fabs(t) > 0.5f ? folded : t; // select, not a branch
    float z = kPi * t;
    float z2 = z * z;
    float p = -2.5052108385441718775e-8f;
    p = p * z2 + 2.7557319223985890653e-6f;
    p = p * z2 - 1.9841269841269841270e-4f;
    p = p * z2 + 8.3333333333333333333e-3f;
    p = p * z2 - 1.6666666666666666667e-1f;
    return z + z * z2 * p;
}

/// Wraps a phase into [0, 1).
inline float wrap01(float phase) {
    return phase - std::floor(phase);
}

inline float clampf(float v, float lo, float hi) {
    return std::fmin(std::fmax(v, lo), hi);
}

/// Width of the band-limiting corrections for a phase increment `dt` (cycles per sample): |dt|,
/// kept in [1e-6, 0.5] so the corrections never divide by zero or overlap. A negative increment
/// runs the waveform backwards, and the corrections below are then the same, so |dt| is right.
inline float blepWidth(float dt) {
    return clampf(std::fabs(dt), 1e-6f, 0.5f);
}

/// 2-point PolyBLEP residual: for a step of height h at phase 0, add h/2 * polyBlep(t, dt) (a
/// saw's drop, h = -2, subtracts it). `t` is the phase in [0, 1), `dt` the increment from
/// blepWidth(). Zero unless t is within one sample of the step.
inline float polyBlep(float t, float dt) {
    float inv = 1.0f / dt;
    float a = t * inv;          // samples since the step (t < dt)
    float b = (t - 1.0f) * inv; // samples until it, negative (t > 1 - dt)
    float after = a + a - a * a - 1.0f;
    float before = b * b + b + b + 1.0f;
    return t < dt ? after : (t > 1.0f - dt ? before : 0.0f);
}

/// 2-point PolyBLAMP residual (the integral of polyBlep, in samples): for a corner whose slope
/// changes by `d` per sample at phase 0, add d/2 * polyBlamp(t, dt). Symmetric in time.
inline float polyBlamp(float t, float dt) {
    float inv = 1.0f / dt;
    float a = t * inv - 1.0f;          // in [-1, 0) for t < dt
    float b = (t - 1.0f) * inv + 1.0f; // in (0, 1] for t > 1 - dt
    float after = a * a * a * (-1.0f / 3.0f);
    float before = b * b * b * (1.0f / 3.0f);
    return t < dt ? after : (t > 1.0f - dt ? before : 0.0f);
}

/// Milliseconds to samples; exact for whole results at whole-kHz rates (48 kHz: 10 ms is 480.0).
inline float msToSamples(float ms, float sampleRate) {
    return ms * (sampleRate / 1000.0f);
}

} // namespace chronus::dsp

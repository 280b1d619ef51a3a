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
    float t = 2.0f * x;                     // sin(pi * t), t in [-1, 1]
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
inline float wrap01(float phase) { return phase - std::floor(phase); }

inline float clampf(float v, float lo, float hi) { return std::fmin(std::fmax(v, lo), hi); }

} // namespace chronus::dsp

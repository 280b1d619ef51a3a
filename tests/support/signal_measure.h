// Measurements the DSP tests assert against: spectral peaks, RMS, jumps.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <vector>

namespace chronus::test {

inline double rms(const float* x, size_t n) {
    double acc = 0;
    for (size_t i = 0; i < n; ++i) acc += double(x[i]) * x[i];
    return n ? std::sqrt(acc / double(n)) : 0.0;
}
inline double rms(const std::vector<float>& x) {
    return rms(x.data(), x.size());
}

/// Magnitude of the DFT of `x` (Hann window) at frequency `hz`. The window and the phasor
/// turn by a rotation each sample rather than a cos and a polar: the same figure to 1e-12, and
/// fast enough for the sanitizer builds, where the tests themselves run unoptimised.
inline double dftMagnitude(const std::vector<float>& x, double rate, double hz) {
    const double n = double(x.size());
    const std::complex<double> turn = std::polar(1.0, -2 * M_PI * hz / rate);
    const std::complex<double> windowTurn = std::polar(1.0, 2 * M_PI / n);
    std::complex<double> phasor = 1, windowPhasor = 1, acc = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        const double w = 0.5 - 0.5 * windowPhasor.real();
        acc += double(x[i]) * w * phasor;
        phasor *= turn;
        windowPhasor *= windowTurn;
        if ((i & 1023) == 1023) { // keep both on the unit circle over long windows
            phasor /= std::abs(phasor);
            windowPhasor /= std::abs(windowPhasor);
        }
    }
    return std::abs(acc) / n;
}

/// Hann-windowed magnitude spectrum of `x`, zero-padded to a power of two at least twice its
/// length (half-bin steps), by an iterative radix-2 FFT. Bin k is k * rate / size Hz.
inline std::vector<double> hannSpectrum(const std::vector<float>& x, size_t& size) {
    size = 1;
    while (size < 2 * x.size()) size <<= 1;
    std::vector<std::complex<double>> a(size);
    const double n = double(x.size());
    for (size_t i = 0; i < x.size(); ++i)
        a[i] = double(x[i]) * (0.5 - 0.5 * std::cos(2 * M_PI * double(i) / n));
    for (size_t i = 1, j = 0; i < size; ++i) {
        size_t bit = size >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) std::swap(a[i], a[j]);
    }
    for (size_t len = 2; len <= size; len <<= 1) {
        const std::complex<double> step = std::polar(1.0, -2 * M_PI / double(len));
        for (size_t i = 0; i < size; i += len) {
            std::complex<double> w = 1;
            for (size_t k = 0; k < len / 2; ++k) {
                const std::complex<double> u = a[i + k], v = a[i + k + len / 2] * w;
                a[i + k] = u + v;
                a[i + k + len / 2] = u - v;
                w *= step;
            }
        }
    }
    std::vector<double> mag(size / 2 + 1);
    for (size_t k = 0; k < mag.size(); ++k) mag[k] = std::abs(a[k]) / n;
    return mag;
}

/// Frequency of the strongest spectral peak between lo and hi Hz: a coarse scan of the FFT
/// (half-bin steps) then a golden search on the Hann-windowed DFT magnitude, good to a small
/// fraction of a bin.
inline double peakFrequency(const std::vector<float>& x, double rate, double lo = 20,
                            double hi = 20000) {
    const double bin = rate / double(x.size());
    size_t size = 0;
    const std::vector<double> mag = hannSpectrum(x, size);
    const double step = rate / double(size);
    double best = lo, bestMag = -1;
    for (size_t k = size_t(std::ceil(lo / step)); k < mag.size() && double(k) * step <= hi; ++k)
        if (mag[k] > bestMag) bestMag = mag[k], best = double(k) * step;
    double a = best - bin, b = best + bin;
    const double g = (std::sqrt(5.0) - 1) / 2;
    for (int i = 0; i < 40; ++i) { // 0.618^40 of two bins: far below any test's margin
        double c = b - g * (b - a), d = a + g * (b - a);
        if (dftMagnitude(x, rate, c) > dftMagnitude(x, rate, d))
            b = d;
        else
            a = c;
    }
    return (a + b) / 2;
}

/// Largest absolute difference between consecutive samples in [from, to).
inline float largestJump(const std::vector<float>& x, size_t from, size_t to) {
    float j = 0;
    for (size_t i = std::max<size_t>(from, 1); i < std::min(to, x.size()); ++i)
        j = std::max(j, std::fabs(x[i] - x[i - 1]));
    return j;
}

} // namespace chronus::test

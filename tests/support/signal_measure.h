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

/// Magnitude of the DFT of `x` (Hann window) at frequency `hz`.
inline double dftMagnitude(const std::vector<float>& x, double rate, double hz) {
    std::complex<double> acc = 0;
    const double n = double(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
        double w = 0.5 - 0.5 * std::cos(2 * M_PI * double(i) / n);
        acc += double(x[i]) * w * std::polar(1.0, -2 * M_PI * hz * double(i) / rate);
    }
    return std::abs(acc) / n;
}

/// Frequency of the strongest spectral peak between lo and hi Hz: a coarse scan then a golden
/// search on the Hann-windowed DFT magnitude, good to a small fraction of a bin.
inline double peakFrequency(const std::vector<float>& x, double rate, double lo = 20,
                            double hi = 20000) {
    const double bin = rate / double(x.size());
    double best = lo, bestMag = -1;
    for (double f = lo; f <= hi; f += bin / 2) {
        double m = dftMagnitude(x, rate, f);
        if (m > bestMag) bestMag = m, best = f;
    }
    double a = best - bin, b = best + bin;
    const double g = (std::sqrt(5.0) - 1) / 2;
    for (int i = 0; i < 60; ++i) {
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

// Short-time spectra for tests that follow a sound over time: per frame its RMS, its strongest
// partial and how much of its energy lies above a frequency (brightness), from a Hann-windowed
// radix-2 FFT.
#pragma once

#include <cmath>
#include <complex>
#include <cstddef>
#include <utility>
#include <vector>

namespace chronus::test {

/// In-place radix-2 FFT; `x.size()` must be a power of two.
inline void fft(std::vector<std::complex<double>>& x) {
    const std::size_t n = x.size();
    for (std::size_t i = 1, j = 0; i < n; ++i) {
        std::size_t bit = n >> 1;
        for (; (j & bit) != 0; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) std::swap(x[i], x[j]);
    }
    for (std::size_t len = 2; len <= n; len <<= 1) {
        const std::complex<double> w = std::polar(1.0, -2 * M_PI / double(len));
        for (std::size_t i = 0; i < n; i += len) {
            std::complex<double> wk = 1;
            for (std::size_t k = 0; k < len / 2; ++k, wk *= w) {
                const auto a = x[i + k], b = x[i + k + len / 2] * wk;
                x[i + k] = a + b;
                x[i + k + len / 2] = a - b;
            }
        }
    }
}

struct SpectrumFrame {
    double time = 0;       ///< seconds, the frame's centre
    double rms = 0;        ///< of the frame's samples
    double peakHz = 0;     ///< strongest partial between the limits given, interpolated
    double brightness = 0; ///< share of the spectrum's energy above the split frequency
};

/// Frames of `size` samples (a power of two) every `hop` samples.
inline std::vector<SpectrumFrame> spectrumFrames(const std::vector<float>& x, double rate,
                                                 std::size_t size = 4096, std::size_t hop = 1024,
                                                 double peakLo = 60, double peakHi = 4000,
                                                 double splitHz = 1500) {
    std::vector<SpectrumFrame> frames;
    std::vector<std::complex<double>> buf(size);
    const double binHz = rate / double(size);
    for (std::size_t start = 0; start + size <= x.size(); start += hop) {
        SpectrumFrame f;
        f.time = (double(start) + double(size) / 2) / rate;
        double sq = 0;
        for (std::size_t i = 0; i < size; ++i) {
            const double v = x[start + i];
            sq += v * v;
            buf[i] = v * (0.5 - 0.5 * std::cos(2 * M_PI * double(i) / double(size)));
        }
        f.rms = std::sqrt(sq / double(size));
        fft(buf);
        std::vector<double> mag(size / 2);
        double total = 0, above = 0;
        for (std::size_t k = 1; k < size / 2; ++k) {
            mag[k] = std::abs(buf[k]);
            const double e = mag[k] * mag[k];
            total += e;
            if (double(k) * binHz >= splitHz) above += e;
        }
        f.brightness = total > 0 ? above / total : 0;
        std::size_t best = 0;
        for (auto k = static_cast<std::size_t>(peakLo / binHz) + 1;
             k < std::min(size / 2 - 1, static_cast<std::size_t>(peakHi / binHz)); ++k)
            if (best == 0 || mag[k] > mag[best]) best = k;
        if (best > 0) {
            // A parabola through the log magnitudes of the peak bin and its neighbours.
            const double a = std::log(mag[best - 1] + 1e-30), b = std::log(mag[best] + 1e-30),
                         c = std::log(mag[best + 1] + 1e-30);
            const double d = a - 2 * b + c;
            const double offset = d != 0 ? 0.5 * (a - c) / d : 0;
            f.peakHz = (double(best) + offset) * binHz;
        }
        frames.push_back(f);
    }
    return frames;
}

} // namespace chronus::test

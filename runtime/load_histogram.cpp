#include "runtime/load_histogram.h"

#include <algorithm>
#include <cmath>

namespace chronus {

namespace {
double upperEdge(int bin) {
    if (bin <= 0) return LoadHistogram::kLowest;
    return LoadHistogram::kLowest * std::pow(10.0, double(bin) / LoadHistogram::kBinsPerDecade);
}
} // namespace

void LoadHistogram::audioThreadAdd(double load) noexcept {
    int bin = 0;
    if (load > kLowest) {
        // log10 is a libm call: no allocation, no lock, no system call.
        bin = 1 + static_cast<int>(std::log10(load / kLowest) * kBinsPerDecade);
        if (bin >= kBins) bin = kBins - 1;
    }
    auto& b = bins_[static_cast<size_t>(bin)];
    b.store(b.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    if (load > max_.load(std::memory_order_relaxed)) max_.store(load, std::memory_order_relaxed);
}

LoadSummary LoadHistogram::summary() const {
    std::array<uint64_t, kBins> counts{};
    LoadSummary s;
    for (size_t i = 0; i < counts.size(); ++i) {
        counts[i] = bins_[i].load(std::memory_order_relaxed);
        s.count += counts[i];
    }
    s.max = max_.load(std::memory_order_relaxed);
    if (s.count == 0) return s;
    auto percentile = [&](double q) {
        const auto want = static_cast<uint64_t>(std::ceil(q * double(s.count)));
        uint64_t seen = 0;
        for (int i = 0; i < kBins; ++i) {
            seen += counts[static_cast<size_t>(i)];
            if (seen >= want) return std::min(upperEdge(i), s.max);
        }
        return s.max;
    };
    s.p50 = percentile(0.50);
    s.p99 = percentile(0.99);
    return s;
}

} // namespace chronus

// Callback load (time spent / the block's duration) as a lock-free histogram: one writer (the
// audio thread), any number of readers. Log-spaced bins, 4.7 % wide, from 1e-4 to 10.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace chronus {

struct LoadSummary {
    uint64_t count = 0;
    double p50 = 0, p99 = 0, max = 0;
};

class LoadHistogram {
public:
    static constexpr int kBinsPerDecade = 50;
    static constexpr double kLowest = 1e-4;
    static constexpr int kBins = 5 * kBinsPerDecade + 2; ///< underflow, 1e-4..10, overflow

    /// Audio thread; wait-free (single writer: plain load + store, no locked instruction).
    void audioThreadAdd(double load) noexcept;
    /// Any thread: percentiles read from the bins (each the upper edge of its bin), exact max.
    LoadSummary summary() const;

private:
    std::array<std::atomic<uint64_t>, kBins> bins_{};
    std::atomic<double> max_{0};
};

} // namespace chronus

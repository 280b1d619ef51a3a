#include "results.h"

#include <algorithm>
#include <cmath>

namespace chronus::bench {

namespace {

/// Linear interpolation between closest ranks (the usual "type 7" percentile).
double percentile(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) return 0;
    const double rank = p * static_cast<double>(sorted.size() - 1);
    const auto lo = static_cast<size_t>(std::floor(rank));
    const size_t hi = std::min(lo + 1, sorted.size() - 1);
    const double frac = rank - static_cast<double>(lo);
    return sorted[lo] + frac * (sorted[hi] - sorted[lo]);
}

} // namespace

Spread spreadOf(std::vector<double> samples) {
    std::sort(samples.begin(), samples.end());
    return {percentile(samples, 0.5), percentile(samples, 0.1), percentile(samples, 0.9)};
}

const EngineResult* WorkloadResult::engine(const std::string& engineName) const {
    for (const auto& e : engines)
        if (e.engine == engineName) return &e;
    return nullptr;
}

double WorkloadResult::speedup(const std::string& faster, const std::string& slower) const {
    const EngineResult* f = engine(faster);
    const EngineResult* s = engine(slower);
    if (f == nullptr || s == nullptr || !(f->nsPerSample.median > 0)) return 0;
    return s->nsPerSample.median / f->nsPerSample.median;
}

bool MachineInfo::debugBuild() const {
    // Debug, or no build type at all (CMake then adds no optimisation flag).
    return buildType == "Debug" || buildType.empty();
}

double BenchResults::contention() const {
    std::vector<double> ratios;
    for (const auto& w : workloads)
        for (const auto& e : w.engines)
            if (e.nsPerSample.median > 0)
                ratios.push_back(e.wallNsPerSample.median / e.nsPerSample.median);
    return ratios.empty() ? 1.0 : spreadOf(ratios).median;
}

const WorkloadResult* BenchResults::find(const std::string& name) const {
    for (const auto& w : workloads)
        if (w.name == name && w.error.empty()) return &w;
    return nullptr;
}

std::vector<Target> evaluateTargets(const BenchResults& r) {
    std::vector<Target> targets;
    auto speedup = [&](const char* what, const char* slower, double limit) {
        Target t{what, "sine-16", "x", 0, limit, true, false};
        if (const WorkloadResult* w = r.find(t.where)) {
            t.value = w->speedup(kFused, slower);
            t.measured = t.value > 0;
        }
        targets.push_back(t);
    };
    speedup("fused >= 3x faster than the block interpreter, 16 voices", kBlockInterp, 3);
    speedup("fused >= 10x faster than the per-sample interpreter, 16 voices", kSampleInterp, 10);
    for (const char* where : {"sine-256", "saw-256"}) {
        Target t{"fused < 7 ns per voice-sample, 256 voices", where, "ns", 0, 7, false, false};
        if (const WorkloadResult* w = r.find(where))
            if (const EngineResult* e = w->engine(kFused)) {
                t.value = e->nsPerVoiceSample.median;
                t.measured = true;
            }
        targets.push_back(t);
    }
    Target cold{"commit -> swap < 20 ms, 16 voices, cold (every shape compiled)",
                "sine-16",
                "ms",
                0,
                20,
                false,
                false};
    Target recommit{"commit -> swap < 20 ms, 16 voices, recommit with the shape cache",
                    "sine-16",
                    "ms",
                    0,
                    20,
                    false,
                    false};
    if (const WorkloadResult* w = r.find("sine-16"); w != nullptr && w->commit) {
        if (w->commit->coldRuns > 0) {
            cold.value = w->commit->coldMs.median;
            cold.measured = true;
        }
        if (w->commit->runs > 0) {
            recommit.value = w->commit->commitToSwapMs.median;
            recommit.measured = true;
        }
    }
    targets.push_back(cold);
    targets.push_back(recommit);
    return targets;
}

} // namespace chronus::bench

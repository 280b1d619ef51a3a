#include "bench/results.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <optional>
#include <string>

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

const char* Target::boundText() const {
    switch (bound) {
    case Bound::AtLeast:
        return ">=";
    case Bound::AtMost:
        return "<=";
    case Bound::Below:
        return "<";
    }
    return "?";
}

namespace {

Target target(std::string issue, std::string what, std::string where, std::string unit, Bound bound,
              double limit) {
    Target t;
    t.issue = std::move(issue);
    t.what = std::move(what);
    t.where = std::move(where);
    t.unit = std::move(unit);
    t.bound = bound;
    t.limit = limit;
    return t;
}

/// The sine banks measured, fewest voices first, up to `maxVoices`.
std::vector<const WorkloadResult*> sineBanks(const BenchResults& r, uint32_t maxVoices) {
    std::vector<const WorkloadResult*> banks;
    for (const auto& w : r.workloads)
        if (w.family == "sine" && w.error.empty() && w.voices <= maxVoices) banks.push_back(&w);
    std::sort(banks.begin(), banks.end(),
              [](const auto* a, const auto* b) { return a->voices < b->voices; });
    return banks;
}

/// "0.25", "1", "1.5": a limit as the issue writes it.
std::string formatLimit(double v) {
    return fmt::format("{:g}", v);
}

/// "1, 16, 64, 256".
std::string voiceList(const std::vector<const WorkloadResult*>& banks) {
    std::string s;
    for (const auto* w : banks) s += (s.empty() ? "" : ", ") + std::to_string(w->voices);
    return s;
}

/// `t` set to the largest `value(w)` over `banks` (those that have one), and where it was.
template <class F>
void worstOf(Target& t, const std::vector<const WorkloadResult*>& banks, F value) {
    for (const auto* w : banks)
        if (const std::optional<double> v = value(*w); v && (!t.measured || *v > t.value)) {
            t.value = *v;
            t.where = w->name;
            t.measured = true;
        }
}

} // namespace

std::vector<Target> evaluateTargets(const BenchResults& r) {
    std::vector<Target> targets;

    // ---- issue 6 ----
    auto speedup = [&](const char* what, const char* slower, double limit) {
        Target t = target("6", what, "sine-16", "x", Bound::AtLeast, limit);
        if (const WorkloadResult* w = r.find(t.where)) {
            t.value = w->speedup(kFused, slower);
            t.measured = t.value > 0;
        }
        targets.push_back(t);
    };
    speedup("fused >= 3x faster than the block interpreter, 16 voices", kBlockInterp, 3);
    speedup("fused >= 10x faster than the per-sample interpreter, 16 voices", kSampleInterp, 10);
    auto perVoice = [&](std::string issue, const std::string& what, const char* where, Bound bound,
                        double limit) {
        Target t = target(std::move(issue), what, where, "ns", bound, limit);
        if (const WorkloadResult* w = r.find(where))
            if (const EngineResult* e = w->engine(kFused)) {
                t.value = e->nsPerVoiceSample.median;
                t.measured = true;
            }
        targets.push_back(t);
    };
    for (const char* where : {"sine-256", "saw-256"})
        perVoice("6", "fused < 7 ns per voice-sample, 256 voices", where, Bound::Below, 7);
    const WorkloadResult* sine16 = r.find("sine-16");
    Target cold = target("6", "commit -> audible < 20 ms, 16 voices, cold: tiered first tier",
                         "sine-16", "ms", Bound::Below, 20);
    Target untiered = target("6", "the same cold commit untiered (O2 compiled before the swap)",
                             "sine-16", "ms", Bound::Below, 20);
    untiered.informational = true;
    Target recommit =
        target("6", "commit -> swap < 20 ms, 16 voices, recommit with the shape cache", "sine-16",
               "ms", Bound::Below, 20);
    if (sine16 != nullptr) {
        if (sine16->tieredCommit && sine16->tieredCommit->runs > 0) {
            cold.value = sine16->tieredCommit->firstTierMs.median;
            cold.measured = true;
        }
        if (sine16->commit && sine16->commit->coldRuns > 0) {
            untiered.value = sine16->commit->coldMs.median;
            untiered.measured = true;
        }
        if (sine16->commit && sine16->commit->runs > 0) {
            recommit.value = sine16->commit->commitToSwapMs.median;
            recommit.measured = true;
        }
    }
    targets.push_back(cold);
    targets.push_back(untiered);
    targets.push_back(recommit);

    // ---- issue 8 ----
    perVoice("8", "fused <= 3.5 ns per voice-sample, 256 sine voices", "sine-256", Bound::AtMost,
             3.5);
    perVoice("8", "fused <= 5 ns per voice-sample, 16 sine voices", "sine-16", Bound::AtMost, 5);
    perVoice("8", "fused <= 15 ns per voice-sample, 1 sine voice", "sine-1", Bound::AtMost, 15);
    const auto banks = sineBanks(r, 256);
    const std::string sizes = banks.empty() ? "banks up to 256" : voiceList(banks);
    Target first =
        target("8", "cold commit -> first tier audible < 20 ms, worst of sine " + sizes + " voices",
               "sine", "ms", Bound::Below, 20);
    worstOf(first, banks, [](const WorkloadResult& w) -> std::optional<double> {
        if (!w.tieredCommit || w.tieredCommit->runs == 0) return std::nullopt;
        return w.tieredCommit->firstTierMs.median;
    });
    Target optimised = target(
        "8", "cold commit -> optimised swapped in < 250 ms, worst of sine " + sizes + " voices",
        "sine", "ms", Bound::Below, 250);
    worstOf(optimised, banks, [](const WorkloadResult& w) -> std::optional<double> {
        if (!w.tieredCommit || w.tieredCommit->runs == 0) return std::nullopt;
        return w.tieredCommit->optimisedMs.median;
    });
    std::vector<const WorkloadResult*> added;
    for (const auto* w : banks)
        if (w->addVoice && w->addVoice->runs > 0) added.push_back(w);
    Target addVoice =
        target("8",
               "commit adding a voice of a known shape -> audible < 5 ms, worst of " +
                   (added.empty() ? std::string("16, 256") : voiceList(added)) + " voices",
               "sine", "ms", Bound::Below, 5);
    worstOf(addVoice, added, [](const WorkloadResult& w) -> std::optional<double> {
        return w.addVoice->toSwapMs.median;
    });
    targets.push_back(first);
    targets.push_back(optimised);
    targets.push_back(addVoice);

    // ---- issue 13: the patches people write (voices summed into master) ----
    struct RenderTarget {
        const char* workload;
        double seconds;
        const char* what;
        double warmS;
    };
    const RenderTarget renders[] = {
        {"master-256", 20, "256 voices x 20 s", 1.0},
        {"master-16", 60, "16 voices x 60 s", 0.25},
        {"master-1", 60, "1 voice x 60 s", 0.05},
        {"fm-16", 60, "16 FM voices x 60 s", 0.3},
    };
    auto renderOf = [&](const RenderTarget& t) -> const ProcessRenderResult* {
        for (const auto& p : r.renders)
            if (p.name == t.workload && p.audioSeconds == t.seconds && p.error.empty()) return &p;
        return nullptr;
    };
    for (const bool warm : {true, false})
        for (const RenderTarget& rt : renders) {
            const double limit = warm ? rt.warmS : 1.5 * rt.warmS;
            Target t = target("13",
                              fmt::format("whole chronus render, {} cache, CPU <= {} s: {}",
                                          warm ? "warm" : "cold", formatLimit(limit), rt.what),
                              rt.workload, "s", Bound::AtMost, limit);
            if (const ProcessRenderResult* p = renderOf(rt); p && (p->warmMeasured || !warm)) {
                t.value = warm ? p->warmCpuS.median : p->coldCpuS.median;
                t.measured = p->runs > 0;
            }
            targets.push_back(t);
        }
    perVoice("13", "fused <= 2 ns per voice-sample, 256 voices summed into master", "master-256",
             Bound::AtMost, 2);
    perVoice("13", "fused <= 6 ns per sample, 1 voice into master", "master-1", Bound::AtMost, 6);
    std::vector<const WorkloadResult*> masters;
    for (const auto& w : r.workloads)
        if (w.family == "master" && w.error.empty() && w.voices <= 256) masters.push_back(&w);
    std::sort(masters.begin(), masters.end(),
              [](const auto* a, const auto* b) { return a->voices < b->voices; });
    const std::string masterSizes = masters.empty() ? "up to 256" : voiceList(masters);
    Target audible = target(
        "13", "cold tiered commit -> audible <= 15 ms, worst of master " + masterSizes + " voices",
        "master", "ms", Bound::AtMost, 15);
    worstOf(audible, masters, [](const WorkloadResult& w) -> std::optional<double> {
        if (!w.tieredCommit || w.tieredCommit->runs == 0) return std::nullopt;
        return w.tieredCommit->firstTierMs.median;
    });
    Target optimisedMaster = target(
        "13",
        "cold commit -> optimised swapped in <= 250 ms, worst of master " + masterSizes + " voices",
        "master", "ms", Bound::AtMost, 250);
    worstOf(optimisedMaster, masters, [](const WorkloadResult& w) -> std::optional<double> {
        if (!w.tieredCommit || w.tieredCommit->runs == 0) return std::nullopt;
        return w.tieredCommit->optimisedMs.median;
    });
    Target addMaster = target("13", "adding a voice to the 256 in master -> audible <= 5 ms",
                              "master-256", "ms", Bound::AtMost, 5);
    Target addCompiles = target("13", "adding a voice to the 256 in master compiles nothing",
                                "master-256", "adds compiling", Bound::AtMost, 0);
    if (const WorkloadResult* w = r.find("master-256"); w && w->addVoice && w->addVoice->runs) {
        addMaster.value = w->addVoice->toSwapMs.median;
        addMaster.measured = true;
        addCompiles.value = w->addVoice->notCached; // adds whose program was not final at once
        addCompiles.measured = true;
    }
    targets.push_back(audible);
    targets.push_back(optimisedMaster);
    targets.push_back(addMaster);
    targets.push_back(addCompiles);
    Target chainCommit = target("13", "10,000-module chain: cold commit -> audible <= 2 s",
                                "chain-10000", "s", Bound::AtMost, 2);
    Target chainMemory = target("13", "10,000-module chain: peak resident memory < 1 GB",
                                "chain-10000", "MB", Bound::Below, 1024);
    if (r.chain && r.chain->modules == 10'000 && r.chain->firstTierMs > 0) {
        chainCommit.value = r.chain->firstTierMs / 1000;
        chainCommit.measured = true;
    }
    if (r.chain && r.chain->modules == 10'000 && r.chain->peakRssMb > 0) {
        chainMemory.value = r.chain->peakRssMb;
        chainMemory.measured = true;
    }
    targets.push_back(chainCommit);
    targets.push_back(chainMemory);
    return targets;
}

} // namespace chronus::bench

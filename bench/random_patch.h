// Random valid patches for differential tests: random module types from the registry, random
// audio connections and parameter modulations, feedback through modules with delayed outputs
// (z1, delay:wet), random parameter values inside their ranges. Edits the graph refuses (cycles
// without delay, duplicate connections, ...) are simply skipped, so every result is valid.
#pragma once

#include "compiler/patch_graph.h"
#include "modules/registry.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fmt/format.h>
#include <random>
#include <string>
#include <vector>

namespace chronus::test {

struct RandomPatchOptions {
    int minModules = 2;
    int maxModules = 8;
    int connectionsPerModule = 2;  ///< attempts, not guaranteed
    double modulationShare = 0.35; ///< of attempts that target a parameter
    double feedbackShare = 0.5;    ///< chance per delayed-output module of a closing connection
    double sinkShare = 0.15;       ///< chance of creating an explicit output module (if one exists)
    float maxCreateArgRange = 64;  ///< creation arguments drawn from [min, min + this]
};

/// How many random graphs a differential test renders: `full`, or CHRONUS_TEST_RANDOM_PERCENT
/// (1-100) percent of it, at least one. scripts/test.sh runs the sanitizer stage at 20 %.
inline int randomGraphCount(int full) {
    const char* env = std::getenv("CHRONUS_TEST_RANDOM_PERCENT");
    const int percent = env != nullptr ? std::clamp(std::atoi(env), 1, 100) : 100;
    return std::max(1, full * percent / 100);
}

/// A random graph and the text that replays it (for failure messages).
struct RandomPatch {
    PatchGraph graph;
    std::string text;
};

namespace detail {

inline float uniform(std::mt19937& rng, float lo, float hi) {
    return std::uniform_real_distribution<float>(lo, hi)(rng);
}

inline bool chance(std::mt19937& rng, double p) {
    return std::bernoulli_distribution(p)(rng);
}

template <class T>
const T& pick(std::mt19937& rng, const std::vector<T>& v) {
    return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
}

/// A value for a parameter: its default a third of the time, else uniform in range (whole
/// numbers for choices); ranges spanning decades are drawn log-uniformly on the positive side.
inline float paramValue(std::mt19937& rng, const ParamDesc& d) {
    if (chance(rng, 0.33)) return d.defaultValue;
    if (!d.choices.empty())
        return static_cast<float>(
            std::uniform_int_distribution<int>(0, static_cast<int>(d.choices.size()) - 1)(rng));
    if (d.name == "gate") return chance(rng, 0.7) ? 1.0f : 0.0f;
    float lo = d.minValue, hi = d.maxValue;
    // Ranges that reach past +-1e5 (gain's level: FM depths in Hz) are drawn in [0, 4], the range
    // gain had before: random patches stay bounded, and a seed gives the patch it always gave.
    if (lo < 0 && hi >= 1e5f) lo = 0, hi = 4;
    if (lo >= 0 && hi > 100 * std::max(lo, 1.0f)) {
        float a = std::log(std::max(lo, 0.01f)), b = std::log(hi);
        return std::clamp(std::exp(uniform(rng, a, b)), lo, hi);
    }
    return std::clamp(uniform(rng, lo, hi), lo, hi);
}

} // namespace detail

inline RandomPatch randomPatch(std::mt19937& rng, const RandomPatchOptions& o = {}) {
    using detail::chance;
    RandomPatch r;
    std::vector<const ModuleDescriptor*> types, sinks;
    for (const ModuleDescriptor* d : allModules()) (d->isSink ? sinks : types).push_back(d);
    auto log = [&](Status s, std::string line) {
        if (s.ok()) r.text += line + "\n";
    };

    const int n = std::uniform_int_distribution<int>(o.minModules, o.maxModules)(rng);
    for (int i = 0; i < n; ++i) {
        const ModuleDescriptor* d = detail::pick(rng, types);
        std::string id = fmt::format("m{}", i);
        if (d->createArg.name.empty()) {
            log(r.graph.create(id, d->type), fmt::format("/patch/create {} {}", id, d->type));
        } else {
            const CreateArgDesc& ca = d->createArg;
            float arg = std::round(detail::uniform(
                rng, ca.minValue, std::min(ca.maxValue, ca.minValue + o.maxCreateArgRange)));
            arg = std::clamp(arg, ca.minValue, ca.maxValue);
            log(r.graph.create(id, d->type, arg),
                fmt::format("/patch/create {} {} {}", id, d->type, arg));
        }
    }
    if (!sinks.empty() && chance(rng, o.sinkShare))
        log(r.graph.create("out", sinks[0]->type),
            fmt::format("/patch/create out {}", sinks[0]->type));

    for (const Module& m : std::vector<Module>(r.graph.modules().begin(), r.graph.modules().end()))
        for (const auto& p : m.layout->params) {
            float v = detail::paramValue(rng, p.desc);
            log(r.graph.setParam(m.id, p.name, v), fmt::format("/mod/{}/{} {}", m.id, p.name, v));
        }

    // By creation index, as the seeds were drawn. The graph is this function's alone and gains no
    // module from here on, so these stay valid.
    std::vector<const Module*> mods;
    for (const Module& m : r.graph.modules()) mods.push_back(&m);
    auto connect = [&](const Module& src, uint32_t out, const Module& dst, uint32_t slot) {
        std::string a = src.id + ":" + src.layout->outputs[out].name;
        std::string b = PatchGraph::slotName(dst, slot);
        log(r.graph.connect(a, b), fmt::format("/patch/connect {} {}", a, b));
    };
    auto randomSlot = [&](const Module& dst) -> std::optional<uint32_t> {
        const auto ins = static_cast<uint32_t>(dst.layout->inputs.size());
        const auto params = static_cast<uint32_t>(dst.layout->params.size());
        bool modulate = params > 0 && (ins == 0 || chance(rng, o.modulationShare));
        if (modulate) return ins + std::uniform_int_distribution<uint32_t>(0, params - 1)(rng);
        if (ins == 0) return std::nullopt;
        return std::uniform_int_distribution<uint32_t>(0, ins - 1)(rng);
    };
    const int attempts = o.connectionsPerModule * static_cast<int>(mods.size());
    for (int k = 0; k < attempts && mods.size() >= 2; ++k) {
        const Module& src = *mods[std::uniform_int_distribution<size_t>(0, mods.size() - 1)(rng)];
        const Module& dst = *mods[std::uniform_int_distribution<size_t>(0, mods.size() - 1)(rng)];
        if (src.layout->outputs.empty() || src.desc->isSink) continue;
        auto out = std::uniform_int_distribution<uint32_t>(
            0, static_cast<uint32_t>(src.layout->outputs.size()) - 1)(rng);
        if (auto slot = randomSlot(dst)) connect(src, out, dst, *slot);
    }
    // Feedback: close a loop through each module with a delayed output, now and then.
    for (size_t i = 0; i < mods.size(); ++i) {
        const Module& fb = *mods[i];
        bool delayed = std::any_of(fb.layout->outputs.begin(), fb.layout->outputs.end(),
                                   [](const auto& out) { return out.delayed; });
        if (!delayed || fb.layout->inputs.empty() || !chance(rng, o.feedbackShare)) continue;
        const Module& mid = *mods[std::uniform_int_distribution<size_t>(0, mods.size() - 1)(rng)];
        if (mid.desc->isSink || mid.layout->outputs.empty()) continue;
        for (uint32_t out = 0; out < fb.layout->outputs.size(); ++out)
            if (fb.layout->outputs[out].delayed) {
                if (auto slot = randomSlot(mid)) connect(*mods[i], out, mid, *slot);
                break;
            }
        connect(mid, 0, *mods[i], 0);
    }
    return r;
}

} // namespace chronus::test

// prewarm.cpp: prewarmJit, one small voice compiled and freed so that the first real commit finds
// LLVM's code paged in. compiler/ knows no particular module: the voice is chosen from the
// registry by the descriptors' properties.
#include "compiler/jit/jit.h"
#include "compiler/patch_graph.h"
#include "modules/registry.h"

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

namespace chronus {

namespace {

/// A module a voice chain can hold: one output, at most one audio input, no creation argument,
/// no delayed output, and state small enough for its kernel to run side by side (wide_entry.h).
bool chainable(const ModuleDescriptor& d) {
    return !d.isSink && d.variadic == nullptr && d.createArg.name.empty() && d.emit == nullptr &&
           d.outputs.size() == 1 && d.inputs.size() <= 1 && d.stateSize != nullptr &&
           d.stateSize(InstanceConfig{}) <= 256;
}

/// The voice: the source (no audio input) with the most parameters, then up to three processors
/// (one input), those with prepare/process first (the settled path's block-rate work), then the
/// ones with the most parameters; ties in registry order.
std::vector<const ModuleDescriptor*> prewarmVoice() {
    std::vector<const ModuleDescriptor*> sources, processors; // in registry order
    for (const ModuleDescriptor* d : allModules())
        if (chainable(*d)) (d->inputs.empty() ? sources : processors).push_back(d);
    if (sources.empty()) return {};
    // Richer first; ties keep registry order (a sort by the pair, the position breaking ties).
    auto byRichness = [](std::vector<const ModuleDescriptor*>& list) {
        std::vector<std::pair<const ModuleDescriptor*, size_t>> ranked;
        for (size_t k = 0; k < list.size(); ++k) ranked.emplace_back(list[k], k);
        std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
            if (a.first->hasPrepare() != b.first->hasPrepare()) return a.first->hasPrepare();
            if (a.first->params.size() != b.first->params.size())
                return a.first->params.size() > b.first->params.size();
            return a.second < b.second;
        });
        for (size_t k = 0; k < list.size(); ++k) list[k] = ranked[k].first;
    };
    byRichness(sources);
    byRichness(processors);
    std::vector<const ModuleDescriptor*> voice = {sources[0]};
    for (size_t k = 0; k < processors.size() && k < 3; ++k) voice.push_back(processors[k]);
    return voice;
}

} // namespace

void prewarmJit() {
    static std::atomic<bool> started{false}; // once per process: LLVM's start is process-wide
    if (started.exchange(true)) return;
    PatchGraph voice;
    std::string previous;
    for (const ModuleDescriptor* d : prewarmVoice()) {
        std::string id = "m" + std::to_string(voice.modules().size());
        if (!voice.create(id, d->type)) return;
        if (!previous.empty() && !voice.connect(previous, id)) return;
        previous = id;
    }
    auto schedule = buildSchedule(voice);
    if (!schedule) return;
    JitOptions o;
    o.optLevel = 0; // the quick tier's pipeline and code generator
    o.keepIr = false;
    o.shapeCache = false; // nothing left behind: the program frees its code
    // With the disk cache on, a process after the first finds the voice there and compiles
    // nothing (only the JIT is created, to link it): such a process's commits mostly come from
    // the disk too, and need no warmed compiler.
    (void)compileJit(*schedule, o);
}

} // namespace chronus

#include "runtime/midi_script.h"

#include "compiler/voice_template.h"
#include "runtime/midi_routes.h"

#include <algorithm>
#include <cmath>

namespace chronus {

Expected<MidiMerge> mergeMidiFile(PatchScript& script, const midi::MidiFile& file) {
    MidiRoutes routes;
    const PatchGraph* patch = script.committed ? &*script.committed : nullptr;
    // A route line applies from its time on, as any line does: the file's events are translated
    // in time order, each by the routes of the lines at or before it (a line before an event at
    // the same time, as the merge below orders them).
    auto applyRoute = [&](const ControlCommand& command) {
        if (const auto* c = std::get_if<MidiCcCommand>(&command);
            c != nullptr && !c->explicitRange && patch != nullptr) {
            MidiCcCommand filled = *c; // over the parameter's range (a module's or a template's)
            if (auto d = patch->paramDesc(c->id, c->param)) {
                filled.lo = (*d)->minValue;
                filled.hi = (*d)->maxValue;
            }
            routes.apply(filled);
            return;
        }
        routes.apply(command);
    };
    std::optional<std::string> onlyPoly;
    const VoiceTable* voices = patch != nullptr ? patch->voiceTable() : nullptr;
    if (voices != nullptr && voices->polys.size() == 1) onlyPoly = voices->polys[0].id;

    MidiMerge merge;
    std::vector<PatchScript::Step> midiSteps;
    std::size_t next = 0; // the first script step not yet applied to the routes
    for (const midi::MidiFileEvent& ev : file.events) {
        for (; next < script.steps.size() && script.steps[next].time <= ev.seconds; ++next)
            applyRoute(script.steps[next].command);
        for (ControlCommand& cmd : routes.translate(ev.message, onlyPoly, &merge.unrouted))
            midiSteps.push_back({0, ev.seconds, std::move(cmd)});
    }
    merge.events = midiSteps.size();

    std::vector<PatchScript::Step> merged;
    merged.reserve(script.steps.size() + midiSteps.size());
    std::merge(
        script.steps.begin(), script.steps.end(), midiSteps.begin(), midiSteps.end(),
        std::back_inserter(merged),
        [](const PatchScript::Step& a, const PatchScript::Step& b) { return a.time < b.time; });
    script.steps = std::move(merged);

    double tailMs = 0;
    if (voices != nullptr)
        for (const auto& t : voices->templates)
            for (const Module& m : t->graph.modules()) {
                if (m.desc->idle == nullptr) continue;
                for (std::size_t i = 0; i < m.params.size(); ++i)
                    if (m.layout->params[i].desc.unit == "ms")
                        tailMs = std::max(tailMs, double(m.params[i]));
            }
    // A delay's echoes ring on after the release: until they fall 60 dB, at its time per repeat
    // and its feedback per repeat (10 s at most: feedback 1 never dies). Half a second at least,
    // for what a tail cannot be read from (feedback through the patch).
    double echoSeconds = 0.5;
    if (patch != nullptr)
        for (const Module& m : patch->modules()) {
            if (m.desc->type != "delay") continue;
            auto value = [&](std::string_view name) {
                auto i = patch->paramIndex(m.id, name);
                return i ? double(m.params[*i]) : 0.0;
            };
            const double timeMs = value("time"), feedback = std::fabs(value("feedback"));
            const double repeats =
                feedback < 1e-3 ? 1
                                : std::ceil(std::log(1e-3) / std::log(std::min(feedback, 0.9999)));
            echoSeconds = std::max(echoSeconds, std::min(10.0, timeMs / 1000.0 * repeats));
        }
    const double lastLine = script.steps.empty() ? 0.0 : script.steps.back().time;
    merge.endSeconds = std::max(file.endSeconds, lastLine) + tailMs / 1000.0 + echoSeconds;
    return merge;
}

} // namespace chronus

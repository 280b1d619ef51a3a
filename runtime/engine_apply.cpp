// Engine::apply and Engine::applyAt: a decoded control command (patch-file line or OSC message)
// run through the engine's public control API. The one place that runs a command.
#include "compiler/patch_graph.h"
#include "runtime/engine.h"

#include <fmt/format.h>

namespace chronus {

Status Engine::apply(const ControlCommand& cmd, std::string* reply, CommitCallback done) {
    auto setReply = [reply](std::string text) {
        if (reply != nullptr) *reply = std::move(text);
    };
    return std::visit(
        [&](const auto& c) -> Status {
            using T = std::decay_t<decltype(c)>;
            if constexpr (std::is_same_v<T, CreateCommand>)
                return create(c.id, c.type, c.createArg);
            else if constexpr (std::is_same_v<T, DeleteCommand>)
                return remove(c.id);
            else if constexpr (std::is_same_v<T, ConnectCommand>)
                return connect(c.src, c.dst);
            else if constexpr (std::is_same_v<T, DisconnectCommand>)
                return disconnect(c.src, c.dst);
            else if constexpr (std::is_same_v<T, CommitCommand>) {
                setReply(fmt::format("{}", commit(std::move(done))));
                return {};
            } else if constexpr (std::is_same_v<T, AbortCommand>) {
                abort();
                return {};
            } else if constexpr (std::is_same_v<T, SetParamCommand>) {
                if (voiceOpen()) // a value of the template being defined
                    return editVoices([&](PatchGraph& g) {
                        return c.choice ? g.setParamChoice(c.id, c.param, *c.choice)
                                        : g.setParam(c.id, c.param, c.value);
                    });
                return c.choice ? setParamChoice(c.id, c.param, *c.choice)
                                : setParam(c.id, c.param, c.value);
            } else if constexpr (std::is_same_v<T, GateCommand>) {
                if (voiceOpen())
                    return editVoices(
                        [&](PatchGraph& g) { return g.setParam(c.id, "gate", c.value); });
                return gate(c.id, c.value);
            } else if constexpr (std::is_same_v<T, VoiceBeginCommand>)
                return editVoices([&](PatchGraph& g) { return g.beginVoice(c.name); });
            else if constexpr (std::is_same_v<T, VoiceEndCommand>)
                return editVoices([&](PatchGraph& g) { return g.endVoice(); });
            else if constexpr (std::is_same_v<T, VoiceMapCommand>)
                return editVoices(
                    [&](PatchGraph& g) { return g.mapVoice(c.name, c.role, c.target, c.range); });
            else if constexpr (std::is_same_v<T, CreatePolyCommand>)
                return editVoices(
                    [&](PatchGraph& g) { return g.createPoly(c.id, c.templateName, c.voices); });
            else if constexpr (std::is_same_v<T, NoteCommand>)
                return noteAt(0, c.id, c.kind, c.note, c.value);
            else if constexpr (std::is_same_v<T, MidiRouteCommand> ||
                               std::is_same_v<T, MidiCcCommand> ||
                               std::is_same_v<T, MidiBendCommand>)
                return midiRoute(cmd);
            else if constexpr (std::is_same_v<T, DumpCommand>) {
                setReply(dump());
                return {};
            } else if constexpr (std::is_same_v<T, StatusCommand>) {
                const EngineStatus s = status();
                setReply(fmt::format(
                    "sample_rate {}\nframes {}\nactive_seq {}\ncallbacks {}\nxruns {}\noverruns "
                    "{}\n"
                    "load_p50 {:.4f}\nload_p99 {:.4f}\nload_max {:.4f}\ncommits {}\nfailures {}\n"
                    "sample_position {}\nguard_trips {}\nguard_cause {}\n",
                    s.sampleRate, s.frames, s.activeSeq, s.callbacks, s.xruns, s.overruns,
                    s.loadP50, s.loadP99, s.loadMax, s.commits, s.failures, s.samplePosition,
                    s.guardTrips, s.guardCause.empty() ? "none" : s.guardCause));
                return {};
            } else if constexpr (std::is_same_v<T, IrCommand>) {
                auto text = ir(c.stage.empty() ? "optimized" : c.stage);
                if (!text) return text.error();
                setReply(text.take());
                return {};
            } else {
                static_assert(std::is_same_v<T, QuitCommand>);
                return {}; // the server that received it acts on it
            }
        },
        cmd);
}

Status Engine::applyAt(uint64_t atSample, const ControlCommand& cmd) {
    return applyAt(atSample, cmd, 0);
}

Status Engine::applyAt(uint64_t atSample, const ControlCommand& cmd, uint64_t client) {
    if (const auto* p = std::get_if<SetParamCommand>(&cmd); p != nullptr && !p->choice)
        return setParamAt(atSample, p->id, p->param, p->value, client);
    // A gate is the `gate` parameter of its module, so a timed one is a timed parameter write.
    if (const auto* g = std::get_if<GateCommand>(&cmd))
        return setParamAt(atSample, g->id, "gate", g->value, client);
    if (const auto* n = std::get_if<NoteCommand>(&cmd))
        return noteAt(atSample, n->id, n->kind, n->note, n->value, client);
    return makeError("{}: only a /mod with a number, a /gate or a note lands on an exact sample",
                     commandAddress(cmd));
}

} // namespace chronus

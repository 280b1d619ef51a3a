#include "runtime/patch_dry_run.h"

#include "compiler/param_check.h"
#include "compiler/voice_template.h"

namespace chronus {

Status PatchDryRun::apply(const ControlCommand& cmd) {
    return std::visit(
        [this](const auto& c) -> Status {
            using T = std::decay_t<decltype(c)>;
            if constexpr (std::is_same_v<T, CreateCommand>)
                return pending_.create(c.id, c.type, c.createArg);
            else if constexpr (std::is_same_v<T, DeleteCommand>)
                return pending_.remove(c.id);
            else if constexpr (std::is_same_v<T, ConnectCommand>)
                return pending_.connect(c.src, c.dst);
            else if constexpr (std::is_same_v<T, DisconnectCommand>)
                return pending_.disconnect(c.src, c.dst);
            else if constexpr (std::is_same_v<T, SetParamCommand>) {
                if (pending_.voiceOpen())
                    return c.choice ? pending_.setParamChoice(c.id, c.param, *c.choice)
                                    : pending_.setParam(c.id, c.param, c.value);
                return c.choice ? writeChoice(c.id, c.param, *c.choice)
                                : write(c.id, c.param, c.value);
            } else if constexpr (std::is_same_v<T, GateCommand>) {
                if (pending_.voiceOpen()) return pending_.setParam(c.id, "gate", c.value);
                return write(c.id, "gate", c.value);
            } else if constexpr (std::is_same_v<T, VoiceBeginCommand>)
                return pending_.beginVoice(c.name);
            else if constexpr (std::is_same_v<T, VoiceEndCommand>)
                return pending_.endVoice();
            else if constexpr (std::is_same_v<T, VoiceMapCommand>)
                return pending_.mapVoice(c.name, c.role, c.target, c.range);
            else if constexpr (std::is_same_v<T, CreatePolyCommand>)
                return pending_.createPoly(c.id, c.templateName, c.voices);
            else if constexpr (std::is_same_v<T, NoteCommand>)
                return notePoly(c.id);
            else if constexpr (std::is_same_v<T, MidiRouteCommand>)
                return notePoly(c.id);
            else if constexpr (std::is_same_v<T, MidiCcCommand>) {
                const PatchGraph& g =
                    pending_.find(c.id) != nullptr || !committed_ ? pending_ : *committed_;
                auto desc = g.paramDesc(c.id, c.param); // a module's, or a poly's template's
                if (!desc) return desc.error();
                const ParamDesc& d = **desc;
                if (c.explicitRange && !(c.lo >= d.minValue && c.hi <= d.maxValue))
                    return makeError("/midi/cc {} {} {}:{}: range [{}, {}] is outside the "
                                     "parameter's [{}, {}]",
                                     c.channel, c.cc, c.id, c.param, c.lo, c.hi, d.minValue,
                                     d.maxValue);
                return {};
            } else if constexpr (std::is_same_v<T, MidiBendCommand>)
                return {};
            else if constexpr (std::is_same_v<T, CommitCommand>) {
                committed_ = pending_;
                return {};
            } else if constexpr (std::is_same_v<T, AbortCommand>) {
                pending_ = committed_ ? *committed_ : PatchGraph(pending_.limits());
                return {};
            } else {
                static_assert(std::is_same_v<T, DumpCommand> || std::is_same_v<T, IrCommand> ||
                              std::is_same_v<T, StatusCommand> || std::is_same_v<T, QuitCommand>);
                return {};
            }
        },
        cmd);
}

Status PatchDryRun::notePoly(const std::string& id) const {
    for (const PatchGraph* g : {&pending_, committed_ ? &*committed_ : nullptr})
        if (g != nullptr && g->voiceTable() != nullptr && g->voiceTable()->findPoly(id) != nullptr)
            return {};
    const bool module = pending_.find(id) != nullptr || (committed_ && committed_->find(id));
    if (module) return makeError("{} is not a poly: notes go to a poly", id);
    return makeError("unknown poly '{}'", id);
}

Status PatchDryRun::write(const std::string& id, const std::string& param, float value) {
    // The engine validates against the first graph that has the module and stores everywhere.
    PatchGraph* other = committed_ ? &*committed_ : nullptr;
    PatchGraph* first = &pending_;
    if (pending_.find(id) == nullptr && other != nullptr && other->find(id) != nullptr)
        std::swap(first, other);
    if (Status s = first->setParam(id, param, value); !s) return s;
    if (other != nullptr && other->find(id) != nullptr) (void)other->setParam(id, param, value);
    return {};
}

Status PatchDryRun::writeChoice(const std::string& id, const std::string& param,
                                const std::string& choice) {
    const PatchGraph* g = pending_.find(id) != nullptr || !committed_ ? &pending_ : &*committed_;
    if (g->find(id) == nullptr) return makeError("unknown module id '{}'", id);
    // The name resolved exactly as the graph does (a module's or a poly's template parameter).
    auto desc = g->paramDesc(id, param);
    if (!desc) return desc.error();
    auto value = choiceValue(**desc, id, param, choice);
    if (!value) return value.error();
    return write(id, param, *value);
}

} // namespace chronus

#include "osc/command_message.h"

namespace chronus::osc {

OscMessage commandMessage(const ControlCommand& cmd) {
    OscMessage m{commandAddress(cmd), {}};
    std::visit(
        [&m](const auto& c) {
            using T = std::decay_t<decltype(c)>;
            if constexpr (std::is_same_v<T, CreateCommand>) {
                m.args = {c.id, c.type};
                if (c.createArg) m.args.emplace_back(*c.createArg);
            } else if constexpr (std::is_same_v<T, DeleteCommand>) {
                m.args = {c.id};
            } else if constexpr (std::is_same_v<T, ConnectCommand> ||
                                 std::is_same_v<T, DisconnectCommand>) {
                m.args = {c.src, c.dst};
            } else if constexpr (std::is_same_v<T, SetParamCommand>) {
                if (c.choice)
                    m.args = {*c.choice};
                else
                    m.args = {c.value};
            } else if constexpr (std::is_same_v<T, GateCommand>) {
                m.args = {c.value};
            } else if constexpr (std::is_same_v<T, IrCommand>) {
                if (!c.stage.empty()) m.args = {c.stage};
            } else if constexpr (std::is_same_v<T, VoiceBeginCommand>) {
                m.args = {c.name};
            } else if constexpr (std::is_same_v<T, VoiceMapCommand>) {
                m.args = {c.name, c.role, c.target};
                if (c.range) m.args.insert(m.args.end(), {c.range->first, c.range->second});
            } else if constexpr (std::is_same_v<T, CreatePolyCommand>) {
                m.args = {c.id, std::string("poly"), c.templateName, c.voices};
            } else if constexpr (std::is_same_v<T, NoteCommand>) {
                m.args = {c.id};
                if (c.kind == NoteCommand::on || c.kind == NoteCommand::off)
                    m.args.emplace_back(float(c.note));
                if (c.kind != NoteCommand::off) m.args.emplace_back(c.value);
            } else if constexpr (std::is_same_v<T, MidiRouteCommand>) {
                m.args = {float(c.channel), c.id};
            } else if constexpr (std::is_same_v<T, MidiCcCommand>) {
                m.args = {float(c.channel), float(c.cc), c.id + ":" + c.param};
                if (c.explicitRange) m.args.insert(m.args.end(), {c.lo, c.hi});
            } else if constexpr (std::is_same_v<T, MidiBendCommand>) {
                m.args = {c.semitones};
            }
        },
        cmd);
    return m;
}

} // namespace chronus::osc

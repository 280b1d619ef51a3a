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
            }
        },
        cmd);
    return m;
}

} // namespace chronus::osc

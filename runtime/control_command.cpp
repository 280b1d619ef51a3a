#include "runtime/control_command.h"

#include <cmath>

namespace chronus {

namespace {

Expected<std::string> stringArg(const std::string& addr, const std::vector<PatchArg>& args,
                                size_t i, const char* what) {
    if (i >= args.size()) return makeError("{}: missing argument {} ({})", addr, i + 1, what);
    if (const auto* s = std::get_if<std::string>(&args[i])) return *s;
    // Ids like "1" arrive as numbers from a text line; accept whole numbers as their text.
    float v = std::get<float>(args[i]);
    if (v == std::floor(v) && std::fabs(v) < 1e9f)
        return fmt::format("{}", static_cast<long long>(v));
    return makeError("{}: argument {} ({}) must be a string, got {}", addr, i + 1, what, v);
}

Expected<float> numberArg(const std::string& addr, const std::vector<PatchArg>& args, size_t i,
                          const char* what) {
    if (i >= args.size()) return makeError("{}: missing argument {} ({})", addr, i + 1, what);
    if (const auto* v = std::get_if<float>(&args[i])) {
        if (!std::isfinite(*v)) return makeError("{}: {} must be finite", addr, what);
        return *v;
    }
    return makeError("{}: argument {} ({}) must be a number, got '{}'", addr, i + 1, what,
                     std::get<std::string>(args[i]));
}

Status arity(const std::string& addr, const std::vector<PatchArg>& args, size_t lo, size_t hi) {
    if (args.size() < lo || args.size() > hi) {
        if (lo == hi) return makeError("{}: takes {} argument(s), got {}", addr, lo, args.size());
        return makeError("{}: takes {} to {} arguments, got {}", addr, lo, hi, args.size());
    }
    return {};
}

} // namespace

Expected<ControlCommand> decodeCommand(const std::string& addr, const std::vector<PatchArg>& args) {
#define CHRONUS_TRY(var, expr)                                                                     \
    auto var = (expr);                                                                             \
    if (!var) return var.error();
    if (addr == "/patch/create") {
        if (Status s = arity(addr, args, 2, 3); !s) return s.error();
        CHRONUS_TRY(id, stringArg(addr, args, 0, "id"));
        CHRONUS_TRY(type, stringArg(addr, args, 1, "type"));
        CreateCommand c{*id, *type, std::nullopt};
        if (args.size() == 3) {
            CHRONUS_TRY(arg, numberArg(addr, args, 2, "creation argument"));
            c.createArg = *arg;
        }
        return ControlCommand{c};
    }
    if (addr == "/patch/delete") {
        if (Status s = arity(addr, args, 1, 1); !s) return s.error();
        CHRONUS_TRY(id, stringArg(addr, args, 0, "id"));
        return ControlCommand{DeleteCommand{*id}};
    }
    if (addr == "/patch/connect" || addr == "/patch/disconnect") {
        if (Status s = arity(addr, args, 2, 2); !s) return s.error();
        CHRONUS_TRY(src, stringArg(addr, args, 0, "source"));
        CHRONUS_TRY(dst, stringArg(addr, args, 1, "destination"));
        if (addr == "/patch/connect") return ControlCommand{ConnectCommand{*src, *dst}};
        return ControlCommand{DisconnectCommand{*src, *dst}};
    }
    if (addr == "/patch/commit" || addr == "/patch/abort" || addr == "/patch/dump" ||
        addr == "/engine/status" || addr == "/engine/quit") {
        if (Status s = arity(addr, args, 0, 0); !s) return s.error();
        if (addr == "/patch/commit") return ControlCommand{CommitCommand{}};
        if (addr == "/patch/abort") return ControlCommand{AbortCommand{}};
        if (addr == "/patch/dump") return ControlCommand{DumpCommand{}};
        if (addr == "/engine/status") return ControlCommand{StatusCommand{}};
        return ControlCommand{QuitCommand{}};
    }
    if (addr == "/patch/ir") {
        if (Status s = arity(addr, args, 0, 1); !s) return s.error();
        IrCommand c;
        if (!args.empty()) {
            CHRONUS_TRY(stage, stringArg(addr, args, 0, "stage"));
            if (*stage != "lowered" && *stage != "optimized" && *stage != "asm")
                return makeError("{}: stage must be lowered, optimized or asm, got '{}'", addr,
                                 *stage);
            c.stage = *stage;
        }
        return ControlCommand{c};
    }
    if (addr.starts_with("/mod/")) {
        auto rest = addr.substr(5);
        auto slash = rest.find('/');
        if (slash == std::string::npos || slash == 0 || slash + 1 == rest.size() ||
            rest.find('/', slash + 1) != std::string::npos)
            return makeError("{}: write /mod/<id>/<param>", addr);
        if (Status s = arity(addr, args, 1, 1); !s) return s.error();
        SetParamCommand c{rest.substr(0, slash), rest.substr(slash + 1), 0, std::nullopt};
        if (const auto* name = std::get_if<std::string>(&args[0])) {
            c.choice = *name;
            return ControlCommand{c};
        }
        CHRONUS_TRY(v, numberArg(addr, args, 0, "value"));
        c.value = *v;
        return ControlCommand{c};
    }
    if (addr.starts_with("/gate/")) {
        auto id = addr.substr(6);
        if (id.empty() || id.find('/') != std::string::npos)
            return makeError("{}: write /gate/<id>", addr);
        if (Status s = arity(addr, args, 1, 1); !s) return s.error();
        CHRONUS_TRY(v, numberArg(addr, args, 0, "gate"));
        if (*v != 0.0f && *v != 1.0f) return makeError("{}: gate must be 0 or 1, got {}", addr, *v);
        return ControlCommand{GateCommand{id, *v}};
    }
#undef CHRONUS_TRY
    return makeError("{}: unknown address", addr);
}

std::string commandAddress(const ControlCommand& cmd) {
    return std::visit(
        [](const auto& c) -> std::string {
            using T = std::decay_t<decltype(c)>;
            if constexpr (std::is_same_v<T, CreateCommand>)
                return "/patch/create";
            else if constexpr (std::is_same_v<T, DeleteCommand>)
                return "/patch/delete";
            else if constexpr (std::is_same_v<T, ConnectCommand>)
                return "/patch/connect";
            else if constexpr (std::is_same_v<T, DisconnectCommand>)
                return "/patch/disconnect";
            else if constexpr (std::is_same_v<T, CommitCommand>)
                return "/patch/commit";
            else if constexpr (std::is_same_v<T, AbortCommand>)
                return "/patch/abort";
            else if constexpr (std::is_same_v<T, SetParamCommand>)
                return "/mod/" + c.id + "/" + c.param;
            else if constexpr (std::is_same_v<T, GateCommand>)
                return "/gate/" + c.id;
            else if constexpr (std::is_same_v<T, DumpCommand>)
                return "/patch/dump";
            else if constexpr (std::is_same_v<T, IrCommand>)
                return "/patch/ir";
            else if constexpr (std::is_same_v<T, StatusCommand>)
                return "/engine/status";
            else
                return "/engine/quit";
        },
        cmd);
}

CommandKind commandKind(const ControlCommand& cmd) {
    return std::visit(
        [](const auto& c) {
            using T = std::decay_t<decltype(c)>;
            if constexpr (std::is_same_v<T, CreateCommand> || std::is_same_v<T, DeleteCommand> ||
                          std::is_same_v<T, ConnectCommand> || std::is_same_v<T, DisconnectCommand>)
                return CommandKind::edit;
            else if constexpr (std::is_same_v<T, CommitCommand>)
                return CommandKind::commit;
            else if constexpr (std::is_same_v<T, AbortCommand>)
                return CommandKind::abort;
            else if constexpr (std::is_same_v<T, SetParamCommand> || std::is_same_v<T, GateCommand>)
                return CommandKind::write;
            else if constexpr (std::is_same_v<T, DumpCommand> || std::is_same_v<T, IrCommand> ||
                               std::is_same_v<T, StatusCommand>)
                return CommandKind::query;
            else {
                static_assert(std::is_same_v<T, QuitCommand>);
                return CommandKind::quit;
            }
        },
        cmd);
}

bool isSchedulable(const ControlCommand& cmd) {
    if (const auto* p = std::get_if<SetParamCommand>(&cmd)) return !p->choice;
    return std::holds_alternative<GateCommand>(cmd);
}

} // namespace chronus

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
    if (addr == "/patch/create" && args.size() >= 2 &&
        std::holds_alternative<std::string>(args[1]) && std::get<std::string>(args[1]) == "poly") {
        if (Status s = arity(addr, args, 4, 4); !s)
            return makeError("{}: a poly takes ID poly TEMPLATE VOICES", addr);
        CHRONUS_TRY(id, stringArg(addr, args, 0, "id"));
        CHRONUS_TRY(name, stringArg(addr, args, 2, "voice template"));
        CHRONUS_TRY(voices, numberArg(addr, args, 3, "voices"));
        return ControlCommand{CreatePolyCommand{*id, *name, *voices}};
    }
    if (addr == "/voice/begin") {
        if (Status s = arity(addr, args, 1, 1); !s) return s.error();
        CHRONUS_TRY(name, stringArg(addr, args, 0, "template name"));
        return ControlCommand{VoiceBeginCommand{*name}};
    }
    if (addr == "/voice/end") {
        if (Status s = arity(addr, args, 0, 0); !s) return s.error();
        return ControlCommand{VoiceEndCommand{}};
    }
    if (addr == "/voice/map") {
        if (Status s = arity(addr, args, 3, 5); !s) return s.error();
        if (args.size() == 4) return makeError("{}: a range takes both LO and HI", addr);
        CHRONUS_TRY(name, stringArg(addr, args, 0, "template name"));
        CHRONUS_TRY(role, stringArg(addr, args, 1, "role"));
        CHRONUS_TRY(target, stringArg(addr, args, 2, "target"));
        VoiceMapCommand c{*name, *role, *target, std::nullopt};
        if (args.size() == 5) {
            CHRONUS_TRY(lo, numberArg(addr, args, 3, "low"));
            CHRONUS_TRY(hi, numberArg(addr, args, 4, "high"));
            c.range = std::pair{*lo, *hi};
        }
        return ControlCommand{c};
    }
    if (addr == "/note/on" || addr == "/note/off" || addr == "/note/pedal" ||
        addr == "/note/bend") {
        const bool on = addr == "/note/on", off = addr == "/note/off";
        const size_t n = on ? 3 : 2;
        if (Status s = arity(addr, args, n, n); !s) return s.error();
        CHRONUS_TRY(id, stringArg(addr, args, 0, "poly id"));
        NoteCommand c;
        c.id = *id;
        if (on || off) {
            CHRONUS_TRY(note, numberArg(addr, args, 1, "note"));
            if (*note < 0 || *note > 127 || *note != std::floor(*note))
                return makeError("{}: note {} must be a whole number in [0, 127]", addr, *note);
            c.note = static_cast<uint16_t>(*note);
            c.kind = on ? NoteCommand::on : NoteCommand::off;
            if (on) {
                CHRONUS_TRY(vel, numberArg(addr, args, 2, "velocity"));
                if (*vel < 1 || *vel > 127 || *vel != std::floor(*vel))
                    return makeError("{}: velocity {} must be a whole number in [1, 127] (a note "
                                     "off is /note/off)",
                                     addr, *vel);
                c.value = *vel;
            }
        } else {
            CHRONUS_TRY(v, numberArg(addr, args, 1, "value"));
            if (addr == "/note/pedal") {
                if (*v != 0.0f && *v != 1.0f)
                    return makeError("{}: pedal must be 0 (up) or 1 (down), got {}", addr, *v);
                c.kind = NoteCommand::pedal;
            } else {
                if (!(*v >= -48 && *v <= 48))
                    return makeError("{}: bend {} semitones is outside [-48, 48]", addr, *v);
                c.kind = NoteCommand::bend;
            }
            c.value = *v;
        }
        return ControlCommand{c};
    }
    if (addr == "/midi/route" || addr == "/midi/cc") {
        const bool cc = addr == "/midi/cc";
        if (Status s = arity(addr, args, cc ? 3 : 2, cc ? 5 : 2); !s) return s.error();
        if (args.size() == 4) return makeError("{}: a range takes both LO and HI", addr);
        CHRONUS_TRY(ch, numberArg(addr, args, 0, "channel"));
        if (*ch < 1 || *ch > 16 || *ch != std::floor(*ch))
            return makeError("{}: channel {} must be a whole number in [1, 16]", addr, *ch);
        if (!cc) {
            CHRONUS_TRY(id, stringArg(addr, args, 1, "poly id"));
            return ControlCommand{MidiRouteCommand{static_cast<int>(*ch), *id}};
        }
        CHRONUS_TRY(num, numberArg(addr, args, 1, "controller"));
        if (*num < 0 || *num > 127 || *num != std::floor(*num))
            return makeError("{}: controller {} must be a whole number in [0, 127]", addr, *num);
        CHRONUS_TRY(target, stringArg(addr, args, 2, "target"));
        const auto colon = target->find(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == target->size())
            return makeError("{}: target '{}' must be ID:PARAM", addr, *target);
        MidiCcCommand c{static_cast<int>(*ch), static_cast<int>(*num), target->substr(0, colon),
                        target->substr(colon + 1)};
        if (args.size() == 5) {
            CHRONUS_TRY(lo, numberArg(addr, args, 3, "low"));
            CHRONUS_TRY(hi, numberArg(addr, args, 4, "high"));
            c.lo = *lo;
            c.hi = *hi;
            c.explicitRange = true;
        }
        return ControlCommand{c};
    }
    if (addr == "/midi/bend") {
        if (Status s = arity(addr, args, 1, 1); !s) return s.error();
        CHRONUS_TRY(v, numberArg(addr, args, 0, "semitones"));
        if (!(*v >= 0 && *v <= 48))
            return makeError("{}: bend range {} semitones is outside [0, 48]", addr, *v);
        return ControlCommand{MidiBendCommand{*v}};
    }
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
            else if constexpr (std::is_same_v<T, VoiceBeginCommand>)
                return "/voice/begin";
            else if constexpr (std::is_same_v<T, VoiceEndCommand>)
                return "/voice/end";
            else if constexpr (std::is_same_v<T, VoiceMapCommand>)
                return "/voice/map";
            else if constexpr (std::is_same_v<T, CreatePolyCommand>)
                return "/patch/create";
            else if constexpr (std::is_same_v<T, NoteCommand>) {
                constexpr const char* kNames[] = {"", "/note/on", "/note/off", "/note/pedal",
                                                  "/note/bend"};
                return kNames[c.kind];
            } else if constexpr (std::is_same_v<T, MidiRouteCommand>)
                return "/midi/route";
            else if constexpr (std::is_same_v<T, MidiCcCommand>)
                return "/midi/cc";
            else if constexpr (std::is_same_v<T, MidiBendCommand>)
                return "/midi/bend";
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
                          std::is_same_v<T, ConnectCommand> ||
                          std::is_same_v<T, DisconnectCommand> ||
                          std::is_same_v<T, VoiceBeginCommand> ||
                          std::is_same_v<T, VoiceEndCommand> ||
                          std::is_same_v<T, VoiceMapCommand> ||
                          std::is_same_v<T, CreatePolyCommand>)
                return CommandKind::edit;
            else if constexpr (std::is_same_v<T, CommitCommand>)
                return CommandKind::commit;
            else if constexpr (std::is_same_v<T, AbortCommand>)
                return CommandKind::abort;
            else if constexpr (std::is_same_v<T, SetParamCommand> ||
                               std::is_same_v<T, GateCommand> || std::is_same_v<T, NoteCommand> ||
                               std::is_same_v<T, MidiRouteCommand> ||
                               std::is_same_v<T, MidiCcCommand> ||
                               std::is_same_v<T, MidiBendCommand>)
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
    return std::holds_alternative<GateCommand>(cmd) || std::holds_alternative<NoteCommand>(cmd);
}

} // namespace chronus

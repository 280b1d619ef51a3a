// Fuzz target: patch-file text through the parser, decodeCommand and the graph (see targets.h).
#include "compiler/patch_graph.h"
#include "compiler/schedule.h"
#include "fuzz/targets.h"
#include "runtime/control_command.h"
#include "runtime/patch_file.h"

#include <string>

namespace chronus::fuzz {

namespace {

/// Applies an edit or a parameter line to `g` as the engine does (a gate is the `gate` parameter);
/// other commands change nothing.
Status applyTo(PatchGraph& g, const ControlCommand& cmd) {
    if (const auto* c = std::get_if<CreateCommand>(&cmd))
        return g.create(c->id, c->type, c->createArg);
    if (const auto* d = std::get_if<DeleteCommand>(&cmd)) return g.remove(d->id);
    if (const auto* k = std::get_if<ConnectCommand>(&cmd)) return g.connect(k->src, k->dst);
    if (const auto* k = std::get_if<DisconnectCommand>(&cmd)) return g.disconnect(k->src, k->dst);
    if (const auto* m = std::get_if<SetParamCommand>(&cmd))
        return m->choice ? g.setParamChoice(m->id, m->param, *m->choice)
                         : g.setParam(m->id, m->param, m->value);
    if (const auto* t = std::get_if<GateCommand>(&cmd)) return g.setParam(t->id, "gate", t->value);
    return {};
}

} // namespace

int patchText(const uint8_t* data, std::size_t size) {
    if (size > 16384) return 0; // long inputs only repeat short ones, slower
    const std::string text(reinterpret_cast<const char*>(data), size);
    auto lines = parsePatchText(text);
    if (!lines) return 0;
    PatchGraph g;
    for (const PatchLine& line : *lines) {
        auto cmd = decodeCommand(line.address, line.args);
        if (!cmd) {
            (void)lineError(line, cmd.error());
            continue;
        }
        if (commandAddress(*cmd).empty()) fuzzFailure("patch_text", "a command without address");
        (void)applyTo(g, *cmd);
    }
    // Whatever the edits accepted must schedule ...
    auto schedule = buildSchedule(g);
    if (!schedule)
        fuzzFailure("patch_text",
                    ("an accepted graph does not schedule: " + schedule.error().message).c_str());
    // ... and the graph written as a patch file must replay to an identical graph.
    const std::string dump = g.toPatchText();
    auto again = parsePatchText(dump);
    if (!again)
        fuzzFailure("patch_text", ("the dump does not parse: " + again.error().message).c_str());
    PatchGraph h;
    for (const PatchLine& line : *again) {
        auto cmd = decodeCommand(line.address, line.args);
        if (!cmd)
            fuzzFailure("patch_text",
                        ("a dump line does not decode: " + cmd.error().message).c_str());
        if (Status s = applyTo(h, *cmd); !s)
            fuzzFailure("patch_text", ("a dump line is refused: " + s.message()).c_str());
    }
    if (h.toPatchText() != dump) fuzzFailure("patch_text", "the dump does not replay to itself");
    return 0;
}

} // namespace chronus::fuzz

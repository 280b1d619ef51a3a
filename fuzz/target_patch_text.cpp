// Fuzz target: patch-file text through the parser, decodeCommand, the dry run and the patch
// player's check (see targets.h).
#include "compiler/patch_graph.h"
#include "compiler/schedule.h"
#include "fuzz/targets.h"
#include "runtime/control_command.h"
#include "runtime/patch_dry_run.h"
#include "runtime/patch_file.h"
#include "runtime/patch_player.h"

#include <algorithm>
#include <string>

namespace chronus::fuzz {

int patchText(const uint8_t* data, std::size_t size) {
    if (size > 16384) return 0; // long inputs only repeat short ones, slower
    const std::string text(reinterpret_cast<const char*>(data), size);
    auto lines = parsePatchText(text);
    if (!lines) return 0;
    // Line by line through the dry run (the engine's semantics on graphs), past refusals.
    PatchDryRun dry;
    bool allAccepted = true;
    double time = 0;
    for (const PatchLine& line : *lines) {
        if (line.time) {
            allAccepted = allAccepted && *line.time >= time;
            time = std::max(time, *line.time);
        }
        auto cmd = decodeCommand(line.address, line.args);
        if (!cmd) {
            (void)lineError(line, cmd.error());
            allAccepted = false;
            continue;
        }
        if (commandAddress(*cmd).empty()) fuzzFailure("patch_text", "a command without address");
        allAccepted = dry.apply(*cmd).ok() && allAccepted;
    }
    // The player's check refuses a file exactly when some line was refused or went back in time.
    auto script = checkPatch(*lines, "fuzz");
    if (script.ok() && !allAccepted)
        fuzzFailure("patch_text", "the check accepts a file with a bad line");
    if (!script.ok() && allAccepted)
        fuzzFailure("patch_text",
                    ("the check refuses a good file: " + script.error().message).c_str());
    const PatchGraph& g = dry.pending();
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
    PatchDryRun h;
    for (const PatchLine& line : *again) {
        auto cmd = decodeCommand(line.address, line.args);
        if (!cmd)
            fuzzFailure("patch_text",
                        ("a dump line does not decode: " + cmd.error().message).c_str());
        if (Status s = h.apply(*cmd); !s)
            fuzzFailure("patch_text", ("a dump line is refused: " + s.message()).c_str());
    }
    if (h.pending().toPatchText() != dump)
        fuzzFailure("patch_text", "the dump does not replay to itself");
    return 0;
}

} // namespace chronus::fuzz

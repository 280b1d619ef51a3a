// The server's own conventions, as scsynth has them: `/version`, `/status`, `/sync id` and
// `/notify 1|0`. They are about the server and the conversation with it, not the patch, so they
// are not control commands (a patch file has no use for them) and the dispatcher answers them.
#pragma once

#include "osc/osc_message.h"
#include "runtime/engine.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chronus::osc {

/// True for an address answered here rather than decoded as a control command.
bool isServerMessage(const std::string& address);

/// `/version.reply`'s arguments, in scsynth's order: program name, major version, minor version,
/// patch version (".0"), git branch and commit (empty: not recorded in the build).
std::vector<OscValue> versionReply();

/// `/status.reply`'s arguments, in scsynth's order where the meanings match: 1 (unused), unit
/// generators (modules playing), synths (1 while a patch plays, else 0), groups (0), definitions
/// (0), average and peak CPU (the callback's median and maximum load, in per cent), nominal and
/// actual sample rate (the same: the engine's clock is the device's).
std::vector<OscValue> statusReply(const EngineStatus& st, int32_t modulesPlaying);

/// The modules in a patch as dump() writes it (its /patch/create lines).
int32_t countModules(const std::string& patchText);

/// `/sync`'s id or `/notify`'s flag: the one whole number it takes; nothing if it is not that.
std::optional<int32_t> syncId(const std::vector<PatchArg>& args);

} // namespace chronus::osc

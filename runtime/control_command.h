// The control vocabulary shared by OSC messages and patch-file lines: an address and its
// arguments decoded into one typed command, or an error naming the address and what was wrong.
#pragma once

#include "base/expected.h"
#include "runtime/patch_file.h"

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace chronus {

struct CreateCommand {
    std::string id, type;
    std::optional<float> createArg;
};
struct DeleteCommand {
    std::string id;
};
struct ConnectCommand {
    std::string src, dst;
};
struct DisconnectCommand {
    std::string src, dst;
};
struct CommitCommand {};
struct AbortCommand {};
struct SetParamCommand {
    std::string id, param;
    float value = 0;
    std::optional<std::string> choice; ///< `/mod/f1/mode hp`: a choice parameter's value by name
};
struct GateCommand {
    std::string id;
    float value;
};
struct DumpCommand {};
struct IrCommand {
    std::string stage; ///< lowered | optimized | asm; empty: optimized
};
struct StatusCommand {};
struct QuitCommand {};

using ControlCommand = std::variant<CreateCommand, DeleteCommand, ConnectCommand, DisconnectCommand,
                                    CommitCommand, AbortCommand, SetParamCommand, GateCommand,
                                    DumpCommand, IrCommand, StatusCommand, QuitCommand>;

/// Decodes `/patch/create osc1 simple_sine`, `/mod/osc1/freq 440`, `/gate/env1 1`, ...
Expected<ControlCommand> decodeCommand(const std::string& address,
                                       const std::vector<PatchArg>& args);

/// The address a command is written with (for logs and replies).
std::string commandAddress(const ControlCommand& cmd);

/// What a command does. The one classification every player of commands uses (the OSC
/// dispatcher, the patch-file player and its dry run); Engine::apply is the one place that runs
/// them.
enum class CommandKind {
    edit,   ///< create, delete, connect, disconnect: changes the pending patch
    commit, ///< compiles the pending patch and swaps it in
    abort,  ///< drops the pending edits
    write,  ///< a parameter or gate value: reaches the playing patch (and any commit in flight)
    query,  ///< dump, ir, status: a reply, changes nothing
    quit,   ///< asks the server that received it to stop; nothing to a patch file
};
CommandKind commandKind(const ControlCommand& cmd);

/// A write that can land on an exact future engine sample (Engine::applyAt): a `/mod` with a
/// number, or a `/gate`. A choice by name is resolved against the module when it is applied, so
/// it is applied when due, like an edit.
bool isSchedulable(const ControlCommand& cmd);

} // namespace chronus

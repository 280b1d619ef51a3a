// The control vocabulary shared by OSC messages and patch-file lines: an address and its
// arguments decoded into one typed command, or an error naming the address and what was wrong.
#pragma once

#include "base/expected.h"
#include "runtime/patch_file.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
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
/// /voice/begin NAME: the edits up to /voice/end define voice template NAME.
struct VoiceBeginCommand {
    std::string name;
};
struct VoiceEndCommand {};
/// /voice/map NAME pitch|gate|velocity ID:PARAM [LO HI]
struct VoiceMapCommand {
    std::string name, role, target;
    std::optional<std::pair<float, float>> range;
};
/// /patch/create ID poly NAME N
struct CreatePolyCommand {
    std::string id, templateName;
    float voices = 0;
};
/// /note/on ID NOTE VEL, /note/off ID NOTE, /note/pedal ID 0|1, /note/bend ID SEMITONES.
struct NoteCommand {
    enum Kind : uint8_t { on = 1, off = 2, pedal = 3, bend = 4 }; ///< TimedEventKind's numbers
    Kind kind = on;
    std::string id;
    uint16_t note = 0;
    float value = 0; ///< velocity 1..127, pedal 0|1, bend in semitones
};

/// /midi/route CHANNEL ID: MIDI channel 1..16's notes, pedal and bend to poly ID.
struct MidiRouteCommand {
    int channel = 1;
    std::string id;
};
/// /midi/cc CHANNEL CC ID:PARAM [LO HI]: controller CC (0..127) over [LO, HI] (the parameter's
/// range unless given).
struct MidiCcCommand {
    int channel = 1, cc = 0;
    std::string id, param;
    float lo = 0, hi = 1;
    bool explicitRange = false;
};
/// /midi/bend SEMITONES: the pitch-bend range (default 2).
struct MidiBendCommand {
    float semitones = 2;
};

using ControlCommand =
    std::variant<CreateCommand, DeleteCommand, ConnectCommand, DisconnectCommand, CommitCommand,
                 AbortCommand, SetParamCommand, GateCommand, DumpCommand, IrCommand, StatusCommand,
                 QuitCommand, VoiceBeginCommand, VoiceEndCommand, VoiceMapCommand,
                 CreatePolyCommand, NoteCommand, MidiRouteCommand, MidiCcCommand, MidiBendCommand>;

/// Decodes `/patch/create osc1 simple_sine`, `/mod/osc1/freq 440`, `/gate/env1 1`, ...
Expected<ControlCommand> decodeCommand(const std::string& address,
                                       const std::vector<PatchArg>& args);

/// The address a command is written with (for logs and replies).
std::string commandAddress(const ControlCommand& cmd);

/// What a command does. The one classification every player of commands uses (the OSC
/// dispatcher, the patch-file player and its dry run); Engine::apply is the one place that runs
/// them.
enum class CommandKind {
    edit,   ///< create, delete, connect, disconnect, voices and polys: changes the pending patch
    commit, ///< compiles the pending patch and swaps it in
    abort,  ///< drops the pending edits
    write,  ///< a parameter or gate value, a note, a MIDI route: reaches what plays at once
    query,  ///< dump, ir, status: a reply, changes nothing
    quit,   ///< asks the server that received it to stop; nothing to a patch file
};
CommandKind commandKind(const ControlCommand& cmd);

/// A write that can land on an exact future engine sample (Engine::applyAt): a `/mod` with a
/// number, a `/gate` or a note (`/note/...`). A choice by name is resolved against the module when
/// it is applied, so it is applied when due, like an edit.
bool isSchedulable(const ControlCommand& cmd);

} // namespace chronus

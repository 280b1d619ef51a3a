// A Standard MIDI File played into a patch file's script (`chronus render PATCH --midi FILE`):
// each message becomes the command it means (runtime/midi_routes.h: notes, pedal and bend to its
// channel's poly, mapped controllers to their parameters) at its time, merged into the script in
// time order (a patch line before a MIDI event at the same time, so a commit at 0 plays the
// notes at 0), so the offline player lands every note on its exact sample.
#pragma once

#include "base/expected.h"
#include "midi/midi_file.h"
#include "runtime/patch_player.h"

#include <cstddef>

namespace chronus {

struct MidiMerge {
    std::size_t events = 0;   ///< commands added to the script
    std::size_t unrouted = 0; ///< notes on channels no poly plays
    /// When the file's last event has played and the longest envelope has finished: the file's
    /// end plus the longest time parameter (ms) of any module in a voice template that has an
    /// idle hook (an envelope's release, say), plus half a second for effects' tails.
    double endSeconds = 0;
};

/// Merges `file` into `script`, routed by the script's own /midi/ lines, each from its time on
/// (an event at a line's time is routed by it), and its committed patch (the default route:
/// channel 1 to its only poly).
Expected<MidiMerge> mergeMidiFile(PatchScript& script, const midi::MidiFile& file);

} // namespace chronus

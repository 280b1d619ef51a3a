// Standard MIDI Files (formats 0 and 1) read into one merged, time-ordered list of channel voice
// messages with their times in seconds, ready for an offline render to place each at its sample.
#pragma once

#include "base/expected.h"
#include "midi/midi_message.h"
#include "midi/tempo_map.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace chronus::midi {

struct MidiFileEvent {
    double seconds = 0; ///< from the start of the file, through the tempo map
    uint64_t tick = 0;  ///< absolute, in the file's division
    uint16_t track = 0; ///< the track chunk it came from, from 0
    MidiMessage message;
};

struct MidiFile {
    int format = 0; ///< 0 or 1
    uint16_t trackCount = 0;
    TempoMap tempo = TempoMap::metrical(480, {});
    /// Every channel voice message of every track, ordered by time; equal times keep the order of
    /// the file (track by track, then as written), except that at one time a note-off of a
    /// (channel, note) comes before a note-on of the same (channel, note), so a note that ends
    /// where the same note starts again (often from another track) is not cut off.
    std::vector<MidiFileEvent> events;
    std::vector<std::string> trackNames; ///< per track: its first Track Name meta event, or ""
    uint64_t endTick = 0;                ///< the latest End of Track (or last event) of any track
    double endSeconds = 0;
    std::size_t sysexSkipped = 0; ///< system exclusive events, which are skipped
};

/// Parses a whole file held in memory. A malformed or truncated file is refused with a message
/// naming the byte offset and what was expected there; a format 2 file is refused.
///
/// Lenient where the reading is unambiguous: unknown chunks are skipped (as the standard says), a
/// track may end without End of Track, a running status survives a meta or sysex event, bytes
/// after End of Track in its chunk are ignored, Set Tempo counts from whichever track it is in.
/// SMPTE division is supported (Set Tempo then has no effect, as the standard says).
Expected<MidiFile> parseMidiFile(const uint8_t* data, std::size_t size);

/// The largest file readMidiFile accepts: the longest real MIDI files are a few megabytes.
inline constexpr std::size_t kMaxMidiFileBytes = 64u << 20;

/// Reads and parses `path`; errors start with the path.
Expected<MidiFile> readMidiFile(const std::string& path);

/// The sample an event at `seconds` starts on at `sampleRate`, rounded to the nearest.
uint64_t sampleAt(double seconds, double sampleRate);

} // namespace chronus::midi

// Fuzz target: bytes as a Standard MIDI File through parseMidiFile (see targets.h). The seeds in
// fuzz/corpus/midi_file/ are small valid files (formats 0 and 1, tempo changes, running status,
// SMPTE, sysex, alien chunks) and a few malformed ones.
#include "fuzz/targets.h"
#include "midi/midi_file.h"

#include <cmath>
#include <string>
#include <vector>

namespace chronus::fuzz {

int midiFile(const uint8_t* data, std::size_t size) {
    auto file = midi::parseMidiFile(data, size);
    if (!file) {
        if (file.error().message.rfind("byte ", 0) != 0)
            fuzzFailure("midi_file",
                        ("an error without its byte offset: " + file.error().message).c_str());
        return 0;
    }
    const midi::MidiFile& f = *file;
    if (f.format != 0 && f.format != 1) fuzzFailure("midi_file", "a format other than 0 or 1");
    if (f.trackNames.size() != f.trackCount) fuzzFailure("midi_file", "a name per track");
    const midi::MidiFileEvent* prev = nullptr;
    std::vector<uint8_t> onAtTick(16 * 128, 0); // (channel, note) had a note-on at prev's tick
    std::vector<std::size_t> touched;           // the keys set in onAtTick, to clear them
    for (const midi::MidiFileEvent& e : f.events) {
        const midi::MidiMessage& m = e.message;
        if (m.channel > 15 || m.data1 > 127 || m.data2 > 127)
            fuzzFailure("midi_file", "a field out of range");
        if (m.kind == midi::MidiKind::NoteOn && m.data2 == 0)
            fuzzFailure("midi_file", "a note-on with velocity 0");
        if (e.track >= f.trackCount) fuzzFailure("midi_file", "an event of no track");
        if (e.tick > f.endTick) fuzzFailure("midi_file", "an event after the end");
        if (!std::isfinite(e.seconds) || e.seconds < 0 || e.seconds != f.tempo.secondsAt(e.tick))
            fuzzFailure("midi_file", "an event's seconds are not the tempo map's");
        if (prev != nullptr) {
            if (e.tick < prev->tick || e.seconds < prev->seconds)
                fuzzFailure("midi_file", "events out of time order");
            if (e.tick != prev->tick) {
                for (std::size_t k : touched) onAtTick[k] = 0;
                touched.clear();
            }
        }
        const std::size_t key = std::size_t(m.channel) * 128 + m.data1;
        if (m.kind == midi::MidiKind::NoteOn && !onAtTick[key]) {
            onAtTick[key] = 1;
            touched.push_back(key);
        }
        if (m.kind == midi::MidiKind::NoteOff && onAtTick[key])
            fuzzFailure("midi_file", "a note-off after a note-on of the same note at one time");
        prev = &e;
    }
    if (!(f.endSeconds >= (prev ? prev->seconds : 0.0)))
        fuzzFailure("midi_file", "the end before the last event");
    // Deterministic: the same bytes read the same.
    auto again = midi::parseMidiFile(data, size);
    if (!again || again->events.size() != f.events.size())
        fuzzFailure("midi_file", "a second read differs");
    return 0;
}

} // namespace chronus::fuzz

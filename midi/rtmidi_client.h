// Internal to midi/: an RtMidi input client on one API with its errors collected instead of
// thrown or printed, so each call site turns them into one Error.
#pragma once

#include "base/expected.h"
#include "midi/midi_ports.h"

#include <memory>
#include <rtmidi/RtMidi.h>
#include <string>

namespace chronus::midi::detail {

struct RtMidiClient {
    std::unique_ptr<RtMidiIn> in;
    std::string lastError; ///< the latest error or warning RtMidi reported, "" when none

    /// Control thread. Empty `in` and the reason when the API cannot be used here: RtMidi built
    /// without it, no ALSA sequencer device, or no JACK server to connect to.
    static Expected<std::unique_ptr<RtMidiClient>> open(MidiApi api, const std::string& clientName);

    /// The names of the source ports, in RtMidi's order (its port numbers).
    std::vector<std::string> portNames();
};

} // namespace chronus::midi::detail

// The MIDI source ports of the machine, through RtMidi: JACK MIDI output ports and ALSA sequencer
// ports a client can read from, found by (part of) their name.
#pragma once

#include "base/expected.h"

#include <string>
#include <string_view>
#include <vector>

namespace chronus::midi {

enum class MidiApi { Jack, Alsa };

/// "JACK" or "ALSA".
const char* midiApiName(MidiApi api);

struct MidiPort {
    MidiApi api = MidiApi::Jack;
    /// As the API names it: JACK "client:port"; ALSA "client:port client-number:port-number".
    std::string name;
};

struct MidiPortList {
    std::vector<MidiPort> ports;          ///< JACK's first, each API's in its own order
    std::vector<std::string> unavailable; ///< "ALSA: ..." for each API that cannot be used here
};

/// Control thread. Every source port of every API RtMidi was built with (Debian's: JACK and
/// ALSA); an API that is not running here (no JACK server, no ALSA sequencer) is listed in
/// `unavailable` with the reason. Briefly opens a client named `clientName` on each API.
MidiPortList listMidiInputPorts(const std::string& clientName = "chronus");

/// The port `pattern` names in `list`: the port whose whole name is `pattern`, else the one port
/// whose name contains it, ignoring case. An error lists the candidates when none or several
/// match. With `api`, only that API's ports are candidates.
Expected<MidiPort> findMidiInputPort(const MidiPortList& list, std::string_view pattern,
                                     const MidiApi* api = nullptr);

/// The list as lines for a person ("JACK  jack_midiseq:out"), the unavailable APIs last.
std::string formatMidiPortList(const MidiPortList& list);

} // namespace chronus::midi

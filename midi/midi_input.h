// Live MIDI input from a real port through RtMidi (JACK MIDI or the ALSA sequencer): the
// library's callback thread stamps each channel voice message with the monotonic clock and pushes
// it into a MidiEventRing that the audio thread drains with its audioThread* methods.
#pragma once

#include "base/expected.h"
#include "midi/midi_event_ring.h"
#include "midi/midi_ports.h"

#include <atomic>
#include <memory>
#include <optional>
#include <string>

namespace chronus::midi {

namespace detail {
struct RtMidiClient;
}

struct MidiInputOptions {
    /// The source port, by (part of) its name (findMidiInputPort). Empty: no source is
    /// connected; the input port is only created, for the user (or a test) to connect to it.
    std::string source;
    /// Restricts `source` to one API. With an empty `source`: the API of the port to create
    /// (default: JACK when a server is running, else ALSA).
    std::optional<MidiApi> api;
    std::string clientName = "chronus"; ///< JACK/ALSA client name (JACK adds "-01"... if taken)
    std::string portName = "midi_in";   ///< our input port: JACK "chronus:midi_in"
    std::size_t ringCapacity = MidiEventRing::kDefaultCapacity;
};

class MidiInput {
public:
    /// Control thread. Opens a client and an input port and connects `source` to it; from then
    /// on the ring fills. A source that matches no port, or several, is an error naming them.
    static Expected<std::unique_ptr<MidiInput>> open(const MidiInputOptions& options);

    /// Control thread. Closes the port and stops the library's callback thread; the ring goes
    /// with it, so the audio thread must have stopped draining it before.
    ~MidiInput();
    MidiInput(const MidiInput&) = delete;
    MidiInput& operator=(const MidiInput&) = delete;

    /// Where received events go; the audio thread drains it (audioThread* methods).
    MidiEventRing& ring() { return ring_; }
    MidiApi api() const { return api_; }
    /// The source port connected at open ("" when none was asked for).
    const std::string& sourceName() const { return source_; }
    /// Any thread: messages received that were not channel voice messages (clock, sysex pieces,
    /// system common), so not pushed.
    uint64_t ignored() const { return ignored_.load(std::memory_order_relaxed); }

private:
    MidiInput(std::size_t capacity, MidiApi api);
    static void onMessage(double, std::vector<unsigned char>* bytes, void* self);

    MidiEventRing ring_;
    MidiApi api_;
    std::string source_;
    std::atomic<uint64_t> ignored_{0};
    std::unique_ptr<detail::RtMidiClient> client_; // last: closed first, before the ring goes
};

} // namespace chronus::midi

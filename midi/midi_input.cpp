#include "midi/midi_input.h"

#include "midi/midi_clock.h"
#include "midi/rtmidi_client.h"

#include <algorithm>

namespace chronus::midi {

MidiInput::MidiInput(std::size_t capacity, MidiApi api) : ring_(capacity), api_(api) {}

MidiInput::~MidiInput() {
    if (client_ && client_->in) {
        client_->in->closePort(); // ALSA: joins the input thread; JACK: unregisters the port
        client_->in->cancelCallback();
    }
}

// RtMidi's input thread (ALSA's, or the JACK process thread of RtMidi's own client): a clock
// read and a wait-free push, nothing that could block the JACK graph.
void MidiInput::onMessage(double, std::vector<unsigned char>* bytes, void* self) {
    auto* input = static_cast<MidiInput*>(self);
    const uint64_t now = monotonicNowNs();
    const auto m = decodeChannelMessage(bytes->data(), bytes->size());
    if (!m) {
        input->ignored_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    (void)input->ring_.inputThreadPush({now, *m});
}

Expected<std::unique_ptr<MidiInput>> MidiInput::open(const MidiInputOptions& options) {
    MidiPort source;
    std::unique_ptr<detail::RtMidiClient> client;
    if (!options.source.empty()) {
        auto port = findMidiInputPort(listMidiInputPorts(options.clientName), options.source,
                                      options.api ? &*options.api : nullptr);
        if (!port) return port.error();
        source = *port;
        auto c = detail::RtMidiClient::open(source.api, options.clientName);
        if (!c) return makeError("{} MIDI: {}", midiApiName(source.api), c.error().message);
        client = c.take();
    } else if (options.api) {
        auto c = detail::RtMidiClient::open(*options.api, options.clientName);
        if (!c) return makeError("{} MIDI: {}", midiApiName(*options.api), c.error().message);
        client = c.take();
        source.api = *options.api;
    } else {
        auto jack = detail::RtMidiClient::open(MidiApi::Jack, options.clientName);
        if (jack) {
            client = jack.take();
            source.api = MidiApi::Jack;
        } else {
            auto alsa = detail::RtMidiClient::open(MidiApi::Alsa, options.clientName);
            if (!alsa)
                return makeError("no MIDI system to open a port on: JACK: {}; ALSA: {}",
                                 jack.error().message, alsa.error().message);
            client = alsa.take();
            source.api = MidiApi::Alsa;
        }
    }

    // The input owns the client from here: any early return closes the port before the ring and
    // the callback's `self` go.
    std::unique_ptr<MidiInput> input(new MidiInput(options.ringCapacity, source.api));
    input->client_ = std::move(client);
    detail::RtMidiClient& c = *input->client_;
    RtMidiIn& in = *c.in;
    try {
        in.ignoreTypes(true, true, true); // sysex, clock/time code, active sensing: not notes
        in.setCallback(onMessage, input.get());
        if (source.name.empty()) {
            in.openVirtualPort(options.portName);
        } else {
            // The port numbers are this client's own listing; look the name up again in it, as
            // the port set may have changed since the search.
            const auto names = c.portNames();
            const auto it = std::find(names.begin(), names.end(), source.name);
            if (it == names.end())
                return makeError("{} MIDI port \"{}\" went away before it could be opened",
                                 midiApiName(source.api), source.name);
            in.openPort(static_cast<unsigned>(it - names.begin()), options.portName);
            input->source_ = source.name;
        }
    } catch (const RtMidiError& e) {
        return makeError("{} MIDI: {}", midiApiName(source.api), e.getMessage());
    }
    if (!c.lastError.empty()) return makeError("{} MIDI: {}", midiApiName(source.api), c.lastError);
    return input;
}

} // namespace chronus::midi

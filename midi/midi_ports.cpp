#include "midi/midi_ports.h"

#include "midi/rtmidi_client.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>

namespace chronus::midi {

const char* midiApiName(MidiApi api) {
    return api == MidiApi::Jack ? "JACK" : "ALSA";
}

MidiPortList listMidiInputPorts(const std::string& clientName) {
    MidiPortList list;
    for (MidiApi api : {MidiApi::Jack, MidiApi::Alsa}) {
        auto client = detail::RtMidiClient::open(api, clientName);
        if (!client) {
            list.unavailable.push_back(
                fmt::format("{}: {}", midiApiName(api), client.error().message));
            continue;
        }
        for (std::string& name : (*client)->portNames())
            list.ports.push_back({api, std::move(name)});
    }
    return list;
}

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string candidates(const std::vector<const MidiPort*>& ports) {
    std::string s;
    for (const MidiPort* p : ports) s += fmt::format("\n  {}  {}", midiApiName(p->api), p->name);
    return s;
}

} // namespace

Expected<MidiPort> findMidiInputPort(const MidiPortList& list, std::string_view pattern,
                                     const MidiApi* api) {
    std::vector<const MidiPort*> all, matches;
    for (const MidiPort& p : list.ports)
        if (api == nullptr || p.api == *api) all.push_back(&p);
    for (const MidiPort* p : all)
        if (p->name == pattern) return *p;
    const std::string needle = lower(pattern);
    for (const MidiPort* p : all)
        if (lower(p->name).find(needle) != std::string::npos) matches.push_back(p);
    if (matches.size() == 1) return *matches.front();
    std::string why;
    for (const std::string& u : list.unavailable) why += "\n  (" + u + ")";
    if (matches.empty())
        return makeError("no MIDI input port matches \"{}\"; {}{}{}", pattern,
                         all.empty() ? "there are none" : "the ports are:", candidates(all), why);
    return makeError("\"{}\" matches {} MIDI input ports; name one of them whole:{}", pattern,
                     matches.size(), candidates(matches));
}

std::string formatMidiPortList(const MidiPortList& list) {
    std::string s;
    for (const MidiPort& p : list.ports) s += fmt::format("{}  {}\n", midiApiName(p.api), p.name);
    if (list.ports.empty()) s += "no MIDI input ports\n";
    for (const std::string& u : list.unavailable) s += fmt::format("({})\n", u);
    return s;
}

} // namespace chronus::midi

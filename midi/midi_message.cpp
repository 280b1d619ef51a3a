#include "midi/midi_message.h"

#include <fmt/format.h>

namespace chronus::midi {

int channelDataBytes(uint8_t status) {
    if (status < 0x80 || status >= 0xF0) return 0;
    const uint8_t type = status & 0xF0;
    return type == 0xC0 || type == 0xD0 ? 1 : 2;
}

MidiMessage makeChannelMessage(uint8_t status, uint8_t data1, uint8_t data2) {
    MidiMessage m;
    m.channel = status & 0x0F;
    m.data1 = data1;
    m.data2 = data2;
    switch (status & 0xF0) {
    case 0x80:
        m.kind = MidiKind::NoteOff;
        break;
    case 0x90:
        m.kind = data2 == 0 ? MidiKind::NoteOff : MidiKind::NoteOn;
        if (data2 == 0) m.data2 = kDefaultReleaseVelocity;
        break;
    case 0xA0:
        m.kind = MidiKind::PolyPressure;
        break;
    case 0xB0:
        m.kind = MidiKind::ControlChange;
        break;
    case 0xC0:
        m.kind = MidiKind::ProgramChange;
        m.data2 = 0;
        break;
    case 0xD0:
        m.kind = MidiKind::ChannelPressure;
        m.data2 = 0;
        break;
    default:
        m.kind = MidiKind::PitchBend;
        break;
    }
    return m;
}

std::optional<MidiMessage> decodeChannelMessage(const uint8_t* bytes, std::size_t size) {
    if (size == 0) return std::nullopt;
    const int n = channelDataBytes(bytes[0]);
    if (n == 0 || size != std::size_t(n) + 1) return std::nullopt;
    for (std::size_t i = 1; i < size; ++i)
        if (bytes[i] >= 0x80) return std::nullopt;
    return makeChannelMessage(bytes[0], bytes[1], n == 2 ? bytes[2] : uint8_t{0});
}

std::string describe(const MidiMessage& m) {
    const int ch = m.channel + 1;
    switch (m.kind) {
    case MidiKind::NoteOff:
        return fmt::format("note-off ch {} note {} vel {}", ch, m.data1, m.data2);
    case MidiKind::NoteOn:
        return fmt::format("note-on ch {} note {} vel {}", ch, m.data1, m.data2);
    case MidiKind::PolyPressure:
        return fmt::format("poly-pressure ch {} note {} value {}", ch, m.data1, m.data2);
    case MidiKind::ControlChange:
        return fmt::format("cc ch {} controller {} value {}", ch, m.data1, m.data2);
    case MidiKind::ProgramChange:
        return fmt::format("program ch {} program {}", ch, m.data1);
    case MidiKind::ChannelPressure:
        return fmt::format("pressure ch {} value {}", ch, m.data1);
    case MidiKind::PitchBend:
        return fmt::format("pitch-bend ch {} {}", ch, m.pitchBend());
    }
    return "?";
}

} // namespace chronus::midi

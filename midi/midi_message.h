// One MIDI channel voice message, decoded: the vocabulary shared by the MIDI file reader and live
// input. Fixed size and trivially copyable, so it travels through the lock-free ring as it is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace chronus::midi {

enum class MidiKind : uint8_t {
    NoteOff,         ///< data1 note, data2 release velocity
    NoteOn,          ///< data1 note, data2 velocity 1..127 (velocity 0 is decoded as NoteOff)
    PolyPressure,    ///< data1 note, data2 pressure
    ControlChange,   ///< data1 controller, data2 value
    ProgramChange,   ///< data1 program
    ChannelPressure, ///< data1 pressure
    PitchBend,       ///< data1 LSB, data2 MSB; see MidiMessage::pitchBend()
};

/// A channel voice message. `channel` is 0..15 (what players call channel 1..16); data bytes are
/// 0..127; a one-data-byte message has data2 == 0.
struct MidiMessage {
    MidiKind kind = MidiKind::NoteOff;
    uint8_t channel = 0;
    uint8_t data1 = 0;
    uint8_t data2 = 0;

    uint8_t note() const { return data1; }
    uint8_t velocity() const { return data2; }
    uint8_t controller() const { return data1; }
    uint8_t value() const { return data2; }
    uint8_t program() const { return data1; }
    uint8_t pressure() const { return kind == MidiKind::PolyPressure ? data2 : data1; }
    /// Pitch bend as a signed offset from the centre: -8192..8191 (0 = no bend).
    int pitchBend() const { return (int(data2) << 7 | int(data1)) - 8192; }

    friend bool operator==(const MidiMessage&, const MidiMessage&) = default;
};

/// The MIDI velocity a note-on with velocity 0 gets as a note-off (the MIDI 1.0 default).
inline constexpr uint8_t kDefaultReleaseVelocity = 64;

/// How many data bytes follow a channel voice status byte (0x80..0xEF): 1 or 2; 0 for any other
/// byte.
int channelDataBytes(uint8_t status);

/// Decodes `status` and its data bytes (which the caller has checked are < 0x80) into a message;
/// a note-on with velocity 0 becomes a NoteOff with kDefaultReleaseVelocity.
MidiMessage makeChannelMessage(uint8_t status, uint8_t data1, uint8_t data2);

/// Decodes one complete message as a MIDI port delivers it (status byte first). Empty for
/// anything that is not a well-formed channel voice message: system messages (clock, sysex, ...),
/// a wrong length, a data byte >= 0x80.
std::optional<MidiMessage> decodeChannelMessage(const uint8_t* bytes, std::size_t size);

/// "note-on ch 1 note 60 vel 100": for logs and test messages.
std::string describe(const MidiMessage& m);

} // namespace chronus::midi

// Where MIDI goes in a patch: a channel's notes to a poly (/midi/route CHANNEL ID; by default
// channel 1 goes to the patch's only poly), a controller to a parameter over its range (/midi/cc
// CHANNEL CC ID:PARAM [LO HI]), and the pitch-bend range (/midi/bend SEMITONES, default 2). The
// sustain pedal (CC 64) and pitch bend reach the routed poly as /note/pedal and /note/bend, so a
// MIDI file and a live port become the same commands as a patch file's notes.
#pragma once

#include "midi/midi_message.h"
#include "runtime/control_command.h"

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace chronus {

struct MidiCcTarget {
    std::string id, param;
    float lo = 0, hi = 1;
};

class MidiRoutes {
public:
    /// `channel` 0..15 (MIDI channel 1..16).
    void route(uint8_t channel, std::string polyId) { routes_[channel] = std::move(polyId); }
    void mapCc(uint8_t channel, uint8_t cc, MidiCcTarget target);
    void setBendRange(float semitones) { bendRange_ = semitones; }
    float bendRange() const { return bendRange_; }
    /// Applies a /midi/... command (already checked); others are ignored.
    void apply(const ControlCommand& cmd);

    /// The poly a channel's notes go to: its route, else (channel 1) `onlyPoly`.
    std::optional<std::string> polyFor(uint8_t channel,
                                       const std::optional<std::string>& onlyPoly) const;
    /// What one message becomes: a note, pedal or bend for its channel's poly, a mapped
    /// controller's value. Nothing for what is not routed (`unrouted` counts those notes).
    std::vector<ControlCommand> translate(const midi::MidiMessage& m,
                                          const std::optional<std::string>& onlyPoly,
                                          std::size_t* unrouted = nullptr) const;
    /// The routes as patch-file lines (for dumps).
    std::string toPatchText() const;

private:
    std::array<std::optional<std::string>, 16> routes_{};
    struct CcMap {
        uint8_t channel, cc;
        MidiCcTarget target;
    };
    std::vector<CcMap> ccs_;
    float bendRange_ = 2;
};

/// The sustain pedal's controller.
inline constexpr uint8_t kSustainCc = 64;

} // namespace chronus

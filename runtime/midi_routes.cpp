#include "runtime/midi_routes.h"

#include <fmt/format.h>

namespace chronus {

void MidiRoutes::mapCc(uint8_t channel, uint8_t cc, MidiCcTarget target) {
    for (CcMap& m : ccs_)
        if (m.channel == channel && m.cc == cc) {
            m.target = std::move(target);
            return;
        }
    ccs_.push_back({channel, cc, std::move(target)});
}

void MidiRoutes::apply(const ControlCommand& cmd) {
    if (const auto* r = std::get_if<MidiRouteCommand>(&cmd))
        route(static_cast<uint8_t>(r->channel - 1), r->id);
    else if (const auto* c = std::get_if<MidiCcCommand>(&cmd))
        mapCc(static_cast<uint8_t>(c->channel - 1), static_cast<uint8_t>(c->cc),
              {c->id, c->param, c->lo, c->hi});
    else if (const auto* b = std::get_if<MidiBendCommand>(&cmd))
        setBendRange(b->semitones);
}

std::optional<std::string> MidiRoutes::polyFor(uint8_t channel,
                                               const std::optional<std::string>& onlyPoly) const {
    if (channel < routes_.size() && routes_[channel]) return routes_[channel];
    if (channel == 0) return onlyPoly;
    return std::nullopt;
}

std::vector<ControlCommand> MidiRoutes::translate(const midi::MidiMessage& m,
                                                  const std::optional<std::string>& onlyPoly,
                                                  std::size_t* unrouted) const {
    using midi::MidiKind;
    std::vector<ControlCommand> out;
    if (m.kind == MidiKind::ControlChange)
        for (const CcMap& c : ccs_)
            if (c.channel == m.channel && c.cc == m.controller()) {
                const float v = c.target.lo + (c.target.hi - c.target.lo) * (m.value() / 127.0f);
                out.push_back(SetParamCommand{c.target.id, c.target.param, v, std::nullopt});
            }
    const auto poly = polyFor(m.channel, onlyPoly);
    const bool note = m.kind == MidiKind::NoteOn || m.kind == MidiKind::NoteOff;
    if (!poly) {
        if (note && unrouted != nullptr) ++*unrouted;
        return out;
    }
    switch (m.kind) {
    case MidiKind::NoteOn:
        out.push_back(NoteCommand{NoteCommand::on, *poly, m.note(), float(m.velocity())});
        break;
    case MidiKind::NoteOff:
        out.push_back(NoteCommand{NoteCommand::off, *poly, m.note(), 0});
        break;
    case MidiKind::ControlChange:
        if (m.controller() == kSustainCc)
            out.push_back(NoteCommand{NoteCommand::pedal, *poly, 0, m.value() >= 64 ? 1.0f : 0.0f});
        break;
    case MidiKind::PitchBend:
        out.push_back(
            NoteCommand{NoteCommand::bend, *poly, 0, bendRange_ * float(m.pitchBend()) / 8192.0f});
        break;
    default:
        break;
    }
    return out;
}

std::string MidiRoutes::toPatchText() const {
    std::string out;
    for (std::size_t c = 0; c < routes_.size(); ++c)
        if (routes_[c]) out += fmt::format("/midi/route {} {}\n", c + 1, *routes_[c]);
    for (const CcMap& m : ccs_)
        out += fmt::format("/midi/cc {} {} {}:{} {} {}\n", m.channel + 1, m.cc, m.target.id,
                           m.target.param, m.target.lo, m.target.hi);
    if (bendRange_ != 2) out += fmt::format("/midi/bend {}\n", bendRange_);
    return out;
}

} // namespace chronus

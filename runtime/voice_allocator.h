// Notes to voices, on the audio thread: a poly's voices as one slot plays them (where a note
// writes, resolved against that slot's schedule, and what the allocator knows of each voice), and
// the allocation itself. Everything the audio thread calls here is wait-free and allocation-free:
// the tables are built on the control side (Slot::prepare) and carried from slot to slot at the
// swap, parameter values with them, so a commit neither drops a note nor resets a voice.
//
// Allocation (note on): the voice already playing that note (retriggered from where its
// envelope is), else a free voice (released, and every module with an idle hook idle: the
// envelopes finished), else the oldest released voice still sounding, else the oldest held one.
// A voice that is not free is stolen: its fader closes (kStealFadeMs, linear), and once it is
// silent the new note starts, pitch and velocity set at once, the fader opening again over
// kStealFadeMs: never a step in the sound. Pitch is 440 * 2^((note - 69 + bend) / 12) Hz; velocity
// 1..127 goes linearly over the map's range. A note-off while the sustain pedal is down is held
// until the pedal comes up.
#pragma once

#include "modules/descriptor.h"

#include <cstdint>
#include <vector>

namespace chronus {

class ParamKeys;
struct Schedule;
struct Slot;

/// A parameter a note writes in one slot: its index in the slot's params and, for values set at
/// once when a voice starts, the byte offset of its smoother in the slot's state.
struct VoiceWrite {
    uint32_t param = 0;
    uint32_t smoother = 0;
    float lo = 0, hi = 1;
};

struct VoiceIdleCheck {
    uint32_t kernelState = 0; ///< byte offset in the slot's state
    IdleFn idle = nullptr;
};

/// What the allocator knows of one voice (carried from slot to slot).
struct VoiceState {
    int16_t note = -1; ///< the note it plays or last played; -1: none yet
    int16_t next = -1; ///< the note waiting for the steal fade to end
    float nextVelocity = 0;
    bool held = false;            ///< key down (or kept down by the pedal)
    bool pedal = false;           ///< released while the pedal was down: releases when it comes up
    bool fading = false;          ///< its fader is closing; `next` starts when it has
    uint64_t onAt = 0, offAt = 0; ///< the poly's note count when it started, was released
};

struct SlotVoice {
    std::vector<VoiceWrite> pitch, gate, velocity;
    uint32_t faderGate = 0; ///< param index of the fader's gate
    std::vector<VoiceIdleCheck> idle;
    VoiceState state;
};

struct PolyState {
    float bend = 0; ///< semitones
    bool sustain = false;
    uint64_t clock = 0;
};

/// A template parameter of a poly (`P:local.param`) as one slot has it: every voice's copy.
struct SlotTemplateParam {
    uint32_t key = 0;             ///< ParamKeys key of (poly id, "local.param")
    std::vector<uint32_t> params; ///< indices into the slot's params
};

struct SlotPoly {
    uint32_t key = 0; ///< ParamKeys key of (poly id, kNoteKey)
    std::vector<SlotVoice> voices;
    PolyState state;
    std::vector<SlotTemplateParam> templateParams;
};

/// Control side (the key table's owner's lock held), from Slot::prepare: each poly's template
/// parameters, keyed as `P:local.param`, from the voices' modules (`P.K.local`) in `sched`.
void buildTemplateParams(const Schedule& sched, ParamKeys& keys, std::vector<SlotPoly>& polys);
/// Any side; wait-free: true if `slot` plays the poly whose note key is `key`.
bool slotHasPoly(const Slot& slot, uint32_t key) noexcept;
/// Any side; wait-free: stores `value` wherever parameter `key` lives in `slot`: its one index, or
/// every voice's copy of a poly's template parameter. False if the slot has no such parameter.
bool storeParam(Slot& slot, uint32_t key, float value) noexcept;

/// The parameter name under which a poly's notes are keyed (no parameter has a '#').
inline constexpr const char* kNoteKey = "#note";

/// What a note event asks of the audio core afterwards: an internal event on a later sample.
struct VoiceFollowup {
    enum Kind : uint8_t { none, start, regate } kind = none;
    uint16_t voice = 0;
    uint64_t sample = 0;
};

/// The slots playing, oldest first: the allocator decides on the newest (top) and writes every
/// slot that has the poly, so a slot fading out after a commit plays the same notes.
struct VoiceLayers {
    Slot* const* slots = nullptr;
    std::size_t count = 0;
};

/// Audio thread; wait-free. `now`: the engine sample the event lands on; `fadeSamples`: the
/// steal fade's length.
VoiceFollowup audioThreadNoteOn(VoiceLayers layers, uint32_t key, int note, float velocity,
                                uint64_t now, uint32_t fadeSamples) noexcept;
VoiceFollowup audioThreadNoteOff(VoiceLayers layers, uint32_t key, int note) noexcept;
void audioThreadPedal(VoiceLayers layers, uint32_t key, bool down) noexcept;
void audioThreadBend(VoiceLayers layers, uint32_t key, float semitones) noexcept;
/// A followup come due.
void audioThreadFollowup(VoiceLayers layers, uint32_t key, VoiceFollowup::Kind kind,
                         uint16_t voice) noexcept;

/// Hz of a note (MIDI number, fractional with bend).
float noteHz(float note) noexcept;

} // namespace chronus

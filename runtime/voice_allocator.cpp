#include "runtime/voice_allocator.h"

#include "compiler/schedule.h"
#include "runtime/param_keys.h"
#include "runtime/slot.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string>
#include <string_view>

namespace chronus {

namespace {

SlotPoly* polyOf(Slot* s, uint32_t key) noexcept {
    for (SlotPoly& p : s->polys)
        if (p.key == key) return &p;
    return nullptr;
}

/// Runs `f(slot, voice)` on voice `v` of every layer that has the poly.
template <class F>
void eachLayer(VoiceLayers layers, uint32_t key, uint16_t v, F f) noexcept {
    for (std::size_t i = 0; i < layers.count; ++i)
        if (SlotPoly* p = polyOf(layers.slots[i], key); p != nullptr && v < p->voices.size())
            f(*layers.slots[i], p->voices[v]);
}

void store(Slot& s, uint32_t param, float value) noexcept {
    s.params.store(param, value);
}

/// Target and smoother at once: a voice starting silent must not glide from its last note.
void snap(Slot& s, const VoiceWrite& w, float value) noexcept {
    s.params.store(w.param, value);
    std::memcpy(s.state.data() + w.smoother, &value, sizeof value);
}

float velocityValue(const VoiceWrite& w, float velocity) noexcept {
    return w.lo + (w.hi - w.lo) * (velocity / 127.0f);
}

bool idle(const Slot& s, const SlotVoice& v) noexcept {
    if (v.state.held || v.state.fading) return false;
    for (const VoiceIdleCheck& c : v.idle)
        if (!c.idle(s.state.data() + c.kernelState)) return false;
    return true;
}

void setGates(VoiceLayers layers, uint32_t key, uint16_t v, float value) noexcept {
    eachLayer(layers, key, v, [&](Slot& s, SlotVoice& sv) {
        for (const VoiceWrite& w : sv.gate) store(s, w.param, value);
    });
}

void setPitch(VoiceLayers layers, uint32_t key, uint16_t v, int note, bool atOnce) noexcept {
    eachLayer(layers, key, v, [&](Slot& s, SlotVoice& sv) {
        SlotPoly* p = polyOf(&s, key);
        const float hz = noteHz(float(note) + p->state.bend);
        for (const VoiceWrite& w : sv.pitch) atOnce ? snap(s, w, hz) : store(s, w.param, hz);
    });
}

/// Voice `v` starts `note`: pitch and velocity at once (it is silent), gates and fader open.
void start(VoiceLayers layers, uint32_t key, uint16_t v, int note, float velocity) noexcept {
    setPitch(layers, key, v, note, true);
    eachLayer(layers, key, v, [&](Slot& s, SlotVoice& sv) {
        for (const VoiceWrite& w : sv.velocity) snap(s, w, velocityValue(w, velocity));
        for (const VoiceWrite& w : sv.gate) store(s, w.param, 1.0f);
        store(s, sv.faderGate, 1.0f);
    });
}

template <class F>
void eachState(VoiceLayers layers, uint32_t key, uint16_t v, F f) noexcept {
    eachLayer(layers, key, v, [&](Slot&, SlotVoice& sv) { f(sv.state); });
}

void release(VoiceLayers layers, uint32_t key, uint16_t v, uint64_t clock) noexcept {
    setGates(layers, key, v, 0.0f);
    eachState(layers, key, v, [&](VoiceState& st) {
        st.held = false;
        st.pedal = false;
        st.offAt = clock;
    });
}

} // namespace

float noteHz(float note) noexcept {
    return 440.0f * std::exp2((note - 69.0f) / 12.0f);
}

VoiceFollowup audioThreadNoteOn(VoiceLayers layers, uint32_t key, int note, float velocity,
                                uint64_t now, uint32_t fadeSamples) noexcept {
    if (layers.count == 0) return {};
    Slot& top = *layers.slots[layers.count - 1];
    SlotPoly* poly = polyOf(&top, key);
    if (poly == nullptr || poly->voices.empty()) return {};
    const uint64_t clock = ++poly->state.clock;
    for (std::size_t i = 0; i + 1 < layers.count; ++i)
        if (SlotPoly* p = polyOf(layers.slots[i], key)) p->state.clock = clock;
    const auto count = static_cast<uint16_t>(poly->voices.size());

    // The voice already playing this note: retriggered where its envelope is (no fade needed:
    // the envelope ramps from its level, the pitch is the same).
    for (uint16_t v = 0; v < count; ++v) {
        SlotVoice& sv = poly->voices[v];
        if (sv.state.note != note || sv.state.fading || idle(top, sv)) continue;
        const bool wasHeld = sv.state.held;
        eachLayer(layers, key, v, [&](Slot& s, SlotVoice& x) {
            for (const VoiceWrite& w : x.velocity) store(s, w.param, velocityValue(w, velocity));
            store(s, x.faderGate, 1.0f);
        });
        setPitch(layers, key, v, note, false);
        eachState(layers, key, v, [&](VoiceState& st) {
            st.held = true;
            st.pedal = false;
            st.onAt = clock;
        });
        if (!wasHeld) {
            setGates(layers, key, v, 1.0f);
            return {};
        }
        setGates(layers, key, v, 0.0f); // one sample closed, so the envelope sees an edge
        return {VoiceFollowup::regate, v, now + 1};
    }

    // A free voice, else the oldest released, else the oldest held; one already fading takes the
    // new note in place of the one it waited for only if every voice is fading.
    int chosen = -1, released = -1, heldOldest = -1, fading = -1;
    for (uint16_t v = 0; v < count; ++v) {
        const SlotVoice& sv = poly->voices[v];
        const VoiceState& st = sv.state;
        if (idle(top, sv)) {
            chosen = v;
            break;
        }
        if (st.fading) {
            if (fading < 0 || st.onAt < poly->voices[uint16_t(fading)].state.onAt) fading = v;
        } else if (!st.held) {
            if (released < 0 || st.offAt < poly->voices[uint16_t(released)].state.offAt)
                released = v;
        } else if (heldOldest < 0 || st.onAt < poly->voices[uint16_t(heldOldest)].state.onAt) {
            heldOldest = v;
        }
    }
    if (chosen >= 0) {
        const auto v = static_cast<uint16_t>(chosen);
        start(layers, key, v, note, velocity);
        eachState(layers, key, v, [&](VoiceState& st) {
            st = VoiceState{};
            st.note = static_cast<int16_t>(note);
            st.held = true;
            st.onAt = clock;
        });
        return {};
    }
    const int steal = released >= 0 ? released : (heldOldest >= 0 ? heldOldest : fading);
    if (steal < 0) return {};
    const auto v = static_cast<uint16_t>(steal);
    const bool alreadyFading = poly->voices[v].state.fading;
    eachState(layers, key, v, [&](VoiceState& st) {
        st.next = static_cast<int16_t>(note);
        st.nextVelocity = velocity;
        st.onAt = clock;
        st.held = false;
        st.pedal = false;
        st.fading = true;
    });
    if (alreadyFading) return {}; // its start is already scheduled
    eachLayer(layers, key, v, [&](Slot& s, SlotVoice& sv) { store(s, sv.faderGate, 0.0f); });
    setGates(layers, key, v, 0.0f);
    return {VoiceFollowup::start, v, now + fadeSamples + 1};
}

VoiceFollowup audioThreadNoteOff(VoiceLayers layers, uint32_t key, int note) noexcept {
    if (layers.count == 0) return {};
    Slot& top = *layers.slots[layers.count - 1];
    SlotPoly* poly = polyOf(&top, key);
    if (poly == nullptr) return {};
    const auto count = static_cast<uint16_t>(poly->voices.size());
    for (uint16_t v = 0; v < count; ++v) {
        VoiceState& st = poly->voices[v].state;
        if (st.fading && st.next == note) {
            // The note never started: the voice is left to go quiet.
            eachState(layers, key, v, [](VoiceState& x) { x.next = -1; });
            return {};
        }
        if (st.fading || !st.held || st.note != note || st.pedal) continue;
        if (poly->state.sustain) {
            eachState(layers, key, v, [](VoiceState& x) { x.pedal = true; });
            return {};
        }
        release(layers, key, v, ++poly->state.clock);
        return {};
    }
    return {};
}

void audioThreadPedal(VoiceLayers layers, uint32_t key, bool down) noexcept {
    if (layers.count == 0) return;
    for (std::size_t i = 0; i < layers.count; ++i)
        if (SlotPoly* p = polyOf(layers.slots[i], key)) p->state.sustain = down;
    if (down) return;
    SlotPoly* poly = polyOf(layers.slots[layers.count - 1], key);
    if (poly == nullptr) return;
    for (uint16_t v = 0; v < poly->voices.size(); ++v)
        if (poly->voices[v].state.pedal) release(layers, key, v, ++poly->state.clock);
}

void audioThreadBend(VoiceLayers layers, uint32_t key, float semitones) noexcept {
    if (layers.count == 0) return;
    for (std::size_t i = 0; i < layers.count; ++i)
        if (SlotPoly* p = polyOf(layers.slots[i], key)) p->state.bend = semitones;
    SlotPoly* poly = polyOf(layers.slots[layers.count - 1], key);
    if (poly == nullptr) return;
    for (uint16_t v = 0; v < poly->voices.size(); ++v) {
        const VoiceState& st = poly->voices[v].state;
        if (st.note >= 0 && !st.fading) setPitch(layers, key, v, st.note, false); // glides
    }
}

void audioThreadFollowup(VoiceLayers layers, uint32_t key, VoiceFollowup::Kind kind,
                         uint16_t voice) noexcept {
    if (layers.count == 0) return;
    SlotPoly* poly = polyOf(layers.slots[layers.count - 1], key);
    if (poly == nullptr || voice >= poly->voices.size()) return;
    const VoiceState st = poly->voices[voice].state;
    if (kind == VoiceFollowup::regate) {
        if (st.held && !st.fading) setGates(layers, key, voice, 1.0f);
        return;
    }
    if (!st.fading) return;
    if (st.next < 0) {
        eachState(layers, key, voice, [](VoiceState& x) {
            x.fading = false;
            x.note = -1;
        });
        return;
    }
    start(layers, key, voice, st.next, st.nextVelocity);
    eachState(layers, key, voice, [&](VoiceState& x) {
        x.note = st.next;
        x.next = -1;
        x.fading = false;
        x.held = true;
    });
}

void buildTemplateParams(const Schedule& sched, ParamKeys& keys, std::vector<SlotPoly>& polys) {
    for (std::size_t i = 0; i < polys.size() && i < sched.polys.size(); ++i) {
        const SchedulePoly& sp = sched.polys[i];
        const std::string prefix = sp.id + ".";
        std::vector<std::pair<uint32_t, uint32_t>> found; // (key, param index)
        for (const ScheduledNode& n : sched.nodes) {
            // Voice K's copy of template module `local` is P.K.local (the fader P.K has no local).
            std::string_view rest(n.id);
            if (!rest.starts_with(prefix)) continue;
            rest.remove_prefix(prefix.size());
            const auto dot = rest.find('.');
            uint32_t k = 0;
            const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), k);
            if (dot == std::string_view::npos || dot == 0 || ec != std::errc() ||
                end != rest.data() + dot || k >= sp.voices.size() || dot + 1 == rest.size())
                continue;
            const std::string local(rest.substr(dot + 1));
            for (uint32_t p = 0; p < n.paramCount(); ++p)
                found.emplace_back(keys.intern(sp.id, local + "." + n.layout->params[p].name),
                                   n.paramIndex + p);
        }
        std::sort(found.begin(), found.end());
        std::vector<SlotTemplateParam>& out = polys[i].templateParams;
        out.clear();
        for (const auto& [key, index] : found) {
            if (out.empty() || out.back().key != key) out.push_back({key, {}});
            out.back().params.push_back(index);
        }
    }
}

bool slotHasPoly(const Slot& slot, uint32_t key) noexcept {
    for (const SlotPoly& p : slot.polys)
        if (p.key == key) return true;
    return false;
}

bool storeParam(Slot& slot, uint32_t key, float value) noexcept {
    if (const int32_t i = slot.paramOf(key); i >= 0) {
        slot.params.store(static_cast<std::size_t>(i), value);
        return true;
    }
    bool stored = false;
    for (const SlotPoly& p : slot.polys)
        for (const SlotTemplateParam& t : p.templateParams)
            if (t.key == key) {
                for (uint32_t index : t.params) slot.params.store(index, value);
                stored = true;
            }
    return stored;
}

} // namespace chronus

// Live MIDI's routes as the audio thread reads them: which poly each channel plays, which
// parameter each controller moves, the bend range. Written by the control side (Engine, from
// runtime/midi_routes.h), read by the audio thread with relaxed atomics: a route changing while a
// message is translated gives the old route or the new one, never anything else.
#pragma once

#include "midi/midi_message.h"

#include <array>
#include <atomic>
#include <cstdint>

namespace chronus {

struct MidiLiveTable {
    static constexpr uint32_t kNone = UINT32_MAX;
    /// Per channel: the poly's note key (voice_allocator.h: kNoteKey), kNone: unrouted (channel
    /// 1 then plays the only poly of the patch playing, if it has exactly one).
    std::array<std::atomic<uint32_t>, 16> polyKey;
    struct Cc {
        std::atomic<uint32_t> key{kNone}; ///< the parameter's ParamKeys key
        std::atomic<float> lo{0}, hi{1};
    };
    std::array<Cc, 16 * 128> cc{};
    std::atomic<float> bendRange{2};

    MidiLiveTable() {
        for (auto& k : polyKey) k.store(kNone, std::memory_order_relaxed);
    }
};

} // namespace chronus

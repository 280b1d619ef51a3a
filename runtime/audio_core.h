// The audio thread's side of the engine: the playing slots, the swap at a block boundary (state
// carried over; a crossfade as long as the incoming slot asks, Slot::fadeFrames), timed parameter
// events split into the block at their sample, and the callback's own measurements.
//
// Crossfades nest, so that no swap waits for an earlier one's fade (an offline render, which
// renders nothing while a commit swaps in, would wait for ever). The slots playing are a stack,
// oldest first: the bottom alone, or crossfading into the next, which may itself be crossfading
// into the next. The output folds up the stack, acc = (1 - g_k) acc + g_k slot_k, each layer on
// its own raised-cosine fade; when layer k's fade ends, the slots below it are silent and handed
// back. A swap replaces the top instead of pushing a layer when the incoming slot swaps hard
// (Slot::fadeFrames 0: it plays what the top plays), when the top has not been heard yet (commits
// at the same sample stack nothing), or when kMaxLayers already play (commits faster than one
// per fade / (kMaxLayers - 1): the newest fade is then cut short). Everything here that the audio
// thread calls is wait-free, allocation-free and lock-free; the control side talks to it only
// through atomics and bounded SPSC rings, and the two handshakes (snapshot, publish and swap) are
// whole control-side calls here, so no caller handles a memory order.
#pragma once

#include "midi/midi_event_ring.h"
#include "runtime/load_histogram.h"
#include "runtime/output_guard.h"
#include "runtime/slot.h"
#include "runtime/spsc_ring.h"
#include "runtime/zeroed_array.h"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace chronus {

/// What a timed event does: a parameter value, or a note event for a poly (key: the poly's
/// kNoteKey key; runtime/voice_allocator.h), or the allocator's own follow-ups.
enum class TimedEventKind : uint8_t {
    param,
    noteOn,      ///< note, value: velocity 1..127
    noteOff,     ///< note
    pedal,       ///< value: > 0.5 down
    bend,        ///< value: semitones
    voiceStart,  ///< internal: a stolen voice has faded out (note: the voice)
    voiceRegate, ///< internal: a retriggered voice's gates open again (note: the voice)
};

/// A parameter value due at engine sample `sample`; `order` keeps equal times in arrival order.
struct TimedEvent {
    uint64_t sample = 0;
    uint64_t order = 0;
    uint32_t key = 0;
    float value = 0;
    uint64_t client = 0; ///< who sent it (ParamStore's per-client quota)
    TimedEventKind kind = TimedEventKind::param;
    uint16_t note = 0;
    /// Made on the audio thread (the allocator's follow-ups, live MIDI): no quota, no ring, and
    /// only a parameter value is acknowledged (as `internal`), to be recorded.
    bool internal = false;
};

/// A timed event the audio thread has applied, handed back so the control side can record the
/// value in its graphs and in slots newer than `appliedSeq` (the slot playing when it applied).
struct EventAck {
    uint32_t key = 0;
    float value = 0;
    uint64_t appliedSeq = 0;
    uint64_t client = 0;
    bool dropped = false;  ///< never applied: dropped by requestDrop (its module is gone)
    bool note = false;     ///< a note event: nothing to record, only counted back
    bool internal = false; ///< made on the audio thread (live MIDI): recorded, never counted
};

class AudioCore {
public:
    AudioCore(float sampleRate, uint32_t maxFrames, std::size_t eventCapacity);

    // ---- control side ------------------------------------------------------------------------
    // The handshakes with the audio thread, whole: a caller names a deadline and a stop flag and
    // gets an outcome; the atomics, memory orders and polling stay in this class.
    using Clock = std::chrono::steady_clock;
    enum class Handshake {
        kDone,          ///< the audio thread did it
        kTimedOut,      ///< deadline or stop came first; the request was taken back unserved
        kActiveChanged, ///< snapshot only: the playing slot was no longer `carryFrom`
    };
    /// A snapshot asked for (startSnapshot): the state of the playing slot `from` copied into `to`
    /// (by `to->snapshot`) at the next block boundary, race-free. The caller owns it; it must
    /// outlive the request (awaitSnapshot or withdrawSnapshot returned).
    struct SnapshotRequest {
        enum : int { kIdle = -1, kWaiting = 0, kDone = 1, kActiveChanged = 2 };
        const Slot* from = nullptr;
        Slot* to = nullptr;
        std::atomic<int> result{kIdle};
    };
    /// Control side (one caller at a time); never blocks. Has the audio thread copy the surviving
    /// modules' state of the playing slot `to.carryFrom` into `to` (by `to.snapshot`: at most
    /// kSnapshotBytes) at its next block boundary. The caller may go on meanwhile (a commit
    /// compiles its program) and must then awaitSnapshot or withdrawSnapshot.
    void startSnapshot(SnapshotRequest& req, Slot& to);
    /// Control side; blocks, polling every 100 µs, until the audio thread has served `req`,
    /// `deadline` passes or `stop` is set. A request the audio thread has already started is
    /// waited for (a bounded copy), so kDone can come after the deadline.
    Handshake awaitSnapshot(SnapshotRequest& req, Clock::time_point deadline,
                            const std::atomic<bool>& stop);
    /// Control side: takes `req` back, or waits for the copy the audio thread has begun
    /// (microseconds); afterwards `req.to` may be freed. True if it was taken back unserved;
    /// false if it was served (or never started).
    bool withdrawSnapshot(SnapshotRequest& req);
    /// startSnapshot and awaitSnapshot.
    Handshake requestSnapshotAndWait(Slot& to, Clock::time_point deadline,
                                     const std::atomic<bool>& stop);
    /// Control side (one caller at a time); blocks, polling every 100 µs. Publishes `slot` (at
    /// most one is published at a time) and waits until the audio thread has swapped it in at a
    /// block boundary. It swaps only once the slot it last retired is handed back, so every
    /// retired slot is passed to `reclaim` meanwhile. On `deadline` or `stop` the slot is
    /// withdrawn: kTimedOut means it never played.
    Handshake publishAndWaitForSwap(Slot& slot, Clock::time_point deadline,
                                    const std::atomic<bool>& stop,
                                    const std::function<void(Slot*)>& reclaim);
    /// Control side: passes every slot the audio thread has let go of to `reclaim` (to free it).
    void reclaimRetired(const std::function<void(Slot*)>& reclaim);
    /// Control side: the producer of the timed-event ring and the consumer of its acks (one
    /// caller at a time: ParamStore, under its lock). Never blocks.
    bool pushEvent(const TimedEvent& e) noexcept { return events_.tryPush(e); }
    bool popAck(EventAck& a) noexcept { return acks_.tryPop(a); }
    std::size_t eventCapacity() const noexcept { return eventCapacity_; }
    /// Control side (the event ring's producer, under its lock). Never blocks: has the audio
    /// thread drop every waiting timed event whose key is in `keys` at its next block boundary,
    /// each handed back as a dropped ack. False (nothing asked) while an earlier request is still
    /// being served: ask again later.
    bool requestDrop(std::vector<uint32_t> keys);

    uint64_t activeSeq() const noexcept { return activeSeq_.load(std::memory_order_acquire); }
    /// The device's output and input channels in the last callback (0 before the first): what
    /// the stream opened has, which a later commit cannot change.
    uint32_t deviceChannels() const noexcept {
        return deviceChannels_.load(std::memory_order_relaxed);
    }
    uint32_t deviceInputs() const noexcept { return deviceInputs_.load(std::memory_order_relaxed); }
    uint64_t callbacks() const noexcept { return callbacks_.load(std::memory_order_relaxed); }
    uint64_t xruns() const noexcept { return xruns_.load(std::memory_order_relaxed); }
    uint64_t overruns() const noexcept { return overruns_.load(std::memory_order_relaxed); }
    uint64_t samplePosition() const noexcept { return position_.load(std::memory_order_acquire); }
    uint64_t swaps() const noexcept { return swaps_.load(std::memory_order_acquire); }
    /// Swaps whose sample position swapSample() still knows (the most recent ones).
    static constexpr std::size_t kSwapLog = 64;
    /// Control side (metrics): the engine sample at which swap `n` (1: the first) happened, i.e.
    /// the first sample the new slot rendered; nothing if `n` has not happened yet or is older
    /// than the last kSwapLog swaps.
    std::optional<uint64_t> swapSample(uint64_t n) const noexcept {
        const uint64_t latest = swaps();
        if (n == 0 || n > latest || latest - n >= kSwapLog) return std::nullopt;
        return swapAt_[n % kSwapLog].load(std::memory_order_relaxed);
    }
    LoadSummary load() const { return load_.summary(); }
    /// The callbacks that crossfaded (two programs rendering), also counted in load().
    LoadSummary fadeLoad() const { return fadeLoad_.summary(); }
    /// The callbacks that swapped a slot in, also counted in load(): what a swap costs.
    LoadSummary swapLoad() const { return swapLoad_.summary(); }
    uint64_t crossfades() const noexcept { return crossfades_.load(std::memory_order_relaxed); }
    /// The most state the audio thread has copied in one block (a swap's carry, a warm-up's
    /// snapshot): bounded by kSnapshotBytes and kFadeCopyBytes whatever the delay lines hold.
    uint64_t stateCopyMaxBytes() const noexcept {
        return stateCopyMax_.load(std::memory_order_relaxed);
    }
    const OutputGuard& guard() const noexcept { return guard_; }
    /// Control side, before the audio thread runs or while it may: live MIDI from `ring` (null:
    /// none), routed by `table` (runtime/midi_live.h); both must outlive their use (detach first).
    /// Each block drains the events received before it started, placed one block late at their
    /// frame (midi/midi_clock.h), sample-exact from there on.
    void setMidiInput(midi::MidiEventRing* ring, const struct MidiLiveTable* table) noexcept {
        midiTable_.store(table, std::memory_order_release);
        midiRing_.store(ring, std::memory_order_release);
    }
    /// Control side, after setMidiInput(null): true once the audio thread no longer drains it.
    bool midiDetached() const noexcept { return !midiDraining_.load(std::memory_order_acquire); }
    /// Control side (ParamStore), any thread; wait-free: a parameter value was written (the
    /// output guard ends a hold-off early on one, output_guard.h).
    void noteParamWrite() noexcept { paramWrites_.fetch_add(1, std::memory_order_relaxed); }

    // ---- audio thread ------------------------------------------------------------------------
    /// Most slots that play at once (crossfades nested three deep).
    static constexpr std::size_t kMaxLayers = 4;

    /// Most device channels, out or in, one callback handles.
    static constexpr uint32_t kMaxDeviceChannels = 64;

    /// Audio thread; wait-free. Renders `frames` samples (any count) into `out`: one channel,
    /// no audio in.
    void audioThreadRender(float* out, uint32_t frames) noexcept {
        float* const outs[1] = {out};
        audioThreadRender(outs, 1, nullptr, 0, frames);
    }
    /// Audio thread; wait-free. Renders `frames` samples into `channels` planar buffers `out`
    /// (at most kMaxDeviceChannels), with `inputs` planar buffers of audio in. A program's
    /// channels map onto the device's: a mono patch plays on every channel; one of several puts
    /// channel c on device channel c (the device's further channels silent), or, on a device with
    /// fewer, folds it onto channel c % channels (a stereo patch on one channel: left + right).
    void audioThreadRender(float* const* out, uint32_t channels, const float* const* in,
                           uint32_t inputs, uint32_t frames) noexcept;
    /// Audio thread (or an offline driver between blocks); wait-free. The block-boundary work
    /// alone: hand back a finished slot, swap in a published one, serve a snapshot request.
    void audioThreadService() noexcept;
    /// Audio thread (backends); wait-free.
    void audioThreadAddXruns(uint64_t n) noexcept {
        xruns_.store(xruns_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }

private:
    /// Timed events dropped at the control side's request (requestDrop), sorted keys.
    struct DropRequest {
        std::vector<uint32_t> keys;
        std::atomic<bool> done{false};
    };

    /// One slot of the stack playing and, above the bottom, its fade from everything below it.
    struct Layer {
        Slot* slot = nullptr;
        uint32_t fadePos = 0;    ///< samples of the fade rendered so far
        uint32_t fadeFrames = 0; ///< its length (0 at the bottom)
    };

    void drainEvents() noexcept;
    void serveDrop() noexcept;
    void applyEvent(const TimedEvent& e) noexcept;
    /// A note event for the voice allocator, or one of its follow-ups.
    void applyNoteEvent(const TimedEvent& e) noexcept;
    /// The allocator's follow-ups share the heap, beyond the control side's capacity.
    static constexpr std::size_t kInternalEvents = 1024;
    void pushInternal(const TimedEvent& e) noexcept;
    /// At a swap: the parked notes whose poly the new slot plays, back into the heap (on their
    /// sample, or now if it has passed).
    void unparkNotes() noexcept;
    /// Live MIDI received before this block, into the heap at its frame.
    void drainMidi(uint32_t frames) noexcept;
    /// The output guard on the block about to be played (output_guard.h), and what it asks of the
    /// slots that played it.
    void guardBlock(float* const* out, uint32_t channels, uint32_t frames, uint64_t begin) noexcept;
    /// The stack's output for `frames` samples into `channels` buffers, audio in from `in`.
    void renderSegment(float* const* out, uint32_t channels, const float* const* in,
                       uint32_t inputs, uint32_t frames) noexcept;
    /// `slot`'s program into the device's `channels` buffers `out` (the mapping above).
    void renderSlot(Slot& slot, float* const* out, uint32_t channels, const float* const* in,
                    uint32_t inputs, uint32_t frames) noexcept;
    /// The swap: `next` onto the stack, or in place of its top. `topKeepsState` false: the carry
    /// took the top's state buffer over (slot.h), so it cannot fade out and is replaced at once.
    void install(Slot* next, bool topKeepsState) noexcept;
    /// Hands `s` back to the control side, or holds it until the ring has room.
    void letGo(Slot* s) noexcept;
    Slot* active() const noexcept {
        return layerCount_ > 0 ? layers_[layerCount_ - 1].slot : nullptr;
    }
    void noteStateCopy(std::size_t bytes) noexcept {
        if (bytes > stateCopyMax_.load(std::memory_order_relaxed))
            stateCopyMax_.store(bytes, std::memory_order_relaxed);
    }
    static void bump(std::atomic<uint64_t>& c) noexcept {
        c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }

    const float sampleRate_;
    const uint32_t maxFrames_;
    const std::size_t eventCapacity_;

    // Shared with the control side.
    std::atomic<Slot*> published_{nullptr};
    /// published_ while the audio thread carries state into the slot it took (never dereferenced).
    static Slot* kTaking() {
        static char tag;
        return reinterpret_cast<Slot*>(&tag);
    }
    std::atomic<SnapshotRequest*> snapshot_{nullptr};
    SpscRing<Slot*> retired_{8};
    SpscRing<TimedEvent> events_;
    SpscRing<EventAck> acks_;
    std::atomic<uint64_t> activeSeq_{0}, callbacks_{0}, xruns_{0}, overruns_{0}, position_{0},
        swaps_{0}, crossfades_{0}, stateCopyMax_{0};
    std::array<std::atomic<uint64_t>, kSwapLog> swapAt_{}; ///< swap n at [n % kSwapLog]
    LoadHistogram load_, fadeLoad_, swapLoad_;
    OutputGuard guard_;
    std::atomic<uint64_t> paramWrites_{0};
    std::atomic<midi::MidiEventRing*> midiRing_{nullptr};
    std::atomic<const struct MidiLiveTable*> midiTable_{nullptr};
    std::atomic<bool> midiDraining_{false};
    std::atomic<DropRequest*> drop_{nullptr};
    std::unique_ptr<DropRequest> dropOwned_; ///< control side: the request last made

    // Audio thread only.
    std::array<Layer, kMaxLayers> layers_{}; ///< the stack playing, oldest first
    std::size_t layerCount_ = 0;
    /// Slots let go while `retired_` was full; a swap waits until they are handed back, so at
    /// most the stack and one replaced slot are ever held.
    std::array<Slot*, kMaxLayers + 1> holding_{};
    std::size_t holdingCount_ = 0;
    bool fadedThisCallback_ = false;
    bool swappedThisCallback_ = false;
    uint64_t now_ = 0;                    ///< engine sample at the start of the next block
    std::unique_ptr<float[]> scratch_;    ///< a layer's output, maxFrames_ per device channel
    std::unique_ptr<float[]> programOut_; ///< a program's channels before mapping: kMaxChannels
    std::unique_ptr<float[]> fadeGain_;   ///< a layer's fade gains for one segment, maxFrames_
    ZeroedArray<TimedEvent> heap_;        ///< due events, earliest first (a binary heap)
    std::size_t heapSize_ = 0;
    std::size_t internalInHeap_ = 0; ///< of heapSize_: the allocator's follow-ups, live MIDI
    uint64_t internalOrder_ = uint64_t{1} << 62; ///< after the control side's at equal times
    /// Notes (sent by the control side) for a poly no slot plays yet: a poly's first commit may
    /// still be compiling when its notes come due (a patch file's /note/on after the commit
    /// line). Held here, in order, until a slot that plays it swaps in; dropped, as any waiting
    /// event, when no version of the patch has the poly any more. Counted among the control
    /// side's events out, so never more than eventCapacity_.
    ZeroedArray<TimedEvent> parked_;
    std::atomic<uint32_t> deviceChannels_{0}, deviceInputs_{0};
    std::size_t parkedCount_ = 0;
    uint32_t stealFadeSamples_ = 0;
};

} // namespace chronus

// Live MIDI from the input library's callback thread to the audio thread: a bounded, lock-free
// single-producer single-consumer ring of fixed-size events, preallocated at construction. A full
// ring drops the new event and counts it; nothing ever blocks or allocates after construction.
#pragma once

#include "midi/midi_message.h"

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

namespace chronus::midi {

/// One received message and when it arrived: nanoseconds on the monotonic clock (see
/// midi/midi_clock.h), read in the input callback as the message is handed over.
struct LiveMidiEvent {
    uint64_t receivedNs = 0;
    MidiMessage message;
};
static_assert(std::is_trivially_copyable_v<LiveMidiEvent> && sizeof(LiveMidiEvent) == 16);

class MidiEventRing {
public:
    /// 1024 events: a second of a dense controller sweep on every channel at once, or ~200 engine
    /// blocks of 256 frames of the fastest a DIN cable carries (~1000 messages/s); 16 KiB.
    static constexpr std::size_t kDefaultCapacity = 1024;

    /// Control thread: room for `capacity` events, rounded up to a power of two (at least 2).
    explicit MidiEventRing(std::size_t capacity = kDefaultCapacity)
        : cap_(std::bit_ceil(capacity < 2 ? std::size_t{2} : capacity)), mask_(cap_ - 1),
          items_(std::make_unique<LiveMidiEvent[]>(cap_)) {}
    MidiEventRing(const MidiEventRing&) = delete;
    MidiEventRing& operator=(const MidiEventRing&) = delete;

    std::size_t capacity() const noexcept { return cap_; }

    /// Input thread (the one producer); wait-free. False, and one more dropped(), when full.
    bool inputThreadPush(const LiveMidiEvent& e) noexcept {
        const uint64_t w = write_.load(std::memory_order_relaxed);
        if (w - cachedRead_ == cap_) {
            cachedRead_ = read_.load(std::memory_order_acquire);
            if (w - cachedRead_ == cap_) {
                dropped_.fetch_add(1, std::memory_order_relaxed);
                return false;
            }
        }
        items_[w & mask_] = e;
        write_.store(w + 1, std::memory_order_release);
        return true;
    }

    /// Audio thread (the one consumer); wait-free. The oldest event, or nullptr when empty; it
    /// stays in the ring (and valid) until audioThreadPop().
    const LiveMidiEvent* audioThreadPeek() noexcept {
        const uint64_t r = read_.load(std::memory_order_relaxed);
        if (r == cachedWrite_) {
            cachedWrite_ = write_.load(std::memory_order_acquire);
            if (r == cachedWrite_) return nullptr;
        }
        return &items_[r & mask_];
    }

    /// Audio thread; wait-free. Removes the event audioThreadPeek() returned (call only after it
    /// returned one).
    void audioThreadPop() noexcept {
        read_.store(read_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }

    /// Audio thread; wait-free. Pops the oldest event into `out`; false when empty.
    bool audioThreadTryPop(LiveMidiEvent& out) noexcept {
        const LiveMidiEvent* e = audioThreadPeek();
        if (e == nullptr) return false;
        out = *e;
        audioThreadPop();
        return true;
    }

    /// Audio thread; wait-free (at most `max` events). Calls `f(event)` for each event received
    /// before `untilNs`, oldest first, and pops it; later events stay for the next block. Returns
    /// how many were handed to `f`. `f` runs on the audio thread: it must not allocate or lock.
    template <class F>
    std::size_t audioThreadDrainUntil(uint64_t untilNs, F&& f, std::size_t max = SIZE_MAX) {
        std::size_t n = 0;
        while (n < max) {
            const LiveMidiEvent* e = audioThreadPeek();
            if (e == nullptr || e->receivedNs >= untilNs) break;
            f(*e);
            audioThreadPop();
            ++n;
        }
        return n;
    }

    /// Any thread: events refused because the ring was full, since construction.
    uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
    /// Any thread: events pushed, since construction.
    uint64_t pushed() const noexcept { return write_.load(std::memory_order_relaxed); }
    /// Any thread; a snapshot that may be stale by the time it is used.
    std::size_t size() const noexcept {
        return static_cast<std::size_t>(write_.load(std::memory_order_acquire) -
                                        read_.load(std::memory_order_acquire));
    }

private:
    const std::size_t cap_;
    const std::size_t mask_;
    std::unique_ptr<LiveMidiEvent[]> items_;
    // Producer's line: its index, its stale copy of the consumer's, the drop counter.
    alignas(64) std::atomic<uint64_t> write_{0};
    uint64_t cachedRead_ = 0;
    std::atomic<uint64_t> dropped_{0};
    // Consumer's line.
    alignas(64) std::atomic<uint64_t> read_{0};
    uint64_t cachedWrite_ = 0;
};

static_assert(std::atomic<uint64_t>::is_always_lock_free);

} // namespace chronus::midi

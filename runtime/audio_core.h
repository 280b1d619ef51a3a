// The audio thread's side of the engine: the playing slot, the swap at a block boundary (state
// carried over, optional crossfade), timed parameter events split into the block at their sample,
// and the callback's own measurements. Everything here that the audio thread calls is
// wait-free, allocation-free and lock-free; the control side talks to it only through atomics
// and bounded SPSC rings.
#pragma once

#include "runtime/load_histogram.h"
#include "runtime/slot.h"
#include "runtime/spsc_ring.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

namespace chronus {

/// A parameter value due at engine sample `sample`; `order` keeps equal times in arrival order.
struct TimedEvent {
    uint64_t sample = 0;
    uint64_t order = 0;
    uint32_t key = 0;
    float value = 0;
};

/// A timed event the audio thread has applied, handed back so the control side can record the
/// value in its graphs and in slots newer than `appliedSeq` (the slot playing when it applied).
struct EventAck {
    uint32_t key = 0;
    float value = 0;
    uint64_t appliedSeq = 0;
};

/// The compiler thread asks for the surviving modules' state of the playing slot `from` to be
/// copied into `to` (by `to->carry`) at the next block boundary, race-free.
struct SnapshotRequest {
    enum : int { kWaiting = 0, kDone = 1, kActiveChanged = 2 };
    const Slot* from = nullptr;
    Slot* to = nullptr;
    std::atomic<int> result{kWaiting};
};

class AudioCore {
public:
    AudioCore(float sampleRate, uint32_t maxFrames, uint32_t fadeFrames, std::size_t eventCapacity);

    // ---- control side ------------------------------------------------------------------------
    /// Hands `slot` to the audio thread, which swaps it in at its next block boundary. At most one
    /// slot is published at a time.
    void publish(Slot* slot) noexcept { published_.store(slot, std::memory_order_release); }
    /// Takes `slot` back if the audio thread has not taken it yet (true: it never played).
    bool withdraw(Slot* slot) noexcept {
        return published_.compare_exchange_strong(slot, nullptr, std::memory_order_acq_rel);
    }
    bool isPublished() const noexcept {
        return published_.load(std::memory_order_acquire) != nullptr;
    }
    /// A slot the audio thread has let go of, or null.
    Slot* takeRetired() noexcept {
        Slot* s = nullptr;
        return retired_.tryPop(s) ? s : nullptr;
    }
    void requestSnapshot(SnapshotRequest* r) noexcept {
        snapshot_.store(r, std::memory_order_release);
    }
    /// Takes the request back if the audio thread has not started it (true: it never will).
    bool withdrawSnapshot(SnapshotRequest* r) noexcept {
        return snapshot_.compare_exchange_strong(r, nullptr, std::memory_order_acq_rel);
    }
    /// Producer side of the timed-event ring (callers serialise, e.g. under the control mutex).
    bool pushEvent(const TimedEvent& e) noexcept { return events_.tryPush(e); }
    bool popAck(EventAck& a) noexcept { return acks_.tryPop(a); }
    std::size_t eventCapacity() const noexcept { return eventCapacity_; }

    uint64_t activeSeq() const noexcept { return activeSeq_.load(std::memory_order_acquire); }
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

    // ---- audio thread ------------------------------------------------------------------------
    /// Audio thread; wait-free. Renders `frames` samples (any count) into `out`.
    void audioThreadRender(float* out, uint32_t frames) noexcept;
    /// Audio thread (or an offline driver between blocks); wait-free. The block-boundary work
    /// alone: hand back a finished slot, swap in a published one, serve a snapshot request.
    void audioThreadService() noexcept;
    /// Audio thread (backends); wait-free.
    void audioThreadAddXruns(uint64_t n) noexcept {
        xruns_.store(xruns_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }

private:
    void drainEvents() noexcept;
    void applyEvent(const TimedEvent& e) noexcept;
    void renderSegment(float* out, uint32_t frames) noexcept;
    bool retire(Slot* s) noexcept { return retired_.tryPush(s); }
    static void bump(std::atomic<uint64_t>& c) noexcept {
        c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }

    const float sampleRate_;
    const uint32_t maxFrames_;
    const uint32_t fadeFrames_;
    const std::size_t eventCapacity_;

    // Shared with the control side.
    std::atomic<Slot*> published_{nullptr};
    std::atomic<SnapshotRequest*> snapshot_{nullptr};
    SpscRing<Slot*> retired_{8};
    SpscRing<TimedEvent> events_;
    SpscRing<EventAck> acks_;
    std::atomic<uint64_t> activeSeq_{0}, callbacks_{0}, xruns_{0}, overruns_{0}, position_{0},
        swaps_{0};
    std::array<std::atomic<uint64_t>, kSwapLog> swapAt_{}; ///< swap n at [n % kSwapLog]
    LoadHistogram load_;

    // Audio thread only.
    Slot* active_ = nullptr;
    Slot* fading_ = nullptr;  ///< the old slot while it crossfades out
    Slot* holding_ = nullptr; ///< a finished slot waiting for room in `retired_`
    uint32_t fadePos_ = 0;
    uint64_t now_ = 0;                   ///< engine sample at the start of the next block
    std::unique_ptr<float[]> scratch_;   ///< the fading slot's output, maxFrames_
    std::unique_ptr<TimedEvent[]> heap_; ///< due events, earliest first (a binary heap)
    std::size_t heapSize_ = 0;
};

} // namespace chronus

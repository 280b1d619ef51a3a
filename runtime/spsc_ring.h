// A bounded single-producer single-consumer ring: preallocated at construction, never allocates,
// never blocks. Used for timed parameter events (control -> audio), their acknowledgements
// (audio -> control) and recorded audio (audio -> writer thread).
#pragma once

#include "runtime/zeroed_array.h"

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>

namespace chronus {

template <class T>
class SpscRing {
    static_assert(std::is_trivially_copyable_v<T>);

public:
    /// Whether the ring's pages are written at construction (on the constructing thread) or
    /// left to the kernel until first used (zeroed_array.h): a ring the audio thread fills as a
    /// stream (recorded audio) touches them now; one that rarely fills far (events) need not.
    enum class Pages { touchNow, onFirstUse };

    /// Control thread: room for at least `capacity` items (rounded up to a power of two).
    explicit SpscRing(std::size_t capacity, Pages pages = Pages::touchNow)
        : cap_(std::bit_ceil(capacity < 2 ? std::size_t{2} : capacity)), mask_(cap_ - 1),
          items_(makeZeroedArray<T>(cap_)) {
        if (pages == Pages::touchNow)
            std::memset(static_cast<void*>(items_.get()), 0, cap_ * sizeof(T));
    }

    std::size_t capacity() const noexcept { return cap_; }

    /// Producer only; wait-free. False when full (nothing written).
    bool tryPush(const T& item) noexcept {
        const auto w = write_.load(std::memory_order_relaxed);
        if (w - read_.load(std::memory_order_acquire) == cap_) return false;
        items_[w & mask_] = item;
        write_.store(w + 1, std::memory_order_release);
        return true;
    }

    /// Producer only; wait-free. Writes all `n` items or none.
    bool tryPushAll(const T* items, std::size_t n) noexcept {
        const auto w = write_.load(std::memory_order_relaxed);
        if (cap_ - (w - read_.load(std::memory_order_acquire)) < n) return false;
        for (std::size_t i = 0; i < n; ++i) items_[(w + i) & mask_] = items[i];
        write_.store(w + n, std::memory_order_release);
        return true;
    }

    /// Consumer only; wait-free. False when empty.
    bool tryPop(T& item) noexcept {
        const auto r = read_.load(std::memory_order_relaxed);
        if (r == write_.load(std::memory_order_acquire)) return false;
        item = items_[r & mask_];
        read_.store(r + 1, std::memory_order_release);
        return true;
    }

    /// Consumer only; wait-free. Pops up to `max` items into `out`, returns how many.
    std::size_t popInto(T* out, std::size_t max) noexcept {
        const auto r = read_.load(std::memory_order_relaxed);
        auto n = static_cast<std::size_t>(write_.load(std::memory_order_acquire) - r);
        if (n > max) n = max;
        for (std::size_t i = 0; i < n; ++i) out[i] = items_[(r + i) & mask_];
        read_.store(r + n, std::memory_order_release);
        return n;
    }

    /// Either side; a snapshot that may be stale by the time it is used.
    std::size_t size() const noexcept {
        return static_cast<std::size_t>(write_.load(std::memory_order_acquire) -
                                        read_.load(std::memory_order_acquire));
    }

private:
    const std::size_t cap_;
    const std::size_t mask_;
    ZeroedArray<T> items_; ///< untouched until used (zeroed_array.h)
    alignas(64) std::atomic<uint64_t> write_{0};
    alignas(64) std::atomic<uint64_t> read_{0};
};

} // namespace chronus

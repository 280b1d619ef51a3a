// Large preallocated arrays that cost nothing until used. `std::make_unique<T[]>(n)` constructs
// every element, touching every page at start-up: the engine's event rings and heap, ~700 KB,
// were ~170 page faults of every process, a `chronus render` of one second as much as a
// `serve`. calloc's memory of that size comes straight from mmap, zero-filled by the kernel and
// faulted in a page at a time when first written (in a live engine: the first time that many
// events wait at once).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>
#include <type_traits>

namespace chronus {

struct FreeDeleter {
    void operator()(void* p) const noexcept { std::free(p); }
};

template <class T>
using ZeroedArray = std::unique_ptr<T[], FreeDeleter>;

/// `n` elements of all-zero bytes. T must be a type whose objects calloc's memory can hold as
/// they are (implicit-lifetime: trivially copyable and destructible; every value written before
/// it is read, as a ring's or a heap's are) and whose all-zero bytes are its default.
template <class T>
ZeroedArray<T> makeZeroedArray(std::size_t n) {
    static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);
    void* p = std::calloc(n == 0 ? 1 : n, sizeof(T));
    if (p == nullptr) throw std::bad_alloc();
    return ZeroedArray<T>(static_cast<T*>(p));
}

} // namespace chronus

// The real-time guard of a test executable: global operator new/delete and pthread_mutex_lock
// replaced with counters that count only on a thread that set tArmed (the audio thread, around
// the work that must not allocate or lock). It defines those replacements, so exactly one source
// file of an executable includes it.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <dlfcn.h>
#include <new>
#include <pthread.h>

// Sanitizer runtimes replace operator new themselves: there the guard is compiled out and the
// tests only check that the real-time path runs.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||                         \
    __has_feature(memory_sanitizer)
#define CHRONUS_NO_ALLOC_GUARD 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CHRONUS_NO_ALLOC_GUARD 1
#endif

namespace {

thread_local bool tArmed = false; // set on the audio thread only
std::atomic<uint64_t> gAllocations{0}, gLocks{0};

} // namespace

#ifndef CHRONUS_NO_ALLOC_GUARD
namespace {

void* countedAlloc(std::size_t n, std::size_t align) {
    if (tArmed) gAllocations.fetch_add(1, std::memory_order_relaxed);
    if (n == 0) n = 1;
    void* p = align > alignof(std::max_align_t)
                  ? std::aligned_alloc(align, (n + align - 1) / align * align)
                  : std::malloc(n);
    if (p == nullptr) throw std::bad_alloc();
    return p;
}

using MutexLockFn = int (*)(pthread_mutex_t*);
MutexLockFn realMutexLock() {
    static MutexLockFn fn = reinterpret_cast<MutexLockFn>(dlsym(RTLD_NEXT, "pthread_mutex_lock"));
    return fn;
}
const MutexLockFn gResolvedAtStart = realMutexLock(); // resolve before any audio thread exists

} // namespace

void* operator new(std::size_t n) {
    return countedAlloc(n, 0);
}
void* operator new[](std::size_t n) {
    return countedAlloc(n, 0);
}
void* operator new(std::size_t n, std::align_val_t a) {
    return countedAlloc(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
    return countedAlloc(n, static_cast<std::size_t>(a));
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    try {
        return countedAlloc(n, 0);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept {
    return operator new(n, t);
}
void operator delete(void* p) noexcept {
    if (tArmed && p != nullptr) gAllocations.fetch_add(1, std::memory_order_relaxed);
    std::free(p);
}
void operator delete[](void* p) noexcept {
    operator delete(p);
}
void operator delete(void* p, std::size_t) noexcept {
    operator delete(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    operator delete(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
    operator delete(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
    operator delete(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
    operator delete(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
    operator delete(p);
}

extern "C" int pthread_mutex_lock(pthread_mutex_t* m) {
    if (tArmed) gLocks.fetch_add(1, std::memory_order_relaxed);
    return gResolvedAtStart != nullptr ? gResolvedAtStart(m) : realMutexLock()(m);
}
#endif

namespace {
#ifdef CHRONUS_NO_ALLOC_GUARD
constexpr bool kGuarded = false;
#else
constexpr bool kGuarded = true;
#endif
} // namespace

// The code cache on disk: compiled shapes kept across processes, so that the second `render` or
// `serve` of a patch compiles nothing. An entry is one file, named by the SHA-256 of its key
// (ShapeCacheKey::text(), which names everything the code depends on: shape, level, lanes, CPU
// and features, LLVM version, the kernels' and the lowering's code), holding a header (magic,
// format version, key hash, lengths, checksum), the key itself and the object file.
//
// Safety: a corrupt, truncated or foreign entry (another key's, another format's, not a regular
// file) is found by the header and the checksum, counted, removed and rebuilt, never loaded.
// Entries are written whole or not at all: a temporary file opened with O_EXCL|O_NOFOLLOW in the
// directory (never through a symlink planted there), fsync, rename. Every path is relative to
// the directory's descriptor, opened once. The directory is bounded: least recently used entries
// (by access time, which a hit sets) are removed beyond the limit.
//
// Writes happen on the cache's own thread (an fsync can take 20 ms on a loaded machine: not on
// a commit's way to the speaker); flush() waits for them. No LLVM types here.
#pragma once

#include "base/expected.h"
#include "compiler/jit/jit.h"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace chronus::jit {

/// A compiled shape as the disk keeps it: what CompiledShape needs besides its key.
struct CachedObject {
    std::string key;         ///< ShapeCacheKey::text(): the entry is found and checked by it
    std::string entryName;   ///< the one-instance entry's symbol
    std::string wideName;    ///< the wide entry's symbol; empty without one
    std::string notWide;     ///< why it has no wide entry
    uint32_t lanes = 0;      ///< of the wide entry; 0 without one
    uint32_t lanesTried = 0; ///< the lanes the wide entry was tried with (0: not tried)
    std::string object;      ///< the relocatable object file
};

class ObjectCache {
public:
    /// Opens `options.directory`, creating it (mode 0700) if needed. Fails, saying why, if it is
    /// not a directory this process can write.
    static Expected<std::unique_ptr<ObjectCache>> open(const DiskCacheOptions& options);
    ~ObjectCache();
    ObjectCache(const ObjectCache&) = delete;
    ObjectCache& operator=(const ObjectCache&) = delete;

    /// Any thread. The entry for `key`, checked whole; a bad one is removed and not returned.
    std::optional<CachedObject> load(const std::string& key);
    /// Any thread. Queues `entry` to be written by the cache's thread; dropped (and counted) when
    /// more than kMaxQueuedBytes already wait.
    void store(CachedObject entry);
    /// Any thread. Returns once every entry queued before the call is written or has failed.
    void flush();

    /// Writes `entry` now on the calling thread (what the cache's thread does; tests).
    Status write(const CachedObject& entry);
    /// Removes temporary files left by dead writers and, beyond the size limit, the least recently
    /// used entries until the directory holds at most three quarters of it.
    void trim();

    DiskCacheStats stats() const;
    const std::string& directory() const { return dir_; }
    /// The entry's file name in the directory (tests corrupt it), and its temporary file's.
    static std::string fileName(const std::string& key);
    static std::string tempName(const std::string& key) { return fileName(key) + ".tmp"; }

    /// Bytes of entries that may wait for the writer; beyond them a store is dropped.
    static constexpr std::size_t kMaxQueuedBytes = std::size_t{64} << 20;

private:
    ObjectCache(std::string dir, int dirFd, uint64_t maxBytes);
    void writerRun();
    /// Writes and, now and then, trims. Called by the writer with no lock held.
    void writeQueued(const CachedObject& entry);

    const std::string dir_;
    const int dirFd_;
    const uint64_t maxBytes_;

    mutable std::mutex mutex_;
    std::condition_variable wake_, idle_;
    std::deque<CachedObject> queue_;
    std::size_t queuedBytes_ = 0;
    bool writing_ = false, stopping_ = false;
    std::thread writer_; ///< started by the first store
    uint64_t writtenSinceTrim_ = 0;
    bool trimmedOnce_ = false;
    DiskCacheStats stats_;
};

/// 32 hex digits of the SHA-256 of `key` (ShapeCacheKey::text()): the entry's file name, and
/// the shape's symbols, so that they are the same in every process.
std::string keyHash(const std::string& key);

/// The process's disk cache as setDiskCache configured it; null when it is off.
ObjectCache* processObjectCache();

} // namespace chronus::jit

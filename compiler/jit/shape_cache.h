// Compiled group shapes, shared across programs and commits. A shape's code depends only on its
// cache key (ShapeCacheKey: the fusion plan's shape key, the optimisation level and tier, the
// lanes of its wide entry, the host), so it is compiled once into its own object under its own
// ORC ResourceTracker (host_jit.h) and every program whose plan has that shape calls it. A commit
// that adds, removes or rewires voices of known shapes then compiles nothing.
//
// Lifetime: programs hold their shapes (shared_ptr), and so does the cache while it keeps them.
// A shape no program holds is idle; idle shapes are evicted least recently used first once the
// cache holds more than its limits (count, object bytes), and a shape's code is removed from the
// JIT when its last holder lets go. So memory stays bounded however many shapes come and go.
// No LLVM here.
#pragma once

#include "compiler/jit/jit.h"
#include "compiler/jit/shape_abi.h"

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace chronus::jit {

class LinkedCode;

/// Everything a compiled shape's code depends on. The same key, in this process or another
/// (the disk cache, object_cache.h), is the same machine code.
struct ShapeCacheKey {
    std::string shape;  ///< the fusion plan's shape key
    int level = 2;      ///< optimisation level
    bool quick = false; ///< made by a quick first tier (its code differs from a final one's)
    uint32_t lanes = 1; ///< of its wide entry (1: it has none)
    std::string cpu, features;
    std::string llvm; ///< the LLVM version that compiles it
    /// The kernels' bitcode and the compiler that lowers them (kernelCodeHash(); custom
    /// bitcode is never cached).
    std::string code;

    /// The key as the caches store it:
    /// "<shape>|O<level>[q]|x<lanes>|<cpu>|<features>|llvm <version>|code <hash>".
    std::string text() const;
};

/// One compiled shape: its entry points in the process-wide JIT and what made them.
struct CompiledShape {
    std::string key;                  ///< ShapeCacheKey::text()
    std::string shapeKey;             ///< the fusion plan's key alone
    std::string entryName;            ///< symbol of the one-instance entry; names the shape in ir()
    std::string wideName;             ///< symbol of the wide entry; empty when it has none
    ShapeEntryFn entry = nullptr;     ///< one instance per call
    ShapeEntryFn wideEntry = nullptr; ///< `lanes` instances per call; null when it has none
    uint32_t lanes = 0;               ///< of wideEntry; 0 without one
    uint32_t lanesTried = 0;          ///< the lanes its wide entry was tried with (0: not tried)
    std::string notWide;              ///< why it has no wide entry, if it has none
    int optLevel = 0;
    bool quick = false;          ///< made as a quick first tier (jit.h, JitOptions::quickFirst)
    bool loaded = false;         ///< from the disk cache, not compiled by this process
    std::size_t objectBytes = 0; ///< size of the object file linked into the JIT
    std::string loweredIr;       ///< kept only when the compile asked for IR
    std::string optimizedIr;
    std::shared_ptr<LinkedCode> code; ///< the machine code; leaves the JIT with its last shape

    CompiledShape();
    CompiledShape(const CompiledShape&) = delete;
    CompiledShape& operator=(const CompiledShape&) = delete;
    ~CompiledShape();
};

using SharedShape = std::shared_ptr<const CompiledShape>;

/// The process-wide cache. Thread-safe; compiles happen outside it (two threads that compile the
/// same shape at once both succeed; the first insert wins and the other's code is dropped).
class ShapeCache {
public:
    static ShapeCache& instance();

    /// The shape for `key`, or null; a hit makes it the most recently used.
    SharedShape find(const ShapeCacheKey& key);
    /// Adds `shape` unless `shape->key` is already there (then returns that one instead), and
    /// evicts idle shapes beyond the limits.
    SharedShape insert(std::shared_ptr<CompiledShape> shape);

    void setLimits(const ShapeCacheLimits& limits);
    ShapeCacheStats stats() const;
    /// Evicts every idle shape now.
    void trim();

private:
    ShapeCache() = default;
    struct Entry {
        std::shared_ptr<CompiledShape> shape;
        std::list<std::string>::iterator lru;
    };
    /// Under the lock: removes idle entries, oldest first, until within `limits` (all idle ones
    /// with `all`); returns them so that their code is removed after the lock is released.
    std::vector<std::shared_ptr<CompiledShape>> evictLocked(bool all);

    mutable std::mutex mutex_;
    std::map<std::string, Entry> entries_;
    std::list<std::string> lru_; ///< most recently used first
    ShapeCacheLimits limits_;
    std::size_t bytes_ = 0;
    uint64_t hits_ = 0, misses_ = 0, evictions_ = 0;
};

} // namespace chronus::jit

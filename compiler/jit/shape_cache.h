// Compiled group shapes, shared across programs and commits. A shape's code depends only on its
// key (module types and kernels, creation arguments, layout, wiring, sample rate and smoothing;
// see fusion.h) and on the optimisation level and the host, so it is compiled once into its own
// object under its own ORC ResourceTracker, named by a hash of the key, and every program whose
// plan has that shape calls it. A commit that adds, removes or rewires voices of known shapes then
// compiles only its small render function.
//
// Lifetime: programs hold their shapes (shared_ptr), and so does the cache while it keeps them.
// A shape no program holds is idle; idle shapes are evicted least recently used first once the
// cache holds more than its limits (count, object bytes), and a shape's code is removed from the
// JIT when its last holder lets go. So memory stays bounded however many shapes come and go.
#pragma once

#include "compiler/jit/jit.h"
#include "compiler/jit/lower.h"

#include <cstdint>
#include <list>
#include <llvm/ExecutionEngine/Orc/Core.h>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace chronus::jit {

/// One compiled shape: its symbols in the process-wide JIT and what made them.
struct CompiledShape {
    std::string key;      ///< cache key: the shape key, the level, the host
    std::string shapeKey; ///< the fusion plan's key alone
    ShapeSymbols symbols;
    ShapeEntryFn entry = nullptr;     ///< symbols.scalar, linked
    ShapeEntryFn wideEntry = nullptr; ///< symbols.wide, linked; null when the shape does not widen
    std::string notWide;              ///< why it does not, if it does not
    bool wideAsked = false;           ///< a wide entry was tried (it may not widen)
    int optLevel = 0;
    bool quick = false;          ///< made as a quick first tier (jit.h, JitOptions::quickFirst)
    std::size_t objectBytes = 0; ///< size of the object file linked into the JIT
    std::string loweredIr;       ///< kept only when the compile asked for IR
    std::string optimizedIr;
    llvm::orc::ResourceTrackerSP tracker;

    CompiledShape() = default;
    CompiledShape(const CompiledShape&) = delete;
    CompiledShape& operator=(const CompiledShape&) = delete;
    ~CompiledShape(); ///< removes the code from the JIT
};

using SharedShape = std::shared_ptr<const CompiledShape>;

/// The process-wide cache. Thread-safe; compiles happen outside it (two threads that compile the
/// same shape at once both succeed; the first insert wins and the other's code is dropped).
class ShapeCache {
public:
    static ShapeCache& instance();

    /// The shape for `key`, or null; a hit makes it the most recently used.
    SharedShape find(const std::string& key);
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

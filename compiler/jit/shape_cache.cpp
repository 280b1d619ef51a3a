#include "compiler/jit/shape_cache.h"

#include "compiler/jit/host_jit.h"

#include <fmt/format.h>

namespace chronus::jit {

std::string ShapeCacheKey::text() const {
    return fmt::format("{}|O{}{}|x{}|{}|{}|llvm {}|code {}", shape, level, quick ? "q" : "", lanes,
                       cpu, features, llvm, code);
}

CompiledShape::CompiledShape() = default;
CompiledShape::~CompiledShape() = default; // `code` leaves the JIT

ShapeCache& ShapeCache::instance() {
    static ShapeCache* cache = new ShapeCache(); // never destroyed: programs may outlive statics
    return *cache;
}

SharedShape ShapeCache::find(const ShapeCacheKey& key) {
    const std::string text = key.text();
    std::lock_guard lock(mutex_);
    auto it = entries_.find(text);
    if (it == entries_.end()) {
        ++misses_;
        return nullptr;
    }
    ++hits_;
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return it->second.shape;
}

SharedShape ShapeCache::insert(std::shared_ptr<CompiledShape> shape) {
    std::vector<std::shared_ptr<CompiledShape>> victims;
    SharedShape result;
    {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(shape->key);
        if (it != entries_.end()) {
            lru_.splice(lru_.begin(), lru_, it->second.lru);
            result = it->second.shape;
        } else {
            lru_.push_front(shape->key);
            bytes_ += shape->objectBytes;
            entries_.emplace(shape->key, Entry{shape, lru_.begin()});
            result = shape;
            victims = evictLocked(false);
        }
    }
    return result; // `victims` (and a losing `shape`) remove their code here, unlocked
}

std::vector<std::shared_ptr<CompiledShape>> ShapeCache::evictLocked(bool all) {
    std::vector<std::shared_ptr<CompiledShape>> victims;
    auto over = [&] {
        return all || entries_.size() > limits_.maxEntries || bytes_ > limits_.maxBytes;
    };
    for (auto it = lru_.end(); it != lru_.begin() && over();) {
        --it;
        auto e = entries_.find(*it);
        // Only the cache holds it (no program can take it without the lock): idle.
        if (e->second.shape.use_count() != 1) continue;
        bytes_ -= e->second.shape->objectBytes;
        victims.push_back(std::move(e->second.shape));
        entries_.erase(e);
        it = lru_.erase(it);
        ++evictions_;
    }
    return victims;
}

void ShapeCache::setLimits(const ShapeCacheLimits& limits) {
    std::vector<std::shared_ptr<CompiledShape>> victims;
    std::lock_guard lock(mutex_);
    limits_ = limits;
    victims = evictLocked(false);
}

ShapeCacheStats ShapeCache::stats() const {
    std::lock_guard lock(mutex_);
    ShapeCacheStats s;
    s.entries = entries_.size();
    for (const auto& [key, e] : entries_)
        if (e.shape.use_count() == 1) ++s.idle;
    s.objectBytes = bytes_;
    s.hits = hits_;
    s.misses = misses_;
    s.evictions = evictions_;
    s.limits = limits_;
    return s;
}

void ShapeCache::trim() {
    std::vector<std::shared_ptr<CompiledShape>> victims;
    std::lock_guard lock(mutex_);
    victims = evictLocked(true);
}

} // namespace chronus::jit

namespace chronus {

ShapeCacheStats shapeCacheStats() {
    return jit::ShapeCache::instance().stats();
}

void setShapeCacheLimits(const ShapeCacheLimits& limits) {
    jit::ShapeCache::instance().setLimits(limits);
}

void trimShapeCache() {
    jit::ShapeCache::instance().trim();
}

} // namespace chronus

// Parameter targets shared between the control side and the audio thread: one atomic float per
// parameter, last value wins, nothing to overflow.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>

namespace chronus {

static_assert(std::atomic<float>::is_always_lock_free);
static_assert(sizeof(std::atomic<float>) == sizeof(float), "the JIT reads these as floats");

class ParamBlock {
public:
    explicit ParamBlock(std::size_t count)
        : values_(std::make_unique<std::atomic<float>[]>(count)), count_(count) {}

    /// Any thread; wait-free.
    void store(std::size_t i, float v) noexcept { values_[i].store(v, std::memory_order_relaxed); }
    /// Any thread; wait-free.
    float load(std::size_t i) const noexcept { return values_[i].load(std::memory_order_relaxed); }

    const std::atomic<float>* data() const noexcept { return values_.get(); }
    std::size_t size() const noexcept { return count_; }

private:
    std::unique_ptr<std::atomic<float>[]> values_;
    std::size_t count_;
};

} // namespace chronus

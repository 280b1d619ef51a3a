#include "runtime/state_pool.h"

#include <cstring>
#include <utility>

namespace chronus {

StateBuffer StatePool::takeForSlot(std::size_t bytes) {
    for (auto it = free_.begin(); it != free_.end(); ++it)
        if (!it->exact() && it->capacity() >= bytes) {
            StateBuffer b = std::move(*it);
            free_.erase(it);
            std::memset(b.data(), 0, bytes); // resident pages: a memset, not a fault per page
            b.setSize(bytes);
            return b;
        }
    return StateBuffer(bytes);
}

StateBuffer StatePool::takeScratch(std::size_t bytes) {
    for (auto it = free_.begin(); it != free_.end(); ++it)
        if (it->capacity() >= bytes) {
            StateBuffer b = std::move(*it);
            free_.erase(it);
            b.setSize(bytes);
            return b;
        }
    return StateBuffer(bytes, true);
}

void StatePool::give(StateBuffer buffer) {
    if (buffer.data() == nullptr || buffer.size() > kMaxBytes || free_.size() >= kMaxBuffers)
        return; // unmapped here
    free_.push_back(std::move(buffer));
}

} // namespace chronus

// State buffers of freed slots, kept for the next slots and warm-ups. A fresh mapping's pages
// fault in one at a time as a commit first writes its initial state and as the warm-up copies it;
// on this class of machine (a VM) that was an eighth of a 256-voice commit's CPU, and the unmap
// of the freed ones more. A recycled buffer's pages are resident already. Compiler thread only
// (CommitPipeline's mutex held).
#pragma once

#include "runtime/slot.h"

#include <cstddef>
#include <vector>

namespace chronus {

class StatePool {
public:
    /// A slot's buffer for `bytes` of state (room to grow reserved behind it), the first `bytes`
    /// zeroed: a recycled one if one is large enough, else a new mapping.
    StateBuffer takeForSlot(std::size_t bytes);
    /// A scratch buffer of at least `bytes` (its contents are not cleared: the warm-up copies the
    /// slot's state over it).
    StateBuffer takeScratch(std::size_t bytes);
    /// Keeps `buffer` for later, unless the pool is full or the buffer holds more than a bounded
    /// amount (then it is unmapped, as before).
    void give(StateBuffer buffer);

    /// Buffers kept, and the most bytes a kept buffer may hold: what the pool can keep resident.
    static constexpr std::size_t kMaxBuffers = 4;
    static constexpr std::size_t kMaxBytes = std::size_t{16} << 20;

private:
    std::vector<StateBuffer> free_;
};

} // namespace chronus

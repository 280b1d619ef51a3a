// Where a commit's outcome goes once it is known: the counters, the swap observer (`serve
// --state` makes the patch durable there), the commit's own callback, and whoever waits for the
// commit to settle. Everything here runs on the compiler thread except the waits and reads.
#pragma once

#include "runtime/engine.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

namespace chronus {

class CommitOutcomes {
public:
    /// Control side: see Engine::setSwapObserver. Empty removes it, waiting for a call in progress.
    void setSwapObserver(std::function<Status(uint64_t seq)> observer);

    /// Compiler thread, once per commit, in this order: count it; if it swapped in, run the swap
    /// observer (before the report, so a reported commit is never lost); deliver the report.
    void count(bool ok);
    /// Why the commit is not saved (the observer's error), or ok.
    Status observeSwap(uint64_t seq);
    /// Calls `done` (if any) with `report`, then marks the commit settled and wakes the waiters.
    void deliver(const CommitReport& report, const CommitCallback& done);

    /// Any thread: true once commit `seq` has been delivered.
    bool settled(uint64_t seq) const { return settled_.load() >= seq; }
    /// Control side; blocks until commit `seq` is delivered or `timeoutMs` passes.
    bool waitFor(uint64_t seq, double timeoutMs) const;

    uint64_t commits() const { return commits_.load(); }
    uint64_t failures() const { return failures_.load(); }

private:
    mutable std::mutex settleMutex_;
    mutable std::condition_variable settleCv_;
    std::atomic<uint64_t> settled_{0}, commits_{0}, failures_{0};
    std::mutex observerMutex_; ///< held while the swap observer runs
    std::function<Status(uint64_t)> swapObserver_;
};

} // namespace chronus

#include "runtime/commit_outcomes.h"

#include <chrono>

namespace chronus {

void CommitOutcomes::setSwapObserver(std::function<void(uint64_t seq)> observer) {
    std::lock_guard lock(observerMutex_);
    swapObserver_ = std::move(observer);
}

void CommitOutcomes::count(bool ok) {
    (ok ? commits_ : failures_).fetch_add(1);
}

void CommitOutcomes::observeSwap(uint64_t seq) {
    std::lock_guard lock(observerMutex_);
    if (swapObserver_) swapObserver_(seq);
}

void CommitOutcomes::deliver(const CommitReport& report, const CommitCallback& done) {
    if (done) done(report);
    {
        std::lock_guard lock(settleMutex_);
        settled_.store(report.seq);
    }
    settleCv_.notify_all();
}

bool CommitOutcomes::waitFor(uint64_t seq, double timeoutMs) const {
    std::unique_lock lock(settleMutex_);
    return settleCv_.wait_for(lock, std::chrono::duration<double, std::milli>(timeoutMs),
                              [&] { return settled_.load() >= seq; });
}

} // namespace chronus

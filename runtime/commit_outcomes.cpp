#include "runtime/commit_outcomes.h"

#include <chrono>
#include <fmt/format.h>

namespace chronus {

std::vector<std::string> commitNotes(const CommitReport& report, uint32_t frames) {
    std::vector<std::string> notes;
    if (!report.ok) return notes;
    if (!report.notSaved.empty()) notes.push_back("not saved: " + report.notSaved);
    if (!report.deviceShort.empty()) notes.push_back(report.deviceShort);
    if (report.primeLoad > 1.0)
        notes.push_back(fmt::format(
            "overload: rendering a block of {} frames takes {:.2f} times as long as it plays{}: "
            "expect dropouts",
            frames, report.primeLoad,
            report.optimizing ? " (the quick first tier; the optimised one follows)" : ""));
    return notes;
}

void CommitOutcomes::setSwapObserver(std::function<Status(uint64_t seq)> observer) {
    std::lock_guard lock(observerMutex_);
    swapObserver_ = std::move(observer);
}

void CommitOutcomes::count(bool ok) {
    (ok ? commits_ : failures_).fetch_add(1);
}

Status CommitOutcomes::observeSwap(uint64_t seq) {
    std::lock_guard lock(observerMutex_);
    if (swapObserver_) return swapObserver_(seq);
    return {};
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

#include "runtime/tier_upgrader.h"

#include "runtime/slot.h"

#include <exception>

#if defined(__linux__)
#include <sys/resource.h>
#endif

namespace chronus {

TierUpgrader::TierUpgrader(std::function<void()> ready) : ready_(std::move(ready)) {}

void TierUpgrader::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
}

void TierUpgrader::request(const Slot& playing) {
    TierCompile next = playing.program->nextTier();
    if (!next) return;
    {
        std::lock_guard lock(mutex_);
        if (!wanted_) inFlight_.fetch_add(1);
        wanted_ = TierBuild{playing.seq, playing.tier, std::move(next), makeError("not compiled")};
    }
    wake_.notify_one();
}

bool TierUpgrader::hasReady() const {
    std::lock_guard lock(mutex_);
    return built_.has_value();
}

std::optional<TierBuild> TierUpgrader::takeReady() {
    std::lock_guard lock(mutex_);
    std::optional<TierBuild> b = std::move(built_);
    built_.reset();
    return b;
}

void TierUpgrader::finished(Outcome outcome) {
    if (outcome == Outcome::kSwapped) upgrades_.fetch_add(1);
    if (outcome == Outcome::kFailed) failures_.fetch_add(1);
    inFlight_.fetch_sub(1);
}

void TierUpgrader::tierThreadRun() {
#if defined(__linux__)
    (void)setpriority(PRIO_PROCESS, 0, 10); // this thread only (Linux threads have own nice)
#endif
    for (;;) {
        std::optional<TierBuild> work;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || wanted_.has_value(); });
            if (stopping_) return;
            work = std::move(wanted_);
            wanted_.reset();
        }
        try {
            work->program = work->compile();
        } catch (const std::exception& e) {
            work->program = makeError("{}", e.what());
        }
        work->compile = nullptr;
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return;
            if (built_) inFlight_.fetch_sub(1); // an older one never ran: dropped
            built_ = std::move(work);
        }
        ready_();
    }
}

} // namespace chronus

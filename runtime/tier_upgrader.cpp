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

void TierUpgrader::cancel() {
    std::lock_guard lock(mutex_);
    if (compiling_) compiling_->store(true);
    if (wanted_) inFlight_.fetch_sub(1);
    if (built_) inFlight_.fetch_sub(1);
    wanted_.reset();
    built_.reset();
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
            compiling_ = work->cancel;
        }
        try {
            CompileCancelScope cancellable(*work->cancel);
            work->program = work->compile();
        } catch (const std::exception& e) {
            work->program = makeError("{}", e.what());
        }
        work->compile = nullptr;
        bool dropped = false;
        {
            std::lock_guard lock(mutex_);
            compiling_.reset();
            if (stopping_) return;
            if (work->cancel->load()) {
                dropped = true;
                inFlight_.fetch_sub(1);
            } else {
                if (built_) inFlight_.fetch_sub(1); // an older one never ran: dropped
                built_ = std::move(work);
            }
        }
        if (dropped) {
            work.reset(); // its program, or what its compile left, freed now
            continue;
        }
        ready_();
    }
}

} // namespace chronus

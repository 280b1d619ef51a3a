// Tiered compiles (docs/jit.md): the next, faster tier of the slot last swapped in compiles here,
// on the tier thread at low priority, one at a time, so that it never slows a commit or the audio
// down; the commit pipeline primes and swaps it in between commits, the same way as a commit.
#pragma once

#include "base/expected.h"
#include "compiler/program.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

namespace chronus {

struct Slot;

/// A faster version of commit `seq`'s program: what compiles it, then what it came to.
struct TierBuild {
    uint64_t seq = 0;
    uint32_t tier = 0; ///< of the slot it would replace
    TierCompile compile;
    Expected<std::unique_ptr<Program>> program = makeError("not compiled");
    /// Set by cancel(): the compile stops at its next phase (CompileCancelScope).
    std::shared_ptr<std::atomic<bool>> cancel = std::make_shared<std::atomic<bool>>(false);
};

class TierUpgrader {
public:
    /// `ready` is called (from the tier thread, no lock held) whenever a build is ready to take.
    explicit TierUpgrader(std::function<void()> ready);

    /// The tier thread's body: compiles what is asked until stop(). Lowers its own priority.
    void tierThreadRun();
    /// Any thread: tierThreadRun returns soon (a compile in progress finishes first).
    void stop();

    // ---- the commit pipeline (compiler thread) -----------------------------------------------
    /// Asks for the next tier of `playing` (the slot last swapped in), replacing a request not
    /// started yet. Nothing if its program is the final tier.
    void request(const Slot& playing);
    bool hasReady() const;
    std::optional<TierBuild> takeReady();
    enum class Outcome { kSwapped, kFailed, kDropped };
    /// A build taken is done with: counted (kDropped: a newer commit replaced it, not a failure).
    void finished(Outcome outcome);
    /// A newer commit is coming: the build compiling stops at its next phase and frees what it
    /// made, and the builds asked for or ready are dropped (none of them would be heard).
    void cancel();

    uint64_t upgrades() const { return upgrades_.load(); }
    uint64_t failures() const { return failures_.load(); }
    /// A faster version is wanted, compiling or waiting to swap in (EngineStatus::optimizing).
    bool optimizing() const { return inFlight_.load() > 0; }

private:
    std::function<void()> ready_;
    mutable std::mutex mutex_;
    std::condition_variable wake_; ///< the tier thread: work, or stop
    bool stopping_ = false;
    std::optional<TierBuild> wanted_, built_;
    std::shared_ptr<std::atomic<bool>> compiling_; ///< the cancel flag of the build compiling
    std::atomic<uint64_t> upgrades_{0}, failures_{0};
    std::atomic<int> inFlight_{0}; ///< wanted, compiling or ready
};

} // namespace chronus

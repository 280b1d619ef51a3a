// The commit pipeline: the queue of commits and the compiler thread that runs them one at a time,
// in order. A commit, step by step:
//   schedule -> standby slot staged (fresh state, a carry plan against the playing slot) and the
//   survivor snapshot asked (the audio thread copies the surviving modules' state in at its next
//   block boundary) -> program (ProgramFactory), while the audio thread does -> parameter values
//   (schedule, then every write since the commit copied the pending patch) -> warm-up on scratch
//   memory, checked -> publish -> the audio thread swaps it in at a block boundary (carrying the
//   state over again, exactly) -> report.
// Between commits the same prime and swap installs a faster tier (TierUpgrader). The pipeline
// owns every slot until it frees it: the ones the audio thread hands back, and failed ones.
//
// Bounded (issue 15): at most one commit compiles and one waits. A commit queued behind a waiting
// one replaces it (its graph and write mark; every commit copies the whole pending patch, so the
// newer holds all the older had) and carries its report: each commit still gets exactly one,
// delivered in sequence order when the carrier's outcome is known, repeating it (carriedBy says
// by whom). A newer commit also cancels the compile in progress, unless that compile is itself a
// carrier (so a storm of commits cannot starve the speaker: at most every other compile is
// cancelled), and the tier compile of what plays; a cancelled compile stops at its next phase,
// frees its memory, and its commit is carried by the one waiting.
#pragma once

#include "compiler/patch_graph.h"
#include "runtime/audio_core.h"
#include "runtime/engine.h"
#include "runtime/engine_log.h"
#include "runtime/state_pool.h"
#include "runtime/tier_upgrader.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace chronus {

class CommitOutcomes;
class ParamStore;
class PatchVersions;
struct Slot;

class CommitPipeline {
public:
    /// `tiers` may be null (untiered engine).
    CommitPipeline(const EngineOptions& options, const EngineLog& log, AudioCore& core,
                   ParamStore& params, PatchVersions& versions, CommitOutcomes& outcomes,
                   TierUpgrader* tiers);
    ~CommitPipeline();

    /// Any control thread: queues a commit of the pending patch; returns its sequence number.
    uint64_t enqueue(CommitCallback done);

    /// The compiler thread's body: runs commits (and tier upgrades between them) until stop().
    void compilerThreadRun();
    /// Any thread: compilerThreadRun returns soon; a prime waiting for the audio thread gives up.
    void stop();
    /// After the compiler thread has returned: reports every commit still queued, as failed.
    void failQueued();
    /// Tier thread: a tier build is ready (wakes the compiler thread).
    void tierReady();

    /// Control side: the IR of the playing program at `stage`, or why there is none.
    Expected<std::string> playingIr(std::string_view stage) const;

private:
    /// One commit: the pending patch as it was, and where the write history stood just before.
    struct Commit {
        uint64_t seq = 0;
        PatchGraph graph;
        uint64_t writesSince = 0;                       ///< ParamStore::mark()
        std::chrono::steady_clock::time_point queuedAt; ///< Engine::commit (CommitReport::stages)
        CommitCallback done;
        /// Older commits this one carries (replaced while waiting, or cancelled), oldest first.
        std::vector<std::pair<uint64_t, CommitCallback>> carried;
        std::atomic<bool> cancel{false}; ///< a newer commit waits: stop compiling
        bool cancelled = false;          ///< its compile stopped because of `cancel`
    };
    /// A commit's standby slot made before its program, from the schedule: its state laid out
    /// and initialised, its carry planned, and the survivors' snapshot for the warm-up asked of
    /// the audio thread, which copies it at a block boundary while the program compiles.
    struct Staged {
        std::unique_ptr<Slot> slot;
        AudioCore::SnapshotRequest snapshot;
        bool requested = false;
    };
    /// Stages a slot for `sched` when something plays (else there is nothing to snapshot).
    void stage(Staged& staged, uint64_t seq, const Schedule& sched);
    /// A staged slot whose program failed: its snapshot taken back, its buffer kept for later.
    void unstage(Staged& staged);
    CommitReport runCommit(Commit& commit, Slot*& out);
    /// Takes the commit run off the queue and delivers its report (and its carried ones'); a
    /// cancelled one is carried by the commit waiting instead.
    void finishCommit(CommitReport& report, Slot* slot);
    /// Delivers `report` for `commit` and everything it carries, oldest first.
    void deliverAll(Commit& commit, const CommitReport& report);
    void runUpgrade(TierBuild& build);
    /// Primes a slot for `program` and has the audio thread swap it in: the rest of a commit,
    /// and all of a tier upgrade. `attach` fills its parameters and makes it a write target. On
    /// failure the slot is gone and `r` says why; on success `out` is the slot now playing.
    /// `staged`, if given, is the slot to use (stage()), its carry planned and its snapshot asked.
    void primeAndSwap(CommitReport& r, std::unique_ptr<Program> program, uint32_t tier,
                      const std::function<void(Slot&)>& attach, Slot*& out,
                      Staged* staged = nullptr);
    void discard(Slot* s); // mutex_ held
    /// The slot of the commit the audio thread plays, or null (mutex_ held).
    const Slot* playingSlot() const;

    const EngineOptions& opts_;
    const EngineLog& log_;
    AudioCore& core_;
    ParamStore& params_;
    PatchVersions& versions_;
    CommitOutcomes& outcomes_;
    TierUpgrader* tiers_;
    const uint32_t fadeFrames_; ///< a commit's crossfade (EngineOptions::xfadeMs) in samples

    mutable std::mutex mutex_;
    std::condition_variable wake_;              ///< the compiler thread: a commit, a tier, or stop
    std::deque<std::unique_ptr<Commit>> queue_; ///< compiling (front), waiting: at most two
    std::vector<std::unique_ptr<Slot>> slots_;  ///< every slot not yet freed
    StatePool statePool_;                       ///< freed slots' state buffers, for the next
    Slot* newest_ = nullptr;                    ///< the slot last swapped in
    uint64_t nextSeq_ = 1;
    std::atomic<bool> stopping_{false};
};

} // namespace chronus

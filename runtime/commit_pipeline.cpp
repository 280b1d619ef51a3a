#include "runtime/commit_pipeline.h"

#include "compiler/jit/jit.h"
#include "compiler/schedule.h"
#include "runtime/audio_core.h"
#include "runtime/commit_outcomes.h"
#include "runtime/param_store.h"
#include "runtime/patch_versions.h"
#include "runtime/slot.h"

#include <chrono>
#include <cmath>
#include <exception>
#include <fmt/format.h>
#include <optional>

namespace chronus {

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

constexpr double kSilentRms = 0.001;
/// How long the compiler thread sleeps with nothing to do before it frees retired slots and
/// records played timed events anyway.
constexpr auto kIdleWake = std::chrono::milliseconds(20);

} // namespace

CommitPipeline::CommitPipeline(const EngineOptions& options, const EngineLog& log, AudioCore& core,
                               ParamStore& params, PatchVersions& versions,
                               CommitOutcomes& outcomes, TierUpgrader* tiers)
    : opts_(options), log_(log), core_(core), params_(params), versions_(versions),
      outcomes_(outcomes), tiers_(tiers),
      fadeFrames_(static_cast<uint32_t>(std::lround(options.xfadeMs * options.sampleRate / 1000))) {
}

CommitPipeline::~CommitPipeline() {
    std::lock_guard lock(mutex_);
    for (auto& s : slots_) params_.detach(*s);
}

uint64_t CommitPipeline::enqueue(CommitCallback done) {
    uint64_t seq = 0;
    {
        std::lock_guard lock(mutex_);
        auto commit = std::make_unique<Commit>();
        seq = commit->seq = nextSeq_++;
        // The mark first: a write between the two is then both in the copy and after the mark,
        // and applying it twice is harmless (the last value wins either way).
        commit->writesSince = params_.mark();
        commit->graph = versions_.beginCommit();
        commit->done = std::move(done);
        queue_.push_back(std::move(commit));
    }
    wake_.notify_one();
    log_("commit {} queued", seq);
    return seq;
}

void CommitPipeline::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
}

void CommitPipeline::tierReady() {
    {
        std::lock_guard lock(mutex_);
    } // the compiler thread is waiting, or sees it when it checks
    wake_.notify_all();
}

void CommitPipeline::failQueued() {
    std::lock_guard lock(mutex_);
    for (auto& commit : queue_) {
        CommitReport r;
        r.seq = commit->seq;
        r.reason = "the engine stopped before this commit ran";
        outcomes_.deliver(r, commit->done);
    }
    queue_.clear();
}

void CommitPipeline::discard(Slot* s) {
    params_.detach(*s);
    std::erase_if(slots_, [s](const std::unique_ptr<Slot>& p) { return p.get() == s; });
}

Expected<std::string> CommitPipeline::playingIr(std::string_view stage) const {
    std::lock_guard lock(mutex_); // slots are freed only under it
    const uint64_t active = core_.activeSeq();
    const Slot* playing = nullptr;
    for (const auto& slot : slots_)
        if (slot->seq == active) playing = slot.get();
    if (playing == nullptr) return makeError("/patch/ir: nothing is committed yet");
    return playing->program->ir(stage);
}

// ---- compiler thread ----------------------------------------------------------------------------

void CommitPipeline::compilerThreadRun() {
    bool idle = false;
    {
        std::lock_guard lock(mutex_);
        idle = queue_.empty();
    }
    // A render that commits at once gains nothing from it; a live session waiting for its first
    // OSC commit does.
    if (opts_.prewarm && idle) prewarmJit();
    for (;;) {
        Commit* commit = nullptr;
        std::optional<TierBuild> upgrade;
        {
            std::unique_lock lock(mutex_);
            wake_.wait_for(lock, kIdleWake, [&] {
                return stopping_ || !queue_.empty() || (tiers_ != nullptr && tiers_->hasReady());
            });
            core_.reclaimRetired([this](Slot* s) { discard(s); });
            params_.drainAcks();
            if (stopping_) return;
            if (!queue_.empty()) {
                commit = queue_.front().get(); // only this thread takes it off the queue
            } else if (tiers_ != nullptr && tiers_->hasReady()) { // commits first; tiers between
                upgrade = tiers_->takeReady();
            } else {
                continue;
            }
        }
        if (upgrade) {
            runUpgrade(*upgrade);
            continue;
        }
        Slot* slot = nullptr;
        CommitReport report = runCommit(*commit, slot);
        finishCommit(report, slot);
    }
}

CommitReport CommitPipeline::runCommit(Commit& commit, Slot*& out) {
    CommitReport r;
    r.seq = commit.seq;
    auto fail = [&](std::string reason) { // before any slot exists: nothing to discard
        r.ok = false;
        r.reason = std::move(reason);
        return r;
    };

    const auto t0 = Clock::now();
    auto sched =
        buildSchedule(commit.graph, {opts_.sampleRate, static_cast<float>(opts_.smoothingMs)});
    if (!sched) return fail("schedule failed: " + sched.error().message);
    Expected<std::unique_ptr<Program>> program = makeError("no program");
    try {
        program = opts_.factory(*sched);
    } catch (const std::exception& e) {
        return fail(fmt::format("compile failed: {}", e.what()));
    }
    r.compileMs = msSince(t0);
    if (!program) return fail("compile failed: " + program.error().message);
    if (*program == nullptr) return fail("compile failed: the factory returned no program");

    primeAndSwap(
        r, program.take(), 1, [&](Slot& slot) { params_.attachCommit(slot, commit.writesSince); },
        out);
    return r;
}

void CommitPipeline::finishCommit(CommitReport& report, Slot* slot) {
    std::unique_ptr<Commit> commit;
    {
        std::lock_guard lock(mutex_);
        commit = std::move(queue_.front());
        queue_.pop_front();
        if (report.ok) {
            params_.swappedIn(std::move(commit->graph), commit->writesSince); // dump() shows it
            newest_ = slot;
        } else if (queue_.empty()) {
            versions_.lastCommitFailed();
        }
    }
    outcomes_.count(report.ok);
    if (report.ok)
        log_("commit {} swapped in: compile {:.1f} ms, prime {:.1f} ms, rms {:.4f}{}", report.seq,
             report.compileMs, report.primeMs, report.primeRms, report.silent ? " (silent)" : "");
    else
        log_("commit {} failed: {}", report.seq, report.reason);
    if (report.ok) outcomes_.observeSwap(report.seq); // serve --state: durable before reported
    report.optimizing = report.ok && tiers_ != nullptr && !slot->program->finalTier();
    outcomes_.deliver(report, commit->done);
    if (report.optimizing) tiers_->request(*slot);
}

/// A faster tier of the slot playing, through the same prime and swap as a commit (its parameters
/// copied from the playing slot, its state carried over). A tier that fails leaves the playing one
/// as it is.
void CommitPipeline::runUpgrade(TierBuild& build) {
    const uint32_t tier = build.tier + 1;
    if (!build.program || *build.program == nullptr) {
        log_("commit {}: tier {} failed to compile ({}); tier {} plays on", build.seq, tier,
             build.program ? std::string("no program") : build.program.error().message, build.tier);
        tiers_->finished(TierUpgrader::Outcome::kFailed);
        return;
    }
    const Slot* from = nullptr;
    {
        std::lock_guard lock(mutex_);
        if (newest_ == nullptr || newest_->seq != build.seq || newest_->tier != build.tier ||
            !queue_.empty()) {
            log_("commit {}: tier {} dropped, a newer commit replaces it", build.seq, tier);
            tiers_->finished(TierUpgrader::Outcome::kDropped);
            return;
        }
        from = newest_;
    }
    CommitReport r;
    r.seq = build.seq;
    Slot* s = nullptr;
    primeAndSwap(
        r, build.program.take(), tier, [&](Slot& slot) { params_.attachTier(slot, *from); }, s);
    if (!r.ok) {
        log_("commit {}: tier {} not swapped in ({}); tier {} plays on", build.seq, tier, r.reason,
             build.tier);
        tiers_->finished(TierUpgrader::Outcome::kFailed);
        return;
    }
    {
        std::lock_guard lock(mutex_);
        newest_ = s;
    }
    log_("commit {}: tier {} swapped in, prime {:.1f} ms", build.seq, tier, r.primeMs);
    tiers_->request(*s); // before this one counts as finished: optimizing stays true throughout
    tiers_->finished(TierUpgrader::Outcome::kSwapped);
}

void CommitPipeline::primeAndSwap(CommitReport& r, std::unique_ptr<Program> program, uint32_t tier,
                                  const std::function<void(Slot&)>& attach, Slot*& out) {
    auto fail = [&](Slot* s, std::string reason) {
        if (s != nullptr) {
            std::lock_guard lock(mutex_);
            discard(s);
        }
        r.ok = false;
        r.reason = std::move(reason);
    };
    // Prime: everything from here to the swap is bounded by the prime timeout.
    const auto t1 = Clock::now();
    const auto deadline = t1 + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double, std::milli>(opts_.primeTimeoutMs));
    auto owned = std::make_unique<Slot>(r.seq, std::move(program));
    Slot* s = owned.get();
    s->tier = tier;
    {
        std::lock_guard lock(mutex_);
        attach(*s); // from now on, parameter writes reach it directly
        s->planCarry(newest_);
        // What is heard changes unless this is a faster tier of the playing commit or its patch
        // again: then a hard swap, state carried; else a crossfade from the playing slot.
        s->seamless = tier > 1 || (newest_ != nullptr && rendersAlike(newest_->program->schedule(),
                                                                      s->program->schedule()));
        s->fadeFrames = s->seamless ? 0 : fadeFrames_;
        slots_.push_back(std::move(owned));
    }
    const auto timedOut = [&](const char* what) {
        return fmt::format("prime timed out after {:g} ms waiting for the audio thread to {} "
                           "(CHRONUS_PRIME_TIMEOUT_MS; is audio running?); nothing changed",
                           opts_.primeTimeoutMs, what);
    };

    // Survivors' state, copied by the audio thread at a block boundary: never read here while it
    // is being written there.
    if (!s->carry.empty()) {
        switch (core_.requestSnapshotAndWait(*s, deadline, stopping_)) {
        case AudioCore::Handshake::kDone:
            break;
        case AudioCore::Handshake::kTimedOut:
            fail(s, timedOut("snapshot state"));
            return;
        case AudioCore::Handshake::kActiveChanged:
            fail(s, "prime failed: the playing slot changed during the snapshot");
            return;
        }
    }

    PrimeCheck check = warmUp(*s, opts_.warmupBlocks, opts_.frames);
    r.primeRms = check.rms;
    r.silent = check.rms < kSilentRms;
    if (!check.ok) {
        fail(s, check.reason);
        return;
    }

    params_.drainAcks(); // timed values that played since the slot was filled
    const auto swap = core_.publishAndWaitForSwap(*s, deadline, stopping_, [this](Slot* retired) {
        std::lock_guard lock(mutex_);
        discard(retired);
    });
    if (swap != AudioCore::Handshake::kDone) {
        fail(s, timedOut("swap in the new slot"));
        return;
    }
    r.primeMs = msSince(t1);
    r.ok = true;
    out = s;
}

} // namespace chronus

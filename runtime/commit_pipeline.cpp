#include "runtime/commit_pipeline.h"

#include "compiler/jit/jit.h"
#include "compiler/schedule.h"
#include "runtime/audio_core.h"
#include "runtime/commit_outcomes.h"
#include "runtime/param_store.h"
#include "runtime/patch_versions.h"
#include "runtime/slot.h"
#include "runtime/state_layout.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <fmt/format.h>
#include <optional>

namespace chronus {

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

constexpr double kSilentRms = 0.001;

/// A failed or cancelled compile has freed what it made: hand the pages back to the system too
/// (glibc keeps freed heap otherwise), so a replaced 10,000-module compile leaves nothing behind.
void releaseFreedMemory() {
#if defined(__GLIBC__)
    (void)malloc_trim(0);
#endif
}
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
    uint64_t seq = 0, replaced = 0;
    {
        std::lock_guard lock(mutex_);
        seq = nextSeq_++;
        Commit* commit = nullptr;
        if (queue_.size() >= 2) {
            // One compiles, one waits: this one takes the waiting one's place and carries it.
            commit = queue_.back().get();
            replaced = commit->seq;
            commit->carried.emplace_back(commit->seq, std::move(commit->done));
        } else {
            queue_.push_back(std::make_unique<Commit>());
            commit = queue_.back().get();
        }
        commit->seq = seq;
        commit->queuedAt = Clock::now();
        // The mark first: a write between the two is then both in the copy and after the mark,
        // and applying it twice is harmless (the last value wins either way).
        commit->writesSince = params_.mark();
        commit->graph = versions_.beginCommit();
        commit->done = std::move(done);
        if (queue_.size() >= 2) {
            Commit& compiling = *queue_.front();
            if (compiling.carried.empty()) compiling.cancel = true;
            // What plays is about to be replaced: its faster tier would not be heard.
            if (tiers_ != nullptr) tiers_->cancel();
        }
    }
    wake_.notify_one();
    if (replaced != 0)
        log_("commit {} queued, replacing commit {} (which it carries)", seq, replaced);
    else
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
        outcomes_.count(false);
        deliverAll(*commit, r);
    }
    queue_.clear();
}

void CommitPipeline::deliverAll(Commit& commit, const CommitReport& report) {
    for (auto& [seq, done] : commit.carried) {
        CommitReport r = report;
        r.seq = seq;
        r.carriedBy = report.seq;
        r.optimizing = false;
        outcomes_.deliver(r, done);
    }
    commit.carried.clear();
    outcomes_.deliver(report, commit.done);
}

void CommitPipeline::discard(Slot* s) {
    params_.detach(*s);
    statePool_.give(std::move(s->state));
    std::erase_if(slots_, [s](const std::unique_ptr<Slot>& p) { return p.get() == s; });
}

Expected<std::string> CommitPipeline::playingIr(std::string_view stage) const {
    std::lock_guard lock(mutex_); // slots are freed only under it
    const Slot* playing = playingSlot();
    if (playing == nullptr) return makeError("/patch/ir: nothing is committed yet");
    return playing->program->ir(stage);
}

const Slot* CommitPipeline::playingSlot() const {
    const uint64_t active = core_.activeSeq();
    const Slot* playing = nullptr;
    for (const auto& slot : slots_)
        if (slot->seq == active) playing = slot.get();
    return playing;
}

namespace {

/// What the commit of `sched` lacks on the device stream playing (CommitReport::deviceShort). A
/// stream keeps the channels it was opened with (reopening one mid-performance is a gap or a
/// click on most devices), so a commit that needs more says so and how to get them.
std::string deviceShortfall(const Schedule& sched, const AudioCore& core) {
    if (core.callbacks() == 0) return {};
    const uint32_t outputs = sched.channelCount();
    uint32_t inputs = 0; // one past the highest `input` channel
    for (const AudioInputRef& in : sched.inputs) inputs = std::max(inputs, in.channel + 1);
    const uint32_t haveOut = core.deviceChannels(), haveIn = core.deviceInputs();
    std::string out;
    if (outputs > haveOut && haveOut > 0)
        out = fmt::format("the patch has {} output channels and the device stream {} (channel k "
                          "plays on k mod {}): restart serve with --channels {}",
                          outputs, haveOut, haveOut, outputs);
    if (inputs > haveIn)
        out += fmt::format("{}the patch reads input {} and the device stream has {} input{} open "
                           "(a missing one reads silence): restart serve with --inputs {} (a "
                           "device) or --input FILE (--device null)",
                           out.empty() ? "" : "; ", inputs, haveIn, haveIn == 1 ? "" : "s", inputs);
    return out;
}

} // namespace

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

void CommitPipeline::stage(Staged& staged, uint64_t seq, const Schedule& sched) {
    if (newest_ == nullptr) return;
    {
        std::lock_guard lock(mutex_);
        staged.slot = std::make_unique<Slot>(seq, sched, statePool_.takeForSlot(sched.stateBytes));
    }
    Slot& s = *staged.slot;
    initState(sched, s.state.data());
    s.stateReady = true;
    s.planCarry(newest_, sched); // newest_ changes on this thread only
    if (!s.carry.empty()) {
        core_.startSnapshot(staged.snapshot, s);
        staged.requested = true;
    }
}

void CommitPipeline::unstage(Staged& staged) {
    if (staged.requested) core_.withdrawSnapshot(staged.snapshot);
    staged.requested = false;
    if (!staged.slot) return;
    std::lock_guard lock(mutex_);
    statePool_.give(std::move(staged.slot->state));
    staged.slot.reset();
}

CommitReport CommitPipeline::runCommit(Commit& commit, Slot*& out) {
    CommitReport r;
    r.seq = commit.seq;
    Staged staged;
    auto fail = [&](std::string reason) { // no slot published: the staged one is dropped
        unstage(staged);
        r.ok = false;
        r.reason = std::move(reason);
        return r;
    };

    const auto t0 = Clock::now();
    r.stages.queuedMs = std::chrono::duration<double, std::milli>(t0 - commit.queuedAt).count();
    auto sched =
        buildSchedule(commit.graph, {opts_.sampleRate, static_cast<float>(opts_.smoothingMs)});
    if (!sched) return fail("schedule failed: " + sched.error().message);
    // Survivors keep their place in the state buffer, so the swap can take it over (slot.h).
    if (newest_ != nullptr)
        (void)keepSurvivorsInPlace(*sched, newest_->program->schedule(), newest_->state.capacity());
    r.stages.scheduleMs = msSince(t0);
    const auto tStage = Clock::now();
    stage(staged, commit.seq, *sched);
    const double stagingMs = msSince(tStage);
    Expected<std::unique_ptr<Program>> program = makeError("no program");
    try {
        CompileCancelScope cancellable(commit.cancel);
        program = opts_.factory(*sched);
    } catch (const std::exception& e) {
        return fail(fmt::format("compile failed: {}", e.what()));
    }
    r.compileMs = msSince(t0) - stagingMs; // the staged slot is the prime's (slotMs)
    r.stages.programMs = r.compileMs - r.stages.scheduleMs;
    r.stages.slotMs = stagingMs;
    if (!program && commit.cancel && program.error().message == kCompileCancelled) {
        commit.cancelled = true;
        return fail(std::string(kCompileCancelled));
    }
    if (!program) return fail("compile failed: " + program.error().message);
    if (*program == nullptr) return fail("compile failed: the factory returned no program");

    primeAndSwap(
        r, program.take(), 1, [&](Slot& slot) { params_.attachCommit(slot, commit.writesSince); },
        out, &staged);
    if (r.ok) r.deviceShort = deviceShortfall(*sched, core_);
    return r;
}

void CommitPipeline::finishCommit(CommitReport& report, Slot* slot) {
    std::unique_ptr<Commit> commit;
    const Slot* replay = nullptr; // after a failure, what plays wants its faster tier again
    bool handedOver = false;
    {
        std::lock_guard lock(mutex_);
        commit = std::move(queue_.front());
        queue_.pop_front();
        if (commit->cancelled && !queue_.empty()) {
            // The commit waiting holds every edit of this one: it carries it (and what it
            // carried), and reports for it.
            Commit& next = *queue_.front();
            commit->carried.emplace_back(commit->seq, std::move(commit->done));
            next.carried.insert(next.carried.begin(),
                                std::make_move_iterator(commit->carried.begin()),
                                std::make_move_iterator(commit->carried.end()));
            handedOver = true;
        } else if (report.ok) {
            params_.swappedIn(std::move(commit->graph), commit->writesSince); // dump() shows it
            newest_ = slot;
        } else if (queue_.empty()) {
            versions_.lastCommitFailed();
            replay = newest_;
        }
    }
    if (handedOver) {
        log_("commit {} cancelled: the commit after it carries it", report.seq);
        releaseFreedMemory();
        return;
    }
    if (!report.ok) releaseFreedMemory();
    if (replay != nullptr && tiers_ != nullptr && !replay->program->finalTier())
        tiers_->request(*replay);
    const auto reported = static_cast<uint64_t>(1 + commit->carried.size());
    for (uint64_t k = 0; k < reported; ++k) outcomes_.count(report.ok);
    if (report.ok)
        log_("commit {} swapped in: compile {:.1f} ms, prime {:.1f} ms, rms {:.4f}{}", report.seq,
             report.compileMs, report.primeMs, report.primeRms, report.silent ? " (silent)" : "");
    else
        log_("commit {} failed: {}", report.seq, report.reason);
    if (report.ok) // serve --state: durable before reported, or reported as not saved
        if (Status saved = outcomes_.observeSwap(report.seq); !saved)
            report.notSaved = saved.message();
    report.optimizing = report.ok && tiers_ != nullptr && !slot->program->finalTier();
    deliverAll(*commit, report);
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
                                  const std::function<void(Slot&)>& attach, Slot*& out,
                                  Staged* staged) {
    auto fail = [&](Slot* s, std::string reason) {
        if (s != nullptr) {
            std::lock_guard lock(mutex_);
            discard(s);
        }
        r.ok = false;
        r.reason = std::move(reason);
    };
    // Prime. The prime timeout bounds each wait for the audio thread, not the work done here.
    const auto t1 = Clock::now();
    const double stagedMs = r.stages.slotMs; // a staged slot's part, done before the program
    const auto timeout = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double, std::milli>(opts_.primeTimeoutMs));
    uint64_t callbacksBefore = 0;
    auto waitStarts = [&] {
        callbacksBefore = core_.callbacks();
        return Clock::now() + timeout;
    };
    const std::size_t stateBytes = program->schedule().stateBytes;
    Slot* s = nullptr;
    {
        std::lock_guard lock(mutex_);
        const bool planned = staged != nullptr && staged->slot != nullptr;
        std::unique_ptr<Slot> owned;
        if (planned) {
            owned = std::move(staged->slot);
            owned->program = std::move(program);
        } else {
            owned = std::make_unique<Slot>(r.seq, std::move(program),
                                           statePool_.takeForSlot(stateBytes));
        }
        s = owned.get();
        s->tier = tier;
        attach(*s); // from now on, parameter writes reach it directly
        if (!planned) s->planCarry(newest_);
        // What is heard changes unless this is a faster tier of the playing commit or its patch
        // again: then a hard swap, state carried; else a crossfade from the playing slot.
        s->seamless = tier > 1 || (newest_ != nullptr && rendersAlike(newest_->program->schedule(),
                                                                      s->program->schedule()));
        s->fadeFrames = s->seamless ? 0 : fadeFrames_;
        slots_.push_back(std::move(owned));
    }
    r.stages.slotMs += msSince(t1);
    // Says what was waited for, and whether the audio thread ran meanwhile.
    const auto timedOut = [&](const char* what) {
        const uint64_t ran = core_.callbacks() - callbacksBefore;
        return fmt::format("prime timed out after {:g} ms waiting for the audio thread to {} "
                           "(CHRONUS_PRIME_TIMEOUT_MS): {}; nothing changed",
                           opts_.primeTimeoutMs, what,
                           ran == 0
                               ? std::string("no audio callback ran meanwhile: is audio running?")
                               : fmt::format("{} audio callbacks ran meanwhile without taking it{}",
                                             ran, stopping_ ? " (the engine is stopping)" : ""));
    };

    // Survivors' state, copied by the audio thread at a block boundary: never read here while it
    // is being written there.
    if (!s->carry.empty()) {
        const auto t = Clock::now();
        const bool asked = staged != nullptr && staged->requested;
        const AudioCore::Handshake got =
            asked ? core_.awaitSnapshot(staged->snapshot, waitStarts(), stopping_)
                  : core_.requestSnapshotAndWait(*s, waitStarts(), stopping_);
        if (asked) staged->requested = false; // served or taken back: nothing to withdraw
        switch (got) {
        case AudioCore::Handshake::kDone:
            break;
        case AudioCore::Handshake::kTimedOut:
            fail(s, timedOut("snapshot state"));
            return;
        case AudioCore::Handshake::kActiveChanged:
            fail(s, "prime failed: the playing slot changed during the snapshot");
            return;
        }
        r.stages.snapshotMs = msSince(t);
    }

    const auto tWarm = Clock::now();
    StateBuffer scratch = [&] {
        std::lock_guard lock(mutex_);
        return statePool_.takeScratch(s->state.size());
    }();
    PrimeCheck check = warmUp(*s, opts_.warmupBlocks, opts_.frames, &scratch);
    {
        std::lock_guard lock(mutex_);
        statePool_.give(std::move(scratch));
    }
    r.stages.warmupMs = msSince(tWarm);
    r.primeRms = check.rms;
    r.silent = check.rms < kSilentRms;
    r.primeLoad = check.load;
    if (!check.ok) {
        fail(s, check.reason);
        return;
    }

    params_.drainAcks(); // timed values that played since the slot was filled
    const auto tSwap = Clock::now();
    const auto swap =
        core_.publishAndWaitForSwap(*s, waitStarts(), stopping_, [this](Slot* retired) {
            std::lock_guard lock(mutex_);
            discard(retired);
        });
    if (swap != AudioCore::Handshake::kDone) {
        fail(s, timedOut("swap in the new slot"));
        return;
    }
    r.stages.swapMs = msSince(tSwap);
    r.primeMs = stagedMs + msSince(t1);
    r.ok = true;
    out = s;
}

} // namespace chronus

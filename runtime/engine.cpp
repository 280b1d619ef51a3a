// The engine's control side and its compiler thread. The audio side is AudioCore (audio_core.h);
// a slot is one compiled program with its parameters and state (slot.h).
//
// Commit, step by step (compiler thread, one commit at a time, in order):
//   compile (schedule + ProgramFactory) -> make the standby slot (parameter values, initState,
//   carry plan against the playing slot) -> snapshot: the audio thread copies the surviving
//   modules' state into it at a block boundary -> warm-up on scratch memory, checked ->
//   publish -> the audio thread swaps it in at a block boundary (carrying the state over again,
//   exactly) -> report. The old slot comes back through AudioCore's retired ring and is freed here.
#include "runtime/engine.h"

#include "compiler/jit/jit.h"
#include "compiler/patch_graph.h"
#include "runtime/audio_core.h"
#include "runtime/engine_factory.h"
#include "runtime/param_keys.h"
#include "runtime/slot.h"

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <fmt/format.h>
#include <mutex>
#include <optional>
#include <thread>

#if defined(__linux__)
#include <sys/resource.h>
#endif
#include <unordered_map>

namespace chronus {

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

/// Timed events that may wait at once (setParamAt fails beyond this, never blocks).
constexpr std::size_t kTimedEventCapacity = 4096;
/// How often a waiting compiler thread looks at the audio thread's progress.
constexpr auto kPollInterval = std::chrono::microseconds(100);
constexpr double kSilentRms = 0.001;

std::optional<double> envNumber(const char* name) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return std::nullopt;
    char* end = nullptr;
    double d = std::strtod(v, &end);
    if (end == v) return std::nullopt;
    return d;
}

} // namespace

struct Engine::Impl {
    /// One commit: the pending patch as it was, and every parameter write made since.
    struct Job {
        uint64_t seq = 0;
        PatchGraph graph;
        CommitCallback done;
        std::unordered_map<uint32_t, float> lateWrites; ///< key -> last value
    };

    explicit Impl(const EngineOptions& o)
        : opts(o), core(o.sampleRate, o.frames,
                        static_cast<uint32_t>(std::lround(o.xfadeMs * o.sampleRate / 1000.0)),
                        kTimedEventCapacity) {}

    EngineOptions opts;
    AudioCore core;

    // Control state: every control thread and the compiler thread, never the audio thread.
    mutable std::mutex mutex;
    std::condition_variable wake; ///< the compiler thread: a job, or stop
    PatchGraph pending;           ///< being edited
    PatchGraph requested;         ///< as of the last commit() (abort returns here)
    PatchGraph playing;           ///< the patch of the slot last swapped in (dump)
    ParamKeys keys;
    std::deque<std::shared_ptr<Job>> jobs;    ///< queued and compiling, oldest first
    std::vector<std::unique_ptr<Slot>> slots; ///< every slot not yet freed (owner of all)
    Slot* newest = nullptr;                   ///< the slot last swapped in
    uint64_t nextSeq = 1;
    std::size_t eventsOut = 0; ///< timed events pushed and not yet acknowledged
    uint64_t eventOrder = 0;
    std::atomic<bool> stopping{false};

    mutable std::mutex settleMutex;
    mutable std::condition_variable settleCv;
    std::atomic<uint64_t> settled{0}, commits{0}, failures{0};
    std::atomic<uint64_t> changes{0}; ///< EngineStatus::changes
    std::mutex observerMutex;         ///< held while the swap observer runs
    std::function<void(uint64_t)> swapObserver;

    std::thread compiler;

    // Tiered compiles: the next tier of the slot last swapped in compiles on `tierer` (at low
    // priority); the compiler thread primes and swaps it in between commits.
    struct TierWork {
        uint64_t seq = 0;
        uint32_t tier = 0; ///< of the slot it would replace
        TierCompile compile;
        Expected<std::unique_ptr<Program>> program = makeError("not compiled");
    };
    std::optional<TierWork> tierWanted, tierReady; ///< under `mutex`
    std::condition_variable tierWake;              ///< the tier thread: work, or stop
    std::atomic<uint64_t> upgrades{0}, upgradeFailures{0};
    std::atomic<int> tiersInFlight{0}; ///< wanted, compiling or ready (EngineStatus::optimizing)
    std::thread tierer;

    template <class... Args>
    void log(fmt::format_string<Args...> f, Args&&... args) const {
        if (opts.verbose)
            fmt::print(stderr, "[engine] {}\n", fmt::format(f, std::forward<Args>(args)...));
    }

    // ---- parameter values (mutex held) ------------------------------------------------------

    /// The module `id` as the control side knows it: pending first, then what is committed.
    const PatchGraph* graphWith(std::string_view id) const {
        for (const PatchGraph* g : {&pending, &requested, &playing})
            if (g->find(id) != nullptr) return g;
        return nullptr;
    }

    /// A graph holding only module `id` as the control side knows it, to check a value (or
    /// resolve a choice name) exactly as PatchGraph does without touching the real graphs.
    Status probe(std::string_view id, PatchGraph& out) const {
        const PatchGraph* g = graphWith(id);
        if (g == nullptr) return makeError("unknown module id '{}'", id);
        const Module* m = g->find(id);
        std::optional<float> arg;
        if (!m->desc->createArg.name.empty()) arg = m->createArg;
        return out.create(id, m->desc->type, arg);
    }

    /// Checks `value` for id:param as PatchGraph::setParam would, changing nothing.
    Status validate(std::string_view id, std::string_view param, float value) const {
        PatchGraph p;
        if (Status s = probe(id, p); !s) return s;
        return p.setParam(id, param, value);
    }

    /// Stores a value everywhere it lives: the graphs, every commit in flight, and every slot
    /// newer than `appliedSeq` (0: every slot, the playing one included).
    void writeKey(uint32_t key, float value, uint64_t appliedSeq) {
        const std::string& id = keys.id(key);
        const std::string& param = keys.param(key);
        changes.fetch_add(1, std::memory_order_relaxed);
        for (PatchGraph* g : {&pending, &requested, &playing})
            if (g->find(id) != nullptr) (void)g->setParam(id, param, value);
        for (auto& job : jobs) job->lateWrites[key] = value;
        for (auto& slot : slots) {
            // Slots newer than the one the event played on need it, and so does a faster tier
            // of that commit (same seq) that was not playing yet.
            if (slot->seq < appliedSeq || (slot->seq == appliedSeq && slot->tier == 1)) continue;
            if (int32_t i = slot->paramOf(key); i >= 0)
                slot->params.store(static_cast<size_t>(i), value);
        }
    }

    /// Records timed events the audio thread has applied.
    void drainAcks() {
        EventAck a;
        while (core.popAck(a)) {
            --eventsOut;
            writeKey(a.key, a.value, a.appliedSeq);
        }
    }

    Status setValue(std::string_view id, std::string_view param, float value) {
        std::lock_guard lock(mutex);
        drainAcks();
        if (Status s = validate(id, param, value); !s) return s;
        writeKey(keys.intern(id, param), value, 0);
        return {};
    }

    /// Frees slots the audio thread has handed back.
    void reclaim() {
        while (Slot* s = core.takeRetired()) discard(s);
    }
    void discard(Slot* s) {
        std::erase_if(slots, [s](const std::unique_ptr<Slot>& p) { return p.get() == s; });
    }

    // ---- compiler thread --------------------------------------------------------------------

    void compilerLoop() {
        bool idle = false;
        {
            std::lock_guard lock(mutex);
            idle = jobs.empty();
        }
        // A render that commits at once gains nothing from it; a live session waiting for its
        // first OSC commit does.
        if (opts.prewarm && idle) prewarmJit();
        for (;;) {
            std::shared_ptr<Job> job;
            std::optional<TierWork> upgrade;
            {
                std::unique_lock lock(mutex);
                wake.wait_for(lock, std::chrono::milliseconds(20),
                              [&] { return stopping || !jobs.empty() || tierReady.has_value(); });
                reclaim();
                drainAcks();
                if (stopping) return;
                if (!jobs.empty()) {
                    job = jobs.front();
                } else if (tierReady) { // commits first; a faster tier in between
                    upgrade = std::move(tierReady);
                    tierReady.reset();
                } else {
                    continue;
                }
            }
            if (upgrade) {
                runUpgrade(*upgrade);
                tiersInFlight.fetch_sub(1);
                continue;
            }
            Slot* slot = nullptr;
            CommitReport report = runCommit(*job, slot);
            {
                std::lock_guard lock(mutex);
                jobs.pop_front();
                if (report.ok) {
                    playing = std::move(job->graph); // the job is done with it
                    changes.fetch_add(1, std::memory_order_relaxed);
                    for (auto [key, value] : job->lateWrites)
                        (void)playing.setParam(keys.id(key), keys.param(key), value);
                    newest = slot;
                } else if (jobs.empty()) {
                    requested = playing; // abort now returns to what plays
                }
            }
            (report.ok ? commits : failures).fetch_add(1);
            if (report.ok)
                log("commit {} swapped in: compile {:.1f} ms, prime {:.1f} ms, rms {:.4f}{}",
                    report.seq, report.compileMs, report.primeMs, report.primeRms,
                    report.silent ? " (silent)" : "");
            else
                log("commit {} failed: {}", report.seq, report.reason);
            if (report.ok) { // serve --state: durable before the commit is reported
                std::lock_guard lock(observerMutex);
                if (swapObserver) swapObserver(report.seq);
            }
            report.optimizing = report.ok && opts.tiered && !slot->program->finalTier();
            if (job->done) job->done(report);
            {
                std::lock_guard lock(settleMutex);
                settled.store(job->seq);
            }
            settleCv.notify_all();
            if (report.optimizing) requestNextTier(*slot);
        }
    }

    // ---- tiered compiles ---------------------------------------------------------------------

    /// Compiler thread: asks the tier thread for the next tier of `s` (the slot last swapped in),
    /// replacing any request not started yet.
    void requestNextTier(const Slot& s) {
        TierCompile next = s.program->nextTier();
        if (!next) return;
        {
            std::lock_guard lock(mutex);
            if (!tierWanted) tiersInFlight.fetch_add(1);
            tierWanted = TierWork{s.seq, s.tier, std::move(next), makeError("not compiled")};
        }
        tierWake.notify_one();
    }

    /// The tier thread: compiles what is asked, one at a time, and hands it to the compiler
    /// thread. Runs at low priority so that it never slows a commit or the audio down.
    void tierLoop() {
#if defined(__linux__)
        (void)setpriority(PRIO_PROCESS, 0, 10); // this thread only (Linux threads have own nice)
#endif
        for (;;) {
            std::optional<TierWork> work;
            {
                std::unique_lock lock(mutex);
                tierWake.wait(lock, [&] { return stopping || tierWanted.has_value(); });
                if (stopping) return;
                work = std::move(tierWanted);
                tierWanted.reset();
            }
            try {
                work->program = work->compile();
            } catch (const std::exception& e) {
                work->program = makeError("{}", e.what());
            }
            work->compile = nullptr;
            {
                std::lock_guard lock(mutex);
                if (stopping) return;
                if (tierReady) tiersInFlight.fetch_sub(1); // an older one never ran: dropped
                tierReady = std::move(work);
            }
            wake.notify_all();
        }
    }

    /// Compiler thread: swaps in a faster tier of the slot playing, through the same prime and
    /// swap as a commit (its parameters copied from the playing slot, its state carried over). A
    /// tier that fails leaves the playing one as it is.
    void runUpgrade(TierWork& w) {
        const uint32_t tier = w.tier + 1;
        if (!w.program || *w.program == nullptr) {
            upgradeFailures.fetch_add(1);
            log("commit {}: tier {} failed to compile ({}); tier {} plays on", w.seq, tier,
                w.program ? std::string("no program") : w.program.error().message, w.tier);
            return;
        }
        const Slot* from = nullptr;
        {
            std::lock_guard lock(mutex);
            if (newest == nullptr || newest->seq != w.seq || newest->tier != w.tier ||
                !jobs.empty()) {
                log("commit {}: tier {} dropped, a newer commit replaces it", w.seq, tier);
                return;
            }
            from = newest;
        }
        CommitReport r;
        r.seq = w.seq;
        Slot* s = nullptr;
        primeAndSwap(
            r, w.program.take(), tier,
            [from](Slot& slot) { // same schedule: the same parameters at the same indices
                for (std::size_t i = 0; i < slot.params.size() && i < from->params.size(); ++i)
                    slot.params.store(i, from->params.load(i));
            },
            s);
        if (!r.ok) {
            upgradeFailures.fetch_add(1);
            log("commit {}: tier {} not swapped in ({}); tier {} plays on", w.seq, tier, r.reason,
                w.tier);
            return;
        }
        {
            std::lock_guard lock(mutex);
            newest = s;
        }
        upgrades.fetch_add(1);
        log("commit {}: tier {} swapped in, prime {:.1f} ms", w.seq, tier, r.primeMs);
        requestNextTier(*s);
    }

    CommitReport runCommit(Job& job, Slot*& out) {
        CommitReport r;
        r.seq = job.seq;
        auto fail = [&](std::string reason) { // before any slot exists: nothing to discard
            r.ok = false;
            r.reason = std::move(reason);
            return r;
        };

        const auto t0 = Clock::now();
        auto sched =
            buildSchedule(job.graph, {opts.sampleRate, static_cast<float>(opts.smoothingMs)});
        if (!sched) return fail("schedule failed: " + sched.error().message);
        Expected<std::unique_ptr<Program>> program = makeError("no program");
        try {
            program = opts.factory(*sched);
        } catch (const std::exception& e) {
            return fail(fmt::format("compile failed: {}", e.what()));
        }
        r.compileMs = msSince(t0);
        if (!program) return fail("compile failed: " + program.error().message);
        if (*program == nullptr) return fail("compile failed: the factory returned no program");

        primeAndSwap(
            r, program.take(), 1,
            [&job](Slot& slot) {
                for (auto [key, value] : job.lateWrites)
                    if (int32_t i = slot.paramOf(key); i >= 0)
                        slot.params.store(static_cast<size_t>(i), value);
            },
            out);
        return r;
    }

    /// Compiler thread: primes a slot for `program` and has the audio thread swap it in (the
    /// rest of a commit, and all of a tier upgrade): `setParams` fills its parameters under the
    /// control mutex, after their schedule values. On failure the slot is gone and `r` says why.
    void primeAndSwap(CommitReport& r, std::unique_ptr<Program> program, uint32_t tier,
                      const std::function<void(Slot&)>& setParams, Slot*& out) {
        auto fail = [&](Slot* s, std::string reason) {
            if (s != nullptr) {
                std::lock_guard lock(mutex);
                discard(s);
            }
            r.ok = false;
            r.reason = std::move(reason);
        };
        // Prime: everything from here to the swap is bounded by the prime timeout.
        const auto t1 = Clock::now();
        const auto deadline =
            t1 + std::chrono::duration_cast<Clock::duration>(
                     std::chrono::duration<double, std::milli>(opts.primeTimeoutMs));
        auto owned = std::make_unique<Slot>(r.seq, std::move(program));
        Slot* s = owned.get();
        s->tier = tier;
        s->seamless = tier > 1; // a faster tier sounds the same: no crossfade
        {
            std::lock_guard lock(mutex);
            s->prepare(keys);
            setParams(*s);
            s->planCarry(newest);
            slots.push_back(std::move(owned)); // from now on, parameter writes reach it directly
        }
        const auto timedOut = [&](const char* what) {
            return fmt::format("prime timed out after {:g} ms waiting for the audio thread to {} "
                               "(CHRONUS_PRIME_TIMEOUT_MS; is audio running?); nothing changed",
                               opts.primeTimeoutMs, what);
        };

        // Survivors' state, copied by the audio thread at a block boundary: never read here while
        // it is being written there.
        if (!s->carry.empty()) {
            SnapshotRequest req;
            req.from = s->carryFrom;
            req.to = s;
            core.requestSnapshot(&req);
            while (req.result.load(std::memory_order_acquire) == SnapshotRequest::kWaiting) {
                if (Clock::now() > deadline || stopping) {
                    if (core.withdrawSnapshot(&req)) {
                        fail(s, timedOut("snapshot state"));
                        return;
                    }
                    while (req.result.load(std::memory_order_acquire) == SnapshotRequest::kWaiting)
                        std::this_thread::yield(); // the audio thread is copying: microseconds
                    break;
                }
                std::this_thread::sleep_for(kPollInterval);
            }
            if (req.result.load() != SnapshotRequest::kDone) {
                fail(s, "prime failed: the playing slot changed during the snapshot");
                return;
            }
        }

        PrimeCheck check = warmUp(*s, opts.warmupBlocks, opts.frames);
        r.primeRms = check.rms;
        r.silent = check.rms < kSilentRms;
        if (!check.ok) {
            fail(s, check.reason);
            return;
        }

        // Publish, and wait for the audio thread to take it (it swaps only once the previous old
        // slot is handed back, so keep freeing those meanwhile).
        {
            std::lock_guard lock(mutex);
            drainAcks(); // timed values that played since the slot was filled
        }
        core.publish(s);
        while (core.isPublished()) {
            {
                std::lock_guard lock(mutex);
                reclaim();
            }
            if (Clock::now() > deadline || stopping) {
                if (core.withdraw(s)) {
                    fail(s, timedOut("swap in the new slot"));
                    return;
                }
                break;
            }
            std::this_thread::sleep_for(kPollInterval);
        }
        r.primeMs = msSince(t1);
        r.ok = true;
        out = s;
    }
};

// ---- Engine -------------------------------------------------------------------------------------

Engine::Engine() = default;

Expected<std::unique_ptr<Engine>> Engine::create(const EngineOptions& options) {
    EngineOptions o = options;
    if (!(o.sampleRate >= 1000 && o.sampleRate <= 768000))
        return makeError("sample rate {} is outside [1000, 768000]", o.sampleRate);
    if (o.frames == 0 || o.frames > 8192)
        return makeError("frames {} is outside [1, 8192]", o.frames);
    if (!(o.xfadeMs >= 0 && o.xfadeMs <= 1000))
        return makeError("xfade {} ms is outside [0, 1000]", o.xfadeMs);
    if (o.warmupBlocks == 0) return makeError("warm-up needs at least one block");
    if (auto t = envNumber("CHRONUS_PRIME_TIMEOUT_MS")) {
        if (!(*t > 0)) return makeError("CHRONUS_PRIME_TIMEOUT_MS must be a positive number of ms");
        o.primeTimeoutMs = *t;
    }
    if (auto v = envNumber("CHRONUS_VERBOSE")) o.verbose = *v != 0;
    if (auto v = envNumber("CHRONUS_JIT_PREWARM")) o.prewarm = *v != 0;
    if (!(o.primeTimeoutMs > 0)) return makeError("prime timeout must be positive");
    if (!o.factory) {
        auto f = engineFactory("", o.tiered);
        if (!f) return f.error();
        o.factory = f.take();
    }
    std::unique_ptr<Engine> e(new Engine());
    e->impl_ = std::make_unique<Impl>(o);
    Impl* impl = e->impl_.get();
    impl->compiler = std::thread([impl] { impl->compilerLoop(); });
    if (o.tiered) impl->tierer = std::thread([impl] { impl->tierLoop(); });
    impl->log("{} Hz, {} frames, prime timeout {:g} ms, crossfade {:g} ms", o.sampleRate, o.frames,
              o.primeTimeoutMs, o.xfadeMs);
    return e;
}

Engine::~Engine() {
    if (!impl_) return;
    {
        std::lock_guard lock(impl_->mutex);
        impl_->stopping = true;
    }
    impl_->wake.notify_all();
    impl_->tierWake.notify_all();
    impl_->compiler.join();
    if (impl_->tierer.joinable()) impl_->tierer.join();
    // Commits still queued are reported, exactly once each.
    for (auto& job : impl_->jobs) {
        CommitReport r;
        r.seq = job->seq;
        r.reason = "the engine stopped before this commit ran";
        if (job->done) job->done(r);
        impl_->settled.store(job->seq);
    }
    impl_->settleCv.notify_all();
}

Status Engine::create(const std::string& id, const std::string& type,
                      std::optional<float> createArg) {
    std::lock_guard lock(impl_->mutex);
    return impl_->pending.create(id, type, createArg);
}

Status Engine::remove(const std::string& id) {
    std::lock_guard lock(impl_->mutex);
    return impl_->pending.remove(id);
}

Status Engine::connect(const std::string& src, const std::string& dst) {
    std::lock_guard lock(impl_->mutex);
    return impl_->pending.connect(src, dst);
}

Status Engine::disconnect(const std::string& src, const std::string& dst) {
    std::lock_guard lock(impl_->mutex);
    return impl_->pending.disconnect(src, dst);
}

void Engine::abort() {
    std::lock_guard lock(impl_->mutex);
    impl_->pending = impl_->requested;
}

Status Engine::setParam(const std::string& id, const std::string& param, float value) {
    return impl_->setValue(id, param, value);
}

Status Engine::setParamChoice(const std::string& id, const std::string& param,
                              const std::string& choice) {
    float value = 0;
    {
        std::lock_guard lock(impl_->mutex);
        PatchGraph probe; // resolves the name exactly as the graph does
        if (Status s = impl_->probe(id, probe); !s) return s;
        if (Status s = probe.setParamChoice(id, param, choice); !s) return s;
        value = probe.find(id)->params[*probe.paramIndex(id, param)];
    }
    return setParam(id, param, value);
}

Status Engine::gate(const std::string& id, float value) {
    return setParam(id, "gate", value);
}

Status Engine::setParamAt(uint64_t atSample, const std::string& id, const std::string& param,
                          float value) {
    Impl& m = *impl_;
    std::lock_guard lock(m.mutex);
    m.drainAcks();
    if (Status s = m.validate(id, param, value); !s) return s;
    if (m.eventsOut >= m.core.eventCapacity())
        return makeError(
            "/mod/{}/{}: {} timed events are already waiting; try again once some have played", id,
            param, m.eventsOut);
    TimedEvent e{atSample, m.eventOrder++, m.keys.intern(id, param), value};
    if (!m.core.pushEvent(e))
        return makeError("/mod/{}/{}: the timed-event queue is full", id, param);
    ++m.eventsOut;
    return {};
}

uint64_t Engine::commit(CommitCallback done) {
    Impl& m = *impl_;
    uint64_t seq = 0;
    {
        std::lock_guard lock(m.mutex);
        auto job = std::make_shared<Impl::Job>();
        seq = job->seq = m.nextSeq++;
        job->graph = m.pending;
        job->done = std::move(done);
        m.requested = m.pending;
        m.jobs.push_back(std::move(job));
    }
    m.wake.notify_one();
    m.log("commit {} queued", seq);
    return seq;
}

Expected<std::string> Engine::ir(std::string_view stage) const {
    std::lock_guard lock(impl_->mutex); // slots are freed only under it
    const uint64_t active = impl_->core.activeSeq();
    const Slot* playing = nullptr;
    for (const auto& slot : impl_->slots)
        if (slot->seq == active) playing = slot.get();
    if (playing == nullptr) return makeError("/patch/ir: nothing is committed yet");
    return playing->program->ir(stage);
}

std::string Engine::dump() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->playing.toPatchText();
}

EngineStatus Engine::status() const {
    const Impl& m = *impl_;
    EngineStatus s;
    s.sampleRate = m.opts.sampleRate;
    s.frames = m.opts.frames;
    s.activeSeq = m.core.activeSeq();
    s.callbacks = m.core.callbacks();
    s.xruns = m.core.xruns();
    s.overruns = m.core.overruns();
    const LoadSummary load = m.core.load();
    s.loadP50 = load.p50;
    s.loadP99 = load.p99;
    s.loadMax = load.max;
    s.commits = m.commits.load();
    s.failures = m.failures.load();
    s.samplePosition = m.core.samplePosition();
    s.upgrades = m.upgrades.load();
    s.upgradeFailures = m.upgradeFailures.load();
    s.optimizing = m.tiersInFlight.load() > 0;
    s.swaps = m.core.swaps();
    s.changes = m.changes.load(std::memory_order_relaxed);
    return s;
}

const EngineOptions& Engine::options() const {
    return impl_->opts;
}

void Engine::audioThreadRender(float* out, uint32_t frames) noexcept {
    impl_->core.audioThreadRender(out, frames);
}

void Engine::audioThreadService() noexcept {
    impl_->core.audioThreadService();
}

void Engine::audioThreadAddXruns(uint64_t count) noexcept {
    impl_->core.audioThreadAddXruns(count);
}

bool Engine::commitSettled(uint64_t seq) const {
    return impl_->settled.load() >= seq;
}

bool Engine::waitForCommit(uint64_t seq, double timeoutMs) const {
    std::unique_lock lock(impl_->settleMutex);
    return impl_->settleCv.wait_for(lock, std::chrono::duration<double, std::milli>(timeoutMs),
                                    [&] { return impl_->settled.load() >= seq; });
}

// ---- reliability metrics and persistence -------------------------------------------------------

void Engine::setSwapObserver(std::function<void(uint64_t seq)> observer) {
    std::lock_guard lock(impl_->observerMutex);
    impl_->swapObserver = std::move(observer);
}

std::vector<SwapMark> Engine::swapSamples(uint64_t after) const {
    std::vector<SwapMark> out;
    const uint64_t latest = impl_->core.swaps();
    const uint64_t first = std::max(
        after + 1, latest >= AudioCore::kSwapLog ? latest - AudioCore::kSwapLog + 1 : uint64_t{1});
    for (uint64_t n = first; n <= latest; ++n)
        if (auto sample = impl_->core.swapSample(n)) out.push_back({n, *sample});
    return out;
}

} // namespace chronus

// The engine façade: checks the options, builds the parts, starts and stops their threads and
// forwards the control API to them. Nothing here touches the audio thread's memory or a slot.
//
//   PatchVersions   pending / requested / playing patch graphs (edits, abort, dump)
//   ParamStore      parameter keys, validation by descriptor, writes to wherever a value lives
//   CommitPipeline  the commit queue and the compiler thread: compile -> prime -> swap -> report
//   TierUpgrader    the tier thread: faster versions of what plays, swapped in between commits
//   CommitOutcomes  counters, the swap observer, commit callbacks and waiters
//   AudioCore       the audio thread's side, and the control side's handshakes with it
//   OutputGuard     (in AudioCore) silences a non-finite or runaway block; with CHRONUS_VERBOSE
//                   a thread of this façade logs its trips, never the audio thread
//
// Lock order (each part has its own): CommitPipeline -> ParamStore -> PatchVersions;
// CommitPipeline -> TierUpgrader; CommitOutcomes' locks are taken with none of the others held.
#include "runtime/engine.h"

#include "runtime/audio_core.h"
#include "runtime/commit_outcomes.h"
#include "runtime/commit_pipeline.h"
#include "runtime/engine_factory.h"
#include "runtime/engine_log.h"
#include "runtime/midi_live.h"
#include "runtime/midi_routes.h"
#include "runtime/param_store.h"
#include "runtime/patch_versions.h"
#include "runtime/tier_upgrader.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <thread>

namespace chronus {

namespace {

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
    explicit Impl(const EngineOptions& o)
        : opts(o), log(o.verbose), core(o.sampleRate, o.frames, o.timedEventCapacity),
          versions(o.limits), params(versions, core, o.timedEventsPerClient),
          tiers(o.tiered ? std::make_unique<TierUpgrader>([this] { pipeline.tierReady(); })
                         : nullptr),
          pipeline(opts, log, core, params, versions, outcomes, tiers.get()) {}

    EngineOptions opts;
    EngineLog log;
    AudioCore core;
    PatchVersions versions;
    ParamStore params;
    // Live MIDI's routes: what dump() writes, and the audio thread's table of them.
    mutable std::mutex midiMutex;
    MidiRoutes routes;
    MidiLiveTable live;
    CommitOutcomes outcomes;
    std::unique_ptr<TierUpgrader> tiers; ///< null: untiered
    CommitPipeline pipeline;
    std::thread compiler, tierer;

    // CHRONUS_VERBOSE: the output guard's trips, logged from here (the audio thread never logs).
    std::thread guardLogger;
    std::mutex guardLogMutex;
    std::condition_variable guardLogWake;
    bool guardLogStop = false;
    void guardLoggerRun() {
        uint64_t seen = 0;
        std::unique_lock lock(guardLogMutex);
        while (!guardLogStop) {
            guardLogWake.wait_for(lock, std::chrono::milliseconds(100));
            const OutputGuard& g = core.guard();
            const uint64_t trips = g.trips();
            if (trips == seen) continue;
            log("output guard: silenced the output {} time(s) ({} in all); the last, commit {} at "
                "sample {}, was {}: its state is reset after a hold-off",
                trips - seen, trips, g.lastSeq(), g.lastSample(), guardCauseName(g.lastCause()));
            seen = trips;
        }
    }
};

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
    if (o.timedEventCapacity == 0 || o.timedEventCapacity > (std::size_t{1} << 20))
        return makeError("timed events {} is outside [1, 1048576]", o.timedEventCapacity);
    if (o.timedEventsPerClient == 0) return makeError("timed events per client must be at least 1");
    if (auto t = envNumber("CHRONUS_PRIME_TIMEOUT_MS")) {
        if (!(*t > 0)) return makeError("CHRONUS_PRIME_TIMEOUT_MS must be a positive number of ms");
        o.primeTimeoutMs = *t;
    }
    if (auto v = envNumber("CHRONUS_VERBOSE")) o.verbose = *v != 0;
    if (auto v = envNumber("CHRONUS_JIT_PREWARM")) o.prewarm = *v != 0;
    o.limits.sampleRate = o.sampleRate; // state is counted at the rate it will run at
    if (!(o.primeTimeoutMs > 0)) return makeError("prime timeout must be positive");
    if (!o.factory) {
        auto f = engineFactory("", o.tiered);
        if (!f) return f.error();
        o.factory = f.take();
    }
    std::unique_ptr<Engine> e(new Engine());
    e->impl_ = std::make_unique<Impl>(o);
    Impl* impl = e->impl_.get();
    impl->compiler = std::thread([impl] { impl->pipeline.compilerThreadRun(); });
    if (impl->tiers) impl->tierer = std::thread([impl] { impl->tiers->tierThreadRun(); });
    if (o.verbose) impl->guardLogger = std::thread([impl] { impl->guardLoggerRun(); });
    impl->log("{} Hz, {} frames, prime timeout {:g} ms, crossfade {:g} ms", o.sampleRate, o.frames,
              o.primeTimeoutMs, o.xfadeMs);
    return e;
}

Engine::~Engine() {
    if (!impl_) return;
    if (impl_->guardLogger.joinable()) {
        {
            std::lock_guard lock(impl_->guardLogMutex);
            impl_->guardLogStop = true;
        }
        impl_->guardLogWake.notify_all();
        impl_->guardLogger.join();
    }
    impl_->pipeline.stop();
    if (impl_->tiers) impl_->tiers->stop();
    impl_->compiler.join();
    if (impl_->tierer.joinable()) impl_->tierer.join();
    impl_->pipeline.failQueued(); // exactly once each
}

// ---- edits and values ---------------------------------------------------------------------------

Status Engine::create(const std::string& id, const std::string& type,
                      std::optional<float> createArg) {
    return impl_->versions.create(id, type, createArg);
}

Status Engine::remove(const std::string& id) {
    return impl_->versions.remove(id);
}

Status Engine::connect(const std::string& src, const std::string& dst) {
    return impl_->versions.connect(src, dst);
}

Status Engine::disconnect(const std::string& src, const std::string& dst) {
    return impl_->versions.disconnect(src, dst);
}

void Engine::abort() {
    impl_->params.abortPending();
}

Status Engine::setParam(const std::string& id, const std::string& param, float value) {
    return impl_->params.set(id, param, value);
}

Status Engine::setParamChoice(const std::string& id, const std::string& param,
                              const std::string& choice) {
    return impl_->params.setChoice(id, param, choice);
}

Status Engine::gate(const std::string& id, float value) {
    return setParam(id, "gate", value);
}

Status Engine::setParamAt(uint64_t atSample, const std::string& id, const std::string& param,
                          float value) {
    return impl_->params.setAt(atSample, id, param, value);
}

Status Engine::setParamAt(uint64_t atSample, const std::string& id, const std::string& param,
                          float value, uint64_t client) {
    return impl_->params.setAt(atSample, id, param, value, client);
}

// ---- voices and notes ---------------------------------------------------------------------------

Status Engine::editVoices(const std::function<Status(PatchGraph&)>& edit) {
    return impl_->versions.editPending(edit);
}

bool Engine::voiceOpen() const {
    return impl_->versions.pendingVoiceOpen();
}

Status Engine::midiRoute(const ControlCommand& cmd) {
    Impl& m = *impl_;
    std::lock_guard lock(m.midiMutex);
    if (const auto* r = std::get_if<MidiRouteCommand>(&cmd)) {
        if (!m.versions.hasPoly(r->id))
            return makeError("/midi/route {} {}: {} is not a poly of the patch", r->channel, r->id,
                             r->id);
        m.live.polyKey[size_t(r->channel - 1)].store(m.params.noteKey(r->id),
                                                     std::memory_order_relaxed);
    } else if (const auto* c = std::get_if<MidiCcCommand>(&cmd)) {
        auto t = m.params.liveTarget(c->id, c->param);
        if (!t) return makeError("/midi/cc {} {}: {}", c->channel, c->cc, t.error().message);
        MidiCcCommand checked = *c;
        if (!c->explicitRange) {
            checked.lo = t->lo;
            checked.hi = t->hi;
        } else if (!(c->lo >= t->lo && c->hi <= t->hi))
            return makeError("/midi/cc {} {} {}:{}: range [{}, {}] is outside the parameter's "
                             "[{}, {}]",
                             c->channel, c->cc, c->id, c->param, c->lo, c->hi, t->lo, t->hi);
        MidiLiveTable::Cc& slot = m.live.cc[size_t(c->channel - 1) * 128 + size_t(c->cc)];
        slot.lo.store(checked.lo, std::memory_order_relaxed);
        slot.hi.store(checked.hi, std::memory_order_relaxed);
        slot.key.store(t->key, std::memory_order_relaxed);
        m.routes.apply(checked);
        return {};
    } else if (const auto* b = std::get_if<MidiBendCommand>(&cmd)) {
        m.live.bendRange.store(b->semitones, std::memory_order_relaxed);
    }
    m.routes.apply(cmd);
    return {};
}

void Engine::attachMidiInput(midi::MidiEventRing* ring) {
    impl_->core.setMidiInput(ring, ring != nullptr ? &impl_->live : nullptr);
    if (ring != nullptr) return;
    // The audio thread clears its flag at its next block; with no audio thread running, there is
    // nobody to wait for.
    for (int i = 0; i < 2000 && !impl_->core.midiDetached(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

Status Engine::noteAt(uint64_t atSample, const std::string& id, uint8_t kind, uint16_t note,
                      float value, uint64_t client) {
    return impl_->params.noteAt(atSample, id, kind, note, value, client);
}

// ---- commits
// --------------------------------------------------------------------------------------

uint64_t Engine::commit(CommitCallback done) {
    return impl_->pipeline.enqueue(std::move(done));
}

bool Engine::commitSettled(uint64_t seq) const {
    return impl_->outcomes.settled(seq);
}

bool Engine::waitForCommit(uint64_t seq, double timeoutMs) const {
    return impl_->outcomes.waitFor(seq, timeoutMs);
}

void Engine::setSwapObserver(std::function<void(uint64_t seq)> observer) {
    if (!observer) {
        impl_->outcomes.setSwapObserver({});
        return;
    }
    impl_->outcomes.setSwapObserver([o = std::move(observer)](uint64_t seq) -> Status {
        o(seq);
        return {};
    });
}

void Engine::setSwapSaver(std::function<Status(uint64_t seq)> saver) {
    impl_->outcomes.setSwapObserver(std::move(saver));
}

// ---- what plays
// -----------------------------------------------------------------------------------

Expected<std::string> Engine::ir(std::string_view stage) const {
    return impl_->pipeline.playingIr(stage);
}

std::string Engine::dump() const {
    std::string text = impl_->versions.playingText();
    std::lock_guard lock(impl_->midiMutex);
    return text + impl_->routes.toPatchText();
}

Expected<ParamReading> Engine::readParam(const std::string& id, const std::string& param) const {
    auto r = impl_->params.read(id, param);
    if (!r) return r.error();
    return ParamReading{r->value, std::move(r->choice)};
}

PatchListing Engine::listPatch(ListedPatch which) const {
    const PatchGraph g = which == ListedPatch::pending ? impl_->versions.pendingCopy()
                                                       : impl_->versions.playingCopy();
    PatchListing out;
    out.modules.reserve(g.modules().size());
    for (const Module& m : g.modules()) {
        PatchListing::Module lm{m.id, std::string(m.desc->type), std::nullopt};
        if (!m.desc->createArg.name.empty()) lm.createArg = m.createArg;
        out.modules.push_back(std::move(lm));
    }
    out.connections.reserve(g.connections().size());
    for (const Connection& c : g.connections()) {
        const Module* src = g.find(c.src);
        const Module* dst = g.find(c.dst);
        if (src == nullptr || dst == nullptr) continue; // a graph keeps both ends of a connection
        out.connections.push_back(
            {fmt::format("{}:{}", c.src, src->layout->outputs[c.srcPort].name),
             PatchGraph::slotName(*dst, c.dstSlot)});
    }
    return out;
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
    const LoadSummary fadeLoad = m.core.fadeLoad();
    s.crossfades = m.core.crossfades();
    s.fadeLoadP50 = fadeLoad.p50;
    s.fadeLoadP99 = fadeLoad.p99;
    s.fadeLoadMax = fadeLoad.max;
    s.swapLoadMax = m.core.swapLoad().max;
    s.commits = m.outcomes.commits();
    s.failures = m.outcomes.failures();
    s.samplePosition = m.core.samplePosition();
    if (m.tiers) {
        s.upgrades = m.tiers->upgrades();
        s.upgradeFailures = m.tiers->failures();
        s.optimizing = m.tiers->optimizing();
    }
    s.swaps = m.core.swaps();
    s.changes = m.versions.changes();
    s.stateCopyMaxBytes = m.core.stateCopyMaxBytes();
    const OutputGuard& guard = m.core.guard();
    s.guardTrips = guard.trips(); // acquire: the details below belong to this count or a later one
    s.guardCause = guardCauseName(guard.lastCause());
    s.guardLastSeq = guard.lastSeq();
    s.guardLastSample = guard.lastSample();
    return s;
}

std::vector<SwapMark> Engine::swapSamples(uint64_t after) const {
    std::vector<SwapMark> out;
    const AudioCore& core = impl_->core;
    const uint64_t latest = core.swaps();
    const uint64_t first = std::max(
        after + 1, latest >= AudioCore::kSwapLog ? latest - AudioCore::kSwapLog + 1 : uint64_t{1});
    for (uint64_t n = first; n <= latest; ++n)
        if (auto sample = core.swapSample(n)) out.push_back({n, *sample});
    return out;
}

const EngineOptions& Engine::options() const {
    return impl_->opts;
}

// ---- audio thread -------------------------------------------------------------------------------

void Engine::audioThreadRender(float* out, uint32_t frames) noexcept {
    impl_->core.audioThreadRender(out, frames);
}

void Engine::audioThreadRender(float* const* out, uint32_t channels, const float* const* in,
                               uint32_t inputs, uint32_t frames) noexcept {
    impl_->core.audioThreadRender(out, channels, in, inputs, frames);
}

void Engine::audioThreadService() noexcept {
    impl_->core.audioThreadService();
}

void Engine::audioThreadAddXruns(uint64_t count) noexcept {
    impl_->core.audioThreadAddXruns(count);
}

} // namespace chronus

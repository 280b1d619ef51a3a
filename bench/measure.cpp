#include "bench/measure.h"

#include "compiler/jit/jit.h"
#include "compiler/param_block.h"
#include "runtime/backend.h"
#include "runtime/denormals.h"
#include "runtime/engine.h"
#include "runtime/patch_player.h"
#include "runtime/slot.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <optional>
#include <thread>

namespace chronus::bench {

namespace {

using Clock = std::chrono::steady_clock;

double msBetween(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

/// CPU time of the calling thread: unlike the wall clock, it does not count the time the OS gave
/// to other processes, which on a shared machine is most of the noise.
double threadCpuNs() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

struct RunTime {
    double cpuNs = 0;
    double wallNs = 0;
};

/// One program with its own parameters, state and output, ready to render block after block.
class Runner {
public:
    Runner(Program& program, uint32_t blockFrames)
        : program_(program), params_(std::max<uint32_t>(program.schedule().paramCount, 1)),
          state_(program.schedule().stateBytes), out_(blockFrames) {
        initParams(program.schedule(), params_);
        initState(program.schedule(), state_.data());
    }

    /// Renders `blocks` blocks; returns the time they took.
    RunTime render(uint32_t blocks) {
        const double cpu0 = threadCpuNs();
        const auto t0 = Clock::now();
        for (uint32_t b = 0; b < blocks; ++b)
            program_.render(params_.data(), state_.data(), out_.data(),
                            static_cast<uint32_t>(out_.size()));
        const auto t1 = Clock::now();
        const double cpu1 = threadCpuNs();
        sink_ += out_[0]; // keeps the output observable
        return {cpu1 - cpu0, std::chrono::duration<double, std::nano>(t1 - t0).count()};
    }

    float sink() const { return sink_; }

private:
    Program& program_;
    ParamBlock params_;
    StateBuffer state_;
    std::vector<float> out_;
    float sink_ = 0;
};

} // namespace

std::vector<EngineResult> measureRender(const std::vector<Program*>& programs, uint32_t voices,
                                        const RenderSettings& settings) {
    ScopedFlushDenormals ftz; // as the audio callback does, for every engine
    const uint32_t frames = std::max<uint32_t>(settings.blockFrames, 1);
    std::vector<Runner> runners;
    runners.reserve(programs.size());
    for (Program* p : programs) runners.emplace_back(*p, frames);

    // Warm-up: caches, branch predictors, the envelopes into their sustain. Its last blocks give
    // each program's block time, and so how many blocks make one timed run.
    std::vector<uint32_t> blocksPerRun(runners.size(), 1);
    for (size_t i = 0; i < runners.size(); ++i) {
        const auto t0 = Clock::now();
        std::vector<double> blockNs;
        while (blockNs.size() < 4 || msBetween(t0, Clock::now()) < settings.warmupMs)
            blockNs.push_back(runners[i].render(1).wallNs);
        const double perBlockMs = std::max(spreadOf(blockNs).median, 1.0) * 1e-6;
        blocksPerRun[i] =
            static_cast<uint32_t>(std::clamp(std::ceil(settings.runMs / perBlockMs), 1.0, 1e6));
    }

    const uint32_t runs = std::max<uint32_t>(settings.runs, 1);
    std::vector<std::vector<double>> cpuNs(runners.size()), wallNs(runners.size());
    for (uint32_t r = 0; r < runs; ++r)
        for (size_t i = 0; i < runners.size(); ++i) {
            const RunTime t = runners[i].render(blocksPerRun[i]);
            const double samples = static_cast<double>(blocksPerRun[i]) * frames;
            cpuNs[i].push_back(t.cpuNs / samples);
            wallNs[i].push_back(t.wallNs / samples);
        }

    const double budgetNs = 1e9 / settings.sampleRate; // real time per sample
    std::vector<EngineResult> results;
    for (size_t i = 0; i < runners.size(); ++i) {
        EngineResult e;
        e.engine = std::string(programs[i]->kind());
        auto perVoice = cpuNs[i], load = cpuNs[i];
        for (double& v : perVoice) v /= voices;
        for (double& v : load) v /= budgetNs;
        e.nsPerSample = spreadOf(cpuNs[i]);
        e.wallNsPerSample = spreadOf(wallNs[i]);
        e.nsPerVoiceSample = spreadOf(perVoice);
        e.blockLoad = spreadOf(load);
        e.voicesPerCore = e.nsPerVoiceSample.median > 0 ? budgetNs / e.nsPerVoiceSample.median : 0;
        e.runs = runs;
        e.blocksPerRun = blocksPerRun[i];
        results.push_back(e);
    }
    return results;
}

Expected<CompiledFused> measureCompiles(const Schedule& schedule, int optLevel,
                                        const ProgramFactory& factory, uint32_t runs) {
    CompiledFused out;
    CompileResult& c = out.compile;
    c.optLevel = optLevel;
    runs = std::max<uint32_t>(runs, 1);
    c.runs = runs;

    // Cold: every shape compiled for this program alone, as on a first commit of new shapes.
    JitOptions cold;
    cold.optLevel = optLevel;
    cold.shapeCache = false;
    std::vector<double> lower, optimize, codegen, link, irText, total, cpu;
    for (uint32_t r = 0; r < runs; ++r) {
        const double cpu0 = threadCpuNs();
        const auto t0 = Clock::now();
        auto p = compileJit(schedule, cold);
        const double wallMs = msBetween(t0, Clock::now());
        const double cpuMs = (threadCpuNs() - cpu0) * 1e-6;
        if (!p) return p.error();
        const JitTimings& t = (*p)->timings();
        c.groups = t.groups;
        c.shapes = t.shapes;
        lower.push_back(t.lowerMs);
        optimize.push_back(t.optimizeMs);
        codegen.push_back(t.codegenMs);
        link.push_back(t.linkMs);
        irText.push_back(t.irTextMs);
        total.push_back(wallMs);
        cpu.push_back(cpuMs);
    }
    c.lowerMs = spreadOf(lower);
    c.optimizeMs = spreadOf(optimize);
    c.codegenMs = spreadOf(codegen);
    c.linkMs = spreadOf(link);
    c.irTextMs = spreadOf(irText);
    c.totalMs = spreadOf(total);
    c.totalCpuMs = spreadOf(cpu);

    // Cached: what the engine's factory costs once the patch's shapes are known.
    std::vector<double> cached;
    for (uint32_t r = 0; r <= runs; ++r) {
        const auto t0 = Clock::now();
        auto p = factory(schedule);
        const double wallMs = msBetween(t0, Clock::now());
        if (!p) return p.error();
        if (r > 0) cached.push_back(wallMs); // the first fills the cache
        out.program = p.take();
    }
    c.cachedMs = spreadOf(cached);
    return out;
}

namespace {

/// An Engine with the null backend's clock-paced audio thread running (one block per block
/// period, so a published program waits for the next block boundary as it would on a device).
struct LiveEngine {
    std::unique_ptr<Engine> engine;
    std::unique_ptr<AudioBackend> backend;

    LiveEngine() = default;
    LiveEngine(const LiveEngine&) = delete;
    LiveEngine& operator=(const LiveEngine&) = delete;
    LiveEngine(LiveEngine&&) = default;
    LiveEngine& operator=(LiveEngine&&) = delete;
    /// The backend stops before the engine goes: no audio thread may be inside it then.
    ~LiveEngine() {
        if (backend) backend->stop();
        backend.reset();
        engine.reset();
    }
};

/// Sends `graph` to `engine` as a user's edits arrive: its patch-file text through the patch
/// player (checked whole, then applied at once), without a commit: the text's closing
/// /patch/commit is dropped, since the commit measured is the caller's (played, it would queue
/// an unmeasured compile of its own ahead of it). The check's dry run starts from an empty patch,
/// which is exact for a fresh engine and for a spare voice (ids of its own).
Status sendPatch(Engine& engine, const PatchGraph& graph) {
    auto lines = parsePatchText(graph.toPatchText(), "the bench's patch");
    if (!lines) return lines.error();
    std::erase_if(*lines, [](const PatchLine& l) { return l.address == "/patch/commit"; });
    auto script = checkPatch(*lines, "the bench's patch");
    if (!script) return script.error();
    PatchPlayer player(engine, script.take());
    return player.advance(engine.status().samplePosition);
}

/// A new engine made with `factory`, `graph` sent to it (not committed), its audio running.
Expected<LiveEngine> startEngine(const PatchGraph& graph, const ProgramFactory& factory,
                                 const CommitSettings& settings) {
    EngineOptions eo;
    eo.sampleRate = settings.sampleRate;
    eo.frames = settings.blockFrames;
    eo.factory = factory;
    auto engine = Engine::create(eo);
    if (!engine) return engine.error();
    LiveEngine live;
    live.engine = engine.take();
    if (Status s = sendPatch(*live.engine, graph); !s) return s.error();
    live.backend = makeNullBackend(*live.engine, {});
    if (Status s = live.backend->start(); !s) {
        live.backend.reset(); // never started: nothing to stop
        return s.error();
    }
    return live;
}

/// One commit of the pending patch, timed from commit() to its report (the swap), wall clock.
struct TimedCommit {
    Clock::time_point start{};
    double toSwapMs = 0;
    CommitReport report;
};

Expected<TimedCommit> timedCommit(Engine& engine, const CommitSettings& settings) {
    struct Outcome {
        Clock::time_point swapped{};
        CommitReport report;
    };
    // Shared with the callback, which may yet run (as a failure) after a timeout here.
    auto outcome = std::make_shared<Outcome>();
    const auto start = Clock::now();
    const uint64_t seq = engine.commit([outcome](const CommitReport& r) {
        outcome->swapped = Clock::now();
        outcome->report = r;
    });
    if (!engine.waitForCommit(seq, settings.timeoutMs))
        return makeError("commit {} did not finish within {:g} s", seq, settings.timeoutMs / 1000);
    if (!outcome->report.ok) return makeError("commit {} failed: {}", seq, outcome->report.reason);
    return TimedCommit{start, msBetween(start, outcome->swapped), outcome->report};
}

/// Commits' CommitReport::stages, by name in order, and "delivery": the rest of their time.
class StageTimes {
public:
    void add(const TimedCommit& c) {
        const CommitReport::Stages& st = c.report.stages;
        const double parts[] = {st.queuedMs,   st.scheduleMs, st.programMs, st.slotMs,
                                st.snapshotMs, st.warmupMs,   st.swapMs};
        double rest = c.toSwapMs;
        for (std::size_t i = 0; i < std::size(parts); ++i) {
            ms_[i].push_back(parts[i]);
            rest -= parts[i];
        }
        ms_.back().push_back(rest);
    }
    std::vector<std::pair<std::string, Spread>> spreads() const {
        std::vector<std::pair<std::string, Spread>> out;
        for (std::size_t i = 0; i < ms_.size(); ++i) out.emplace_back(kNames[i], spreadOf(ms_[i]));
        return out;
    }

private:
    static constexpr const char* kNames[] = {"queued",   "schedule", "program", "slot",
                                             "snapshot", "warmup",   "swap",    "delivery"};
    std::vector<std::vector<double>> ms_ = std::vector<std::vector<double>>(std::size(kNames));
};

/// Watches `engine` until a faster tier than the `upgrades` it had swapped in (EngineStatus has
/// no event for it: the bench thread looks every `pollMs`); the time it saw it.
Expected<Clock::time_point> awaitUpgrade(const Engine& engine, uint64_t upgrades, uint64_t failures,
                                         const CommitSettings& settings) {
    const auto deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double, std::milli>(settings.timeoutMs));
    const auto poll = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double, std::milli>(settings.pollMs));
    for (;;) {
        const EngineStatus s = engine.status();
        const auto now = Clock::now();
        if (s.upgrades > upgrades) return now;
        if (s.upgradeFailures > failures)
            return makeError("the optimised tier failed (the first tier played on)");
        if (now > deadline)
            return makeError("the optimised tier did not swap in within {:g} s",
                             settings.timeoutMs / 1000);
        std::this_thread::sleep_for(poll);
    }
}

void pause(double ms) {
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(ms));
}

/// One engine, its audio running, committing `graph` 1 + `recommits` times; ms per commit.
struct CommitRun {
    std::vector<double> toSwapMs, compileMs, primeMs;
};

Expected<CommitRun> runCommits(const PatchGraph& graph, const ProgramFactory& factory,
                               uint32_t commits, const CommitSettings& settings) {
    auto live = startEngine(graph, factory, settings);
    if (!live) return live.error();
    CommitRun run;
    for (uint32_t k = 0; k < commits; ++k) {
        auto c = timedCommit(*live->engine, settings);
        if (!c) return c.error();
        run.toSwapMs.push_back(c->toSwapMs);
        run.compileMs.push_back(c->report.compileMs);
        run.primeMs.push_back(c->report.primeMs);
        pause(settings.playMs); // the patch plays until the next commit
    }
    return run;
}

} // namespace

Expected<CommitResult> measureCommits(const PatchGraph& graph, const ProgramFactory& factory,
                                      int optLevel, const CommitSettings& settings) {
    CommitResult result;
    auto live = runCommits(graph, factory, 1 + settings.recommits, settings);
    if (!live) return live.error();
    result.firstMs = live->toSwapMs.front();
    auto rest = [](const std::vector<double>& v) {
        return spreadOf(std::vector<double>(v.begin() + 1, v.end()));
    };
    result.runs = settings.recommits;
    result.commitToSwapMs = rest(live->toSwapMs);
    result.compileMs = rest(live->compileMs);
    result.primeMs = rest(live->primeMs);

    if (settings.coldCommits > 0) {
        const ProgramFactory cold =
            [optLevel](const Schedule& s) -> Expected<std::unique_ptr<Program>> {
            JitOptions o;
            o.optLevel = optLevel;
            o.shapeCache = false;
            auto p = compileJit(s, o);
            if (!p) return p.error();
            return std::unique_ptr<Program>(p.take());
        };
        auto coldRun = runCommits(graph, cold, settings.coldCommits, settings);
        if (!coldRun) return coldRun.error();
        result.coldRuns = settings.coldCommits;
        result.coldMs = spreadOf(coldRun->toSwapMs);
    }
    return result;
}

Expected<TieredCommitResult> measureTieredColdCommits(const PatchGraph& graph,
                                                      const ProgramFactory& tieredFactory,
                                                      const CommitSettings& settings) {
    TieredCommitResult result;
    std::vector<double> first, optimised, compile, prime;
    StageTimes stages;
    const auto began = Clock::now();
    for (uint32_t k = 0; k < settings.tieredCommits; ++k) {
        if (k >= 3 && msBetween(began, Clock::now()) > settings.tieredBudgetMs) break;
        // Cold: no shape compiled before. The previous run's engine is gone, so its shapes are
        // idle and the trim takes them (and any other workload's) out of the JIT.
        trimShapeCache();
        if (const ShapeCacheStats st = shapeCacheStats(); st.entries != 0)
            return makeError("the shape cache still holds {} shapes in use: not a cold commit",
                             st.entries);
        auto live = startEngine(graph, tieredFactory, settings);
        if (!live) return live.error();
        pause(4 * 1000.0 * settings.blockFrames / settings.sampleRate); // audio under way
        const EngineStatus before = live->engine->status();
        auto c = timedCommit(*live->engine, settings);
        if (!c) return c.error();
        first.push_back(c->toSwapMs);
        compile.push_back(c->report.compileMs);
        prime.push_back(c->report.primeMs);
        stages.add(*c);
        if (c->report.optimizing) {
            auto at =
                awaitUpgrade(*live->engine, before.upgrades, before.upgradeFailures, settings);
            if (!at) return at.error();
            optimised.push_back(msBetween(c->start, *at));
        } else { // the first tier was the optimised one already
            optimised.push_back(c->toSwapMs);
            ++result.untiered;
        }
    }
    result.runs = static_cast<uint32_t>(first.size());
    result.firstTierMs = spreadOf(first);
    result.optimisedMs = spreadOf(optimised);
    result.compileMs = spreadOf(compile);
    result.primeMs = spreadOf(prime);
    result.stages = stages.spreads();
    return result;
}

Expected<AddVoiceResult>
measureAddVoice(const PatchGraph& bank, uint32_t voices, const PatchGraph& voice,
                const std::vector<std::pair<std::string, std::string>>& links,
                const ProgramFactory& factory, const CommitSettings& settings) {
    auto live = startEngine(bank, factory, settings);
    if (!live) return live.error();
    Engine& engine = *live->engine;
    // The bank plays, its shapes cached and, when the factory is tiered, optimised.
    {
        const EngineStatus before = engine.status();
        auto c = timedCommit(engine, settings);
        if (!c) return c.error();
        if (c->report.optimizing)
            if (auto at = awaitUpgrade(engine, before.upgrades, before.upgradeFailures, settings);
                !at)
                return at.error();
        pause(settings.playMs);
    }
    AddVoiceResult result;
    result.voicesBefore = voices;
    std::vector<double> add, compile, prime, remove;
    StageTimes stages;
    for (uint32_t k = 0; k < settings.addVoices; ++k) {
        if (Status s = sendPatch(engine, voice); !s) return s.error();
        for (const auto& [src, dst] : links)
            if (Status s = engine.connect(src, dst); !s) return s.error();
        const EngineStatus before = engine.status();
        auto c = timedCommit(engine, settings);
        if (!c) return c.error();
        add.push_back(c->toSwapMs);
        compile.push_back(c->report.compileMs);
        prime.push_back(c->report.primeMs);
        stages.add(*c);
        if (c->report.optimizing) { // a shape was not cached: let its tier finish first
            ++result.notCached;
            if (auto at = awaitUpgrade(engine, before.upgrades, before.upgradeFailures, settings);
                !at)
                return at.error();
        }
        pause(settings.playMs);
        for (const Module& m : voice.modules())
            if (Status s = engine.remove(m.id); !s) return s.error();
        auto r = timedCommit(engine, settings);
        if (!r) return r.error();
        remove.push_back(r->toSwapMs);
        pause(settings.playMs);
    }
    result.runs = settings.addVoices;
    result.toSwapMs = spreadOf(add);
    result.compileMs = spreadOf(compile);
    result.primeMs = spreadOf(prime);
    result.removeMs = spreadOf(remove);
    result.stages = stages.spreads();
    return result;
}

namespace {

/// A field of /proc/self/status in MB ("VmRSS", "VmHWM"); 0 if there is none.
double statusMb(const std::string& field) {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind(field + ":", 0) == 0)
            return std::atof(line.c_str() + field.size() + 1) / 1024;
    return 0;
}

} // namespace

ChainCommitResult measureChainCommit(const PatchGraph& graph, const ProgramFactory& tieredFactory,
                                     double timeoutS, const CommitSettings& settings) {
    ChainCommitResult result;
    result.modules = static_cast<uint32_t>(graph.modules().size());
    result.timeoutS = timeoutS;
    trimShapeCache();
    auto live = startEngine(graph, tieredFactory, settings);
    if (!live) {
        result.error = live.error().message;
        return result;
    }
    pause(4 * 1000.0 * settings.blockFrames / settings.sampleRate); // audio under way
    // "5" resets the peak resident size to the current one (proc(5), Linux 4.0 on).
    {
        std::ofstream clear("/proc/self/clear_refs");
        clear << "5";
        clear.flush();
        result.peakReset = static_cast<bool>(clear);
    }
    result.baseRssMb = statusMb("VmRSS");
    const EngineStatus before = live->engine->status();
    CommitSettings s = settings;
    s.timeoutMs = timeoutS * 1000;
    auto c = timedCommit(*live->engine, s);
    if (!c) {
        result.error = c.error().message;
        result.peakRssMb = statusMb("VmHWM");
        return result;
    }
    result.firstTierMs = c->toSwapMs;
    if (c->report.optimizing) {
        if (auto at = awaitUpgrade(*live->engine, before.upgrades, before.upgradeFailures, s))
            result.optimisedMs = msBetween(c->start, *at);
        else
            result.error = at.error().message;
    } else {
        result.optimisedMs = c->toSwapMs;
    }
    result.peakRssMb = statusMb("VmHWM");
    return result;
}

} // namespace chronus::bench

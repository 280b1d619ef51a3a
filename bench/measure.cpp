#include "measure.h"

#include "backend.h"
#include "control_command.h"
#include "denormals.h"
#include "engine.h"
#include "jit/jit.h"
#include "param_block.h"
#include "patch_file.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <new>
#include <optional>
#include <thread>

namespace chronus::bench {

namespace {

using Clock = std::chrono::steady_clock;

double msBetween(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

struct AlignedDelete {
    void operator()(std::byte* p) const { ::operator delete[](p, std::align_val_t{64}); }
};

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
          out_(blockFrames) {
        const Schedule& s = program.schedule();
        for (const auto& n : s.nodes)
            for (uint32_t i = 0; i < n.paramCount(); ++i)
                params_.store(n.paramIndex + i, n.initialParams[i]);
        state_.reset(static_cast<std::byte*>(
            ::operator new[](std::max<size_t>(s.stateBytes, 64), std::align_val_t{64})));
        initState(s, state_.get());
    }

    /// Renders `blocks` blocks; returns the time they took.
    RunTime render(uint32_t blocks) {
        const double cpu0 = threadCpuNs();
        const auto t0 = Clock::now();
        for (uint32_t b = 0; b < blocks; ++b)
            program_.render(params_.data(), state_.get(), out_.data(),
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
    std::unique_ptr<std::byte[], AlignedDelete> state_;
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
        e.engine = std::string(programs[i]->engine());
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

/// One engine, its audio running, committing `graph` 1 + `recommits` times; ms per commit.
struct CommitRun {
    std::vector<double> toSwapMs, compileMs, primeMs;
};

Expected<CommitRun> runCommits(const PatchGraph& graph, const ProgramFactory& factory,
                               uint32_t commits, const CommitSettings& settings) {
    EngineOptions eo;
    eo.sampleRate = settings.sampleRate;
    eo.frames = settings.blockFrames;
    eo.factory = factory;
    auto engine = Engine::create(eo);
    if (!engine) return engine.error();

    // The patch reaches the engine as a user's would: as control commands.
    auto lines = parsePatchText(graph.toPatchText());
    if (!lines) return lines.error();
    for (const PatchLine& line : *lines) {
        auto cmd = decodeCommand(line.address, line.args);
        if (!cmd) return lineError(line, cmd.error());
        if (std::holds_alternative<CommitCommand>(*cmd)) continue;
        if (Status s = (*engine)->apply(*cmd); !s) return lineError(line, s.error());
    }

    // Audio runs as it would live: the null backend's clock-paced thread, one block per block
    // period, so a published program waits for the next block boundary as it would on a device.
    auto backend = makeNullBackend(**engine, {});
    if (Status s = backend->start(); !s) return s.error();
    CommitRun run;
    std::optional<Error> failure;
    for (uint32_t k = 0; k < commits && !failure; ++k) {
        CommitReport report;
        Clock::time_point swapped{};
        const auto t0 = Clock::now();
        const uint64_t seq = (*engine)->commit([&](const CommitReport& r) {
            swapped = Clock::now();
            report = r;
        });
        if (!(*engine)->waitForCommit(seq, 120'000)) {
            failure = makeError("commit {} did not finish within two minutes", seq);
        } else if (!report.ok) {
            failure = makeError("commit {} failed: {}", seq, report.reason);
        } else {
            run.toSwapMs.push_back(msBetween(t0, swapped));
            run.compileMs.push_back(report.compileMs);
            run.primeMs.push_back(report.primeMs);
            // The patch plays until the next commit.
            std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(settings.playMs));
        }
    }
    backend->stop();
    if (failure) return *failure;
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

} // namespace chronus::bench

#include "bench/suite.h"

#include "bench/graph_scale.h"
#include "bench/machine.h"
#include "bench/measure.h"
#include "bench/process_render.h"
#include "bench/workloads.h"
#include "compiler/jit/jit.h"
#include "compiler/program_factory.h"
#include "compiler/schedule.h"

#include <algorithm>
#include <chrono>
#include <fmt/format.h>

namespace chronus::bench {

namespace {

using Clock = std::chrono::steady_clock;

/// A whole `chronus render` of a workload's patch.
struct ProcessCase {
    std::string workload;
    double seconds = 0;
};

struct Plan {
    RenderSettings render;
    CommitSettings commit;
    uint32_t compileRuns = 5; ///< cold compiles, and as many cached ones
    std::vector<ProcessCase> processes;
    ProcessRenderSettings process;
    GraphScaleSettings graphScale;
    double chainTimeoutS = 120;
};

Plan planFor(const SuiteOptions& o) {
    Plan p;
    p.render.blockFrames = p.commit.blockFrames = o.blockFrames;
    p.render.sampleRate = p.commit.sampleRate = o.sampleRate;
    if (o.quick) {
        p.render.warmupMs = 20;
        p.render.runMs = 2;
        p.render.runs = 9;
        p.commit.recommits = 2;
        p.commit.coldCommits = 1;
        p.commit.tieredCommits = 1;
        p.commit.addVoices = 2;
        p.commit.playMs = 5;
        p.compileRuns = 1;
        // Short renders that run the same path; the targets are for the long ones.
        p.processes = {{"master-1", 1}, {"master-16", 1}, {"fm-16", 1}};
        p.process.runs = 1;
        p.graphScale.sizes = {10, 10'000};
        p.graphScale.rounds = 3;
        p.graphScale.editsPerRound = 100;
        p.graphScale.copyVoices = 1'250;
        p.graphScale.copies = 100;
    } else {
        p.render.warmupMs = 100;
        p.render.runMs = 5;
        p.render.runs = 41;
        p.commit.recommits = 5;
        p.commit.coldCommits = 3;
        p.commit.tieredCommits = 5;
        p.commit.addVoices = 5;
        p.commit.playMs = 20;
        p.compileRuns = 5;
        // Issue 13's cases: 256 voices x 20 s, 16 x 60 s, 1 x 60 s, 16 FM voices x 60 s.
        p.processes = {{"master-256", 20}, {"master-16", 60}, {"master-1", 60}, {"fm-16", 60}};
        p.process.runs = 3;
    }
    p.process.blockFrames = o.blockFrames;
    p.process.sampleRate = o.sampleRate;
    if (o.runs > 0) p.render.runs = o.runs;
    return p;
}

/// The banks whose add-a-voice commit is measured: 16 and 256 voices, as output taps and
/// summed into `master`.
bool measuresAddVoice(const Workload& w) {
    return (w.family == "sine" || w.family == "master") && (w.voices == 16 || w.voices == 256) &&
           !w.spareVoice.modules().empty();
}

/// Keeps the first refusal in `result.commitError` (the rest is measured all the same).
void keepCommitError(WorkloadResult& result, const char* what, const Error& e) {
    if (result.commitError.empty()) result.commitError = fmt::format("{}: {}", what, e.message);
}

/// Measures one workload; a failure is kept in result.error. `fused` makes final programs at
/// `optLevel`; `tiered` is the engine's normal factory at that level (a quick first tier).
void measureWorkload(const Workload& w, const Plan& plan, const SuiteOptions& o,
                     const ProgramFactory& fused, const ProgramFactory& tiered, int optLevel,
                     WorkloadResult& result) {
    auto say = [&](const char* what) {
        if (o.progress) o.progress(fmt::format("{}: {}", w.name, what));
    };
    auto schedule = buildSchedule(w.graph, {o.sampleRate});
    if (!schedule) {
        result.error = schedule.error().message;
        return;
    }
    result.modules = static_cast<uint32_t>(schedule->nodes.size());

    say("commit -> swap through an engine");
    // A commit the engine refuses (runaway output, say) still leaves the rest worth measuring.
    auto commits = measureCommits(w.graph, fused, optLevel, plan.commit);
    if (commits)
        result.commit = *commits;
    else
        keepCommitError(result, "commit", commits.error());

    if (measuresAddVoice(w)) {
        say("adding a voice of a known shape");
        auto added =
            measureAddVoice(w.graph, w.voices, w.spareVoice, w.spareLinks, tiered, plan.commit);
        if (added)
            result.addVoice = *added;
        else
            keepCommitError(result, "add a voice", added.error());
    }

    if (plan.commit.tieredCommits > 0) {
        say("commit -> audible, cold, tiered");
        auto cold = measureTieredColdCommits(w.graph, tiered, plan.commit);
        if (cold)
            result.tieredCommit = *cold;
        else
            keepCommitError(result, "cold tiered commit", cold.error());
    }

    say("compiling");
    auto compiled = measureCompiles(*schedule, optLevel, fused, plan.compileRuns);
    if (!compiled) {
        result.error = "compile: " + compiled.error().message;
        return;
    }
    result.compile = compiled->compile;

    std::vector<std::unique_ptr<Program>> programs;
    std::vector<double> buildMs = {compiled->compile.totalMs.median};
    programs.push_back(std::move(compiled->program));
    for (const char* name : {kBlockInterp, kSampleInterp}) {
        auto factory = programFactory(name);
        if (!factory) {
            result.error = factory.error().message;
            return;
        }
        const auto t0 = Clock::now();
        auto p = (*factory)(*schedule);
        if (!p) {
            result.error = fmt::format("{}: {}", name, p.error().message);
            return;
        }
        buildMs.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        programs.push_back(p.take());
    }

    say("rendering");
    std::vector<Program*> raw;
    for (auto& p : programs) raw.push_back(p.get());
    result.engines = measureRender(raw, w.voices, plan.render);
    for (size_t i = 0; i < result.engines.size(); ++i) result.engines[i].buildMs = buildMs[i];
}

/// Whole `chronus render` processes of the built-in patches, edits and copies of large graphs,
/// and a long chain's cold commit.
void measureScale(const Plan& plan, const SuiteOptions& o, const ProgramFactory& tiered,
                  const std::vector<Workload>& workloads, BenchResults& results) {
    auto say = [&](const std::string& what) {
        if (o.progress) o.progress(what);
    };
    say("checking whether chronus render takes --cache-dir");
    results.renderCacheDir = renderTakesCacheDir(plan.process);
    for (const ProcessCase& c : plan.processes) {
        const Workload* w = nullptr;
        for (const Workload& x : workloads)
            if (x.name == c.workload) w = &x;
        if (w == nullptr) continue; // not among this run's voice counts
        say(fmt::format("{}: whole chronus render processes, {:g} s of audio", w->name, c.seconds));
        auto r = measureProcessRender(w->name, w->graph, c.seconds, results.renderCacheDir,
                                      plan.process);
        if (!r) {
            ProcessRenderResult failed;
            failed.name = w->name;
            failed.audioSeconds = c.seconds;
            failed.error = r.error().message;
            results.renders.push_back(failed);
        } else {
            results.renders.push_back(*r);
        }
    }
    if (o.only.empty()) {
        say("edits and copies of large patch graphs");
        results.graphScale = measureGraphScale(plan.graphScale);
    }
    const auto chainModules = static_cast<uint32_t>(
        o.chainModules >= 0 ? o.chainModules : (o.quick || !o.only.empty() ? 0 : 10'000));
    if (chainModules == 0) return;
    say(fmt::format("a chain of {} modules: cold commit", chainModules));
    auto chain = gainChain(chainModules);
    if (!chain) {
        ChainCommitResult failed;
        failed.modules = chainModules;
        failed.error = chain.error().message;
        results.chain = failed;
        return;
    }
    results.chain = measureChainCommit(chain->graph, tiered, plan.chainTimeoutS, plan.commit);
}

} // namespace

Expected<BenchResults> runBench(const SuiteOptions& o) {
    std::vector<Workload> workloads;
    if (o.builtins) {
        std::vector<uint32_t> voices = o.voiceCounts;
        if (voices.empty())
            voices =
                o.quick ? std::vector<uint32_t>{1, 16, 64} : std::vector<uint32_t>{1, 16, 64, 256};
        if (o.progress) o.progress("building the workloads");
        auto b = builtinWorkloads(voices);
        if (!b) return b.error();
        for (Workload& w : *b)
            if (o.only.empty() || std::find(o.only.begin(), o.only.end(), w.name) != o.only.end())
                workloads.push_back(std::move(w));
        for (const std::string& name : o.only)
            if (std::none_of(workloads.begin(), workloads.end(),
                             [&](const Workload& w) { return w.name == name; }))
                return makeError("--only: no built-in workload '{}' (at these voice counts)", name);
    }
    for (const std::string& path : o.patchFiles) {
        auto w = patchFileWorkload(path);
        if (!w) return w.error(); // names the file: `PATH:LINE: reason`
        workloads.push_back(w.take());
    }
    if (workloads.empty()) return makeError("nothing to measure: no workload");

    // The engine's default level unless told; the cold compiles use the same.
    const int optLevel = o.optLevel < 0 ? JitOptions{}.optLevel : o.optLevel;
    auto fused = programFactory(kFused, optLevel);
    if (!fused) return fused.error();
    // The engine's normal factory: quickly compiled first tiers, optimised in the background.
    auto tiered = programFactory(kFused, optLevel, /*tiered=*/true);
    if (!tiered) return tiered.error();

    BenchResults results;
    results.machine = readMachineInfo();
    results.sampleRate = o.sampleRate;
    results.blockFrames = o.blockFrames;
    results.quick = o.quick;
    results.optLevel = optLevel;
    results.engines = {kFused, kBlockInterp, kSampleInterp};
    const Plan plan = planFor(o);
    for (const Workload& w : workloads) {
        WorkloadResult r;
        r.name = w.name;
        r.description = w.description;
        r.family = w.family;
        r.voices = w.voices;
        r.modules = static_cast<uint32_t>(w.graph.modules().size());
        measureWorkload(w, plan, o, *fused, *tiered, optLevel, r);
        results.workloads.push_back(std::move(r));
    }
    if (o.builtins) measureScale(plan, o, *tiered, workloads, results);
    results.targets = evaluateTargets(results);
    return results;
}

} // namespace chronus::bench

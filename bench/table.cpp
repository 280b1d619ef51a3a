#include "bench/table.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace chronus::bench {

namespace {

const char* engineLabel(const std::string& engine) {
    if (engine == kFused) return "fused (jit)";
    if (engine == kBlockInterp) return "block interp";
    if (engine == kSampleInterp) return "per-sample interp";
    return engine.c_str();
}

std::string spread(const Spread& s) {
    return fmt::format("{} [{}-{}]", formatNumber(s.median), formatNumber(s.p10),
                       formatNumber(s.p90));
}

/// A share of the real-time budget: "3.4%", "0.07%", and "12x" past ten times the budget.
std::string percent(double share) {
    if (share >= 10) return fmt::format("{:.0f}x", share);
    return share >= 0.001 ? fmt::format("{:.1f}%", share * 100)
                          : fmt::format("{:.2f}%", share * 100);
}

/// "1 compile", "5 compiles".
std::string count(uint32_t n, const char* what) {
    return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s");
}

std::string ratio(double r) {
    return r > 0 ? fmt::format("{}x", formatNumber(r)) : "-";
}

/// The workload column: wide enough for the longest name (patch files have long ones).
size_t nameWidth(const BenchResults& r) {
    size_t w = 13;
    for (const auto& x : r.workloads) w = std::max(w, x.name.size());
    return w;
}

void rule(std::string& s, size_t width) {
    s += std::string(width, '-');
    s += '\n';
}

void header(std::string& s, const BenchResults& r) {
    const MachineInfo& m = r.machine;
    s += fmt::format("chronus bench: {} ({} logical CPUs), {} build, {}, LLVM {}, {}\n", m.cpu,
                     m.logicalCpus, m.buildType.empty() ? "unknown" : m.buildType, m.compiler,
                     m.llvm, m.date);
    if (m.debugBuild())
        s += "WARNING: this is a debug build. The interpreters run unoptimised, so the speed-ups "
             "below are\n         inflated and nothing here is a benchmark: build with `cmake "
             "--preset release`.\n";
    if (r.quick) s += "NOTE: --quick: few, short runs; the spread is wide. Omit it for figures.\n";
    if (const double c = r.contention(); c > 1.15)
        s +=
            fmt::format("NOTE: the machine was busy: the timed renders took {:.2f}x their CPU time "
                        "by the wall clock.\n      Render figures are thread CPU time, which "
                        "leaves out the time other processes had;\n      compile and commit "
                        "latencies are wall clock and include it.\n",
                        c);
    s += '\n';
}

void renderTable(std::string& s, const BenchResults& r) {
    const size_t nw = nameWidth(r);
    uint32_t runs = 0;
    for (const auto& w : r.workloads)
        for (const auto& e : w.engines) runs = std::max(runs, e.runs);
    s += fmt::format("Render cost: ns per output sample (thread CPU time), median [p10-p90] of {} "
                     "per engine\nafter a warm-up, {}-frame blocks at {:g} Hz, engines "
                     "interleaved run by run (speed-ups are ratios\nof medians of one run)\n\n",
                     count(runs, "timed run"), r.blockFrames, r.sampleRate);
    std::string line = fmt::format("{:<{}} {:>6} {:>5} |", "workload", nw, "voices", "mods");
    for (const auto& e : r.engines) line += fmt::format(" {:<24}", engineLabel(e));
    line += fmt::format("| {:>12} {:>9} {:>11}\n", "fused ns per", "fused vs", "fused vs");
    s += line;
    line = fmt::format("{:<{}} {:>6} {:>5} |", "", nw, "", "");
    for (size_t i = 0; i < r.engines.size(); ++i) line += fmt::format(" {:<24}", "");
    line += fmt::format("| {:>12} {:>9} {:>11}\n", "voice-sample", "interp", "per-sample");
    s += line;
    rule(s, line.size() - 1);
    for (const auto& w : r.workloads) {
        line = fmt::format("{:<{}} {:>6} {:>5} |", w.name, nw, w.voices, w.modules);
        if (!w.error.empty()) {
            s += line + " FAILED: " + w.error + "\n";
            continue;
        }
        for (const auto& name : r.engines) {
            const EngineResult* e = w.engine(name);
            line += fmt::format(" {:<24}", e ? spread(e->nsPerSample) : "-");
        }
        const EngineResult* f = w.engine(kFused);
        line += fmt::format(
            "| {:>12} {:>9} {:>11}\n", f ? formatNumber(f->nsPerVoiceSample.median) : "-",
            ratio(w.speedup(kFused, kBlockInterp)), ratio(w.speedup(kFused, kSampleInterp)));
        s += line;
    }
    s += '\n';
}

void headroomTable(std::string& s, const BenchResults& r) {
    const size_t nw = nameWidth(r);
    s +=
        fmt::format("Real-time headroom: one {}-frame block's render time as a share of its {:.0f} "
                    "us at {:g} Hz, median (p90),\nand the voices one core renders in real time "
                    "at that cost (copies of the patch for one-voice workloads)\n\n",
                    r.blockFrames, 1e6 * r.blockFrames / r.sampleRate, r.sampleRate);
    std::string line = fmt::format("{:<{}} |", "workload", nw);
    for (const auto& e : r.engines)
        line += fmt::format(" {:<17} {:>11} |", engineLabel(e), "voices/core");
    s += line + "\n";
    rule(s, line.size());
    for (const auto& w : r.workloads) {
        if (!w.error.empty()) continue;
        line = fmt::format("{:<{}} |", w.name, nw);
        for (const auto& name : r.engines) {
            const EngineResult* e = w.engine(name);
            if (e == nullptr) {
                line += fmt::format(" {:<17} {:>11} |", "-", "-");
                continue;
            }
            line += fmt::format(
                " {:<17} {:>11} |",
                fmt::format("{} ({})", percent(e->blockLoad.median), percent(e->blockLoad.p90)),
                formatNumber(std::floor(e->voicesPerCore * 10) / 10));
        }
        s += line + "\n";
    }
    s += '\n';
}

void compileTable(std::string& s, const BenchResults& r) {
    const size_t nw = nameWidth(r);
    uint32_t runs = 0;
    int opt = -1;
    for (const auto& w : r.workloads)
        if (w.compile) {
            runs = std::max(runs, w.compile->runs);
            opt = w.compile->optLevel;
        }
    s += fmt::format(
        "Compile latency of the fused JIT at O{}, ms, median of {}\n"
        "  cold:   every group shape compiled (the shape cache off): by phase as the JIT reports\n"
        "          them, and in total by the wall clock and in CPU time\n"
        "  cached: through the engine's factory once the patch's shapes are cached, as on a "
        "recommit\n\n",
        opt, count(runs, "compile"));
    std::string line =
        fmt::format("{:<{}} {:>6} {:>6} | {:>6} {:>8} {:>7} {:>5} {:>7} | {:>7} {:>7} | {:>7}",
                    "workload", nw, "groups", "shapes", "lower", "optimise", "codegen", "link",
                    "IR text", "total", "CPU", "cached");
    s += line + "\n";
    rule(s, line.size());
    for (const auto& w : r.workloads) {
        if (!w.error.empty() || !w.compile) continue;
        const CompileResult& c = *w.compile;
        s += fmt::format(
            "{:<{}} {:>6} {:>6} | {:>6} {:>8} {:>7} {:>5} {:>7} | {:>7} {:>7} | {:>7}\n", w.name,
            nw, c.groups, c.shapes, formatNumber(c.lowerMs.median),
            formatNumber(c.optimizeMs.median), formatNumber(c.codegenMs.median),
            formatNumber(c.linkMs.median), formatNumber(c.irTextMs.median),
            formatNumber(c.totalMs.median), formatNumber(c.totalCpuMs.median),
            formatNumber(c.cachedMs.median));
    }
    s += '\n';
}

void commitTable(std::string& s, const BenchResults& r) {
    const size_t nw = nameWidth(r);
    uint32_t commits = 0, cold = 0;
    for (const auto& w : r.workloads)
        if (w.commit) {
            commits = std::max(commits, w.commit->runs);
            cold = std::max(cold, w.commit->coldRuns);
        }
    s += fmt::format(
        "Commit -> swap through an Engine with audio running (null backend, {}-frame blocks), ms, "
        "wall clock,\nfrom commit() to the report that the audio thread swapped the program in\n"
        "  cold:     an engine whose compiles skip the shape cache and the tiers (the whole O{}\n"
        "            compile before the swap), median [p10-p90] of {}\n"
        "  first:    the fused factory at this level, untiered, the first commit into a new "
        "engine\n            (earlier workloads of this run may have cached its shapes)\n"
        "  recommit: then median [p10-p90] of {} while the patch plays (state carried over),\n"
        "            split into compile (schedule, program) and prime (warm-up, checks, the wait\n"
        "            for the audio thread's next block)\n\n",
        r.blockFrames, r.optLevel, count(cold, "commit"), count(commits, "recommit"));
    std::string line = fmt::format("{:<{}} | {:<22} | {:>7} | {:<22} {:>8} {:>7}", "workload", nw,
                                   "cold, untiered", "first", "recommit", "compile", "prime");
    s += line + "\n";
    rule(s, line.size());
    for (const auto& w : r.workloads) {
        if (!w.error.empty()) continue;
        if (!w.commit) {
            if (!w.commitError.empty())
                s += fmt::format("{:<{}} | refused: {}\n", w.name, nw, w.commitError);
            continue;
        }
        const CommitResult& k = *w.commit;
        s += fmt::format("{:<{}} | {:<22} | {:>7} | {:<22} {:>8} {:>7}\n", w.name, nw,
                         k.coldRuns > 0 ? spread(k.coldMs) : "-", formatNumber(k.firstMs),
                         spread(k.commitToSwapMs), formatNumber(k.compileMs.median),
                         formatNumber(k.primeMs.median));
    }
    s += '\n';
}

/// Under a workload's line: where its commits' time went (CommitReport::stages), medians.
void stagesLine(std::string& s, std::size_t nameWidth,
                const std::vector<std::pair<std::string, Spread>>& stages) {
    if (stages.empty()) return;
    std::string parts;
    for (const auto& [name, ms] : stages)
        parts += fmt::format("{}{} {}", parts.empty() ? "" : ", ", name, formatNumber(ms.median));
    s += fmt::format("{:<{}}   stages, median ms: {}\n", "", nameWidth, parts);
}

void tieredTable(std::string& s, const BenchResults& r) {
    const size_t nw = nameWidth(r);
    uint32_t runs = 0, fewest = ~0u;
    for (const auto& w : r.workloads)
        if (w.tieredCommit) {
            runs = std::max(runs, w.tieredCommit->runs);
            fewest = std::min(fewest, w.tieredCommit->runs);
        }
    if (runs == 0) return;
    s += fmt::format(
        "Commit -> audible, cold, with tiered compiles (the engine's default), ms, wall clock, "
        "median [p10-p90]\nof {}{}, each into a fresh Engine with audio running\n(null backend, "
        "{}-frame blocks) after the shape cache was emptied, so every shape is compiled\n"
        "  first tier: commit() to the report that the quickly compiled program swapped in (its\n"
        "              compile and prime, as CommitReport splits them)\n"
        "  optimised:  commit() to the fully optimised version swapped in (O{}, compiled in the\n"
        "              background; EngineStatus::upgrades polled every 0.1 ms)\n\n",
        count(runs, "commit"), fewest < runs ? " (fewer, at least 3, once 10 s are spent)" : "",
        r.blockFrames, r.optLevel);
    const std::string line = fmt::format("{:<{}} | {:<22} {:>8} {:>7} | {}", "workload", nw,
                                         "first tier", "compile", "prime", "optimised");
    s += line + "\n";
    rule(s, line.size() + 13); // as wide as the spreads below
    for (const auto& w : r.workloads) {
        if (!w.error.empty()) continue;
        if (!w.tieredCommit) {
            if (!w.commitError.empty())
                s += fmt::format("{:<{}} | refused: {}\n", w.name, nw, w.commitError);
            continue;
        }
        const TieredCommitResult& k = *w.tieredCommit;
        s += fmt::format("{:<{}} | {:<22} {:>8} {:>7} | {}{}{}\n", w.name, nw,
                         spread(k.firstTierMs), formatNumber(k.compileMs.median),
                         formatNumber(k.primeMs.median), spread(k.optimisedMs),
                         k.runs < runs ? fmt::format("  ({})", count(k.runs, "commit")) : "",
                         k.untiered > 0 ? fmt::format("  ({} already final)", k.untiered) : "");
        stagesLine(s, nw, k.stages);
    }
    s += '\n';
}

void addVoiceTable(std::string& s, const BenchResults& r) {
    const size_t nw = nameWidth(r);
    uint32_t runs = 0;
    for (const auto& w : r.workloads)
        if (w.addVoice) runs = std::max(runs, w.addVoice->runs);
    if (runs == 0) return;
    s += fmt::format(
        "Adding a voice of a known shape, ms, wall clock, median [p10-p90] of {}: the bank plays "
        "through\nan Engine with its normal (tiered) factory, committed and optimised; one more "
        "voice's modules\nand connections are sent and committed (commit() to its report, split "
        "into compile and prime),\nthen removed and committed again\n\n",
        count(runs, "add"));
    const std::string line = fmt::format("{:<{}} {:>7} | {:<22} {:>8} {:>7} | {:>7}", "workload",
                                         nw, "voices", "add a voice", "compile", "prime", "remove");
    s += line + "\n";
    rule(s, line.size());
    for (const auto& w : r.workloads) {
        if (!w.error.empty() || !w.addVoice) continue;
        const AddVoiceResult& a = *w.addVoice;
        s +=
            fmt::format("{:<{}} {:>7} | {:<22} {:>8} {:>7} | {:>7}{}\n", w.name, nw,
                        fmt::format("{}+1", a.voicesBefore), spread(a.toSwapMs),
                        formatNumber(a.compileMs.median), formatNumber(a.primeMs.median),
                        formatNumber(a.removeMs.median),
                        a.notCached > 0 ? fmt::format("  ({} compiled a shape)", a.notCached) : "");
        stagesLine(s, nw, a.stages);
    }
    s += '\n';
}

void processTable(std::string& s, const BenchResults& r) {
    if (r.renders.empty()) return;
    uint32_t runs = 0;
    for (const auto& p : r.renders) runs = std::max(runs, p.runs);
    s += fmt::format(
        "Whole `chronus render` processes, seconds, median [p10-p90] of {}: user + system CPU "
        "of the child\n(wait4), start-up, compile, render and exit included; {}-frame blocks, the "
        "patch committed at 0\n  cold: an empty code cache (a fresh --cache-dir); warm: the cache "
        "the cold run before filled\n",
        count(runs, "run"), r.blockFrames);
    if (!r.renderCacheDir)
        s += "  render takes no --cache-dir yet: every run is cold, and warm is not measured\n";
    s += '\n';
    const size_t nw = nameWidth(r);
    const std::string line =
        fmt::format("{:<{}} {:>6} | {:<22} {:>6} {:>7} | {:<22} {:>6} {:>7}", "workload", nw,
                    "audio", "cold CPU", "wall", "peak MB", "warm CPU", "wall", "peak MB");
    s += line + "\n";
    rule(s, line.size());
    for (const auto& p : r.renders) {
        const std::string audio = fmt::format("{:g} s", p.audioSeconds);
        if (!p.error.empty()) {
            s += fmt::format("{:<{}} {:>6} | FAILED: {}\n", p.name, nw, audio, p.error);
            continue;
        }
        s += fmt::format("{:<{}} {:>6} | {:<22} {:>6} {:>7} | {:<22} {:>6} {:>7}\n", p.name, nw,
                         audio, spread(p.coldCpuS), formatNumber(p.coldWallS.median),
                         formatNumber(p.coldMaxRssMb), p.warmMeasured ? spread(p.warmCpuS) : "-",
                         p.warmMeasured ? formatNumber(p.warmWallS.median) : "-",
                         p.warmMeasured ? formatNumber(p.warmMaxRssMb) : "-");
    }
    s += '\n';
}

void scaleTable(std::string& s, const BenchResults& r) {
    if (r.graphScale) {
        const GraphScaleResult& g = *r.graphScale;
        s += "Editing the pending patch as it grows: microseconds per edit (thread CPU time), "
             "median of rounds of\na few hundred; gains, new ones chained to each other, finds "
             "and writes among the old ones\n\n";
        const std::string line = fmt::format("{:>9} | {:>8} {:>8} {:>8} {:>8} {:>8}", "modules",
                                             "create", "connect", "find", "write", "delete");
        s += line + "\n";
        rule(s, line.size());
        for (const EditCost& e : g.edits)
            s += fmt::format("{:>9} | {:>8} {:>8} {:>8} {:>8} {:>8}\n", e.modules,
                             formatNumber(e.createUs), formatNumber(e.connectUs),
                             formatNumber(e.findUs), formatNumber(e.setParamUs),
                             formatNumber(e.deleteUs));
        s += fmt::format("\nCopies, as a commit copies the pending patch: {} copies of {} modules "
                         "kept, a parameter write\nbetween each: {} us a copy, {} us the write "
                         "after one, {} MB of resident memory for all of them\n\n",
                         g.copies, g.copyModules, formatNumber(g.copyUs),
                         formatNumber(g.firstWriteUs), formatNumber(g.rssGrowthMb));
    }
    if (r.chain) {
        const ChainCommitResult& c = *r.chain;
        s += fmt::format("A chain of {} modules (sine -> gains), one cold commit into a fresh "
                         "Engine with tiered\ncompiles, nothing cached: ",
                         c.modules);
        if (c.firstTierMs > 0)
            s += fmt::format("audible after {} ms, optimised {}; resident memory {} MB before, "
                             "peak {} MB{}",
                             formatNumber(c.firstTierMs),
                             c.optimisedMs > 0
                                 ? fmt::format("after {} ms", formatNumber(c.optimisedMs))
                                 : fmt::format("not within {:g} s", c.timeoutS),
                             formatNumber(c.baseRssMb), formatNumber(c.peakRssMb),
                             c.peakReset ? "" : " (the peak could not be reset: maybe older)");
        if (!c.error.empty()) s += (c.firstTierMs > 0 ? "; " : "") + c.error;
        s += "\n\n";
    }
}

void targetTable(std::string& s, const BenchResults& r) {
    s += "Targets (measured here, not asserted by the tests)\n\n";
    // Targets come in two sets (the JSON keeps their `issue` key); the table names what each is
    // about rather than where it was asked for.
    auto heading = [](const std::string& set) -> std::string {
        if (set == "6") return "fused against the interpreters, and commit latency";
        if (set == "8")
            return "at scale: per-voice cost up to 256 voices, cold commits, adding a voice";
        return "targets " + set;
    };
    std::string issue;
    for (const Target& t : r.targets) {
        if (t.issue != issue) {
            issue = t.issue;
            s += fmt::format("  {}\n", heading(issue));
        }
        std::string verdict;
        if (!t.measured) {
            verdict = "not measured";
        } else if (t.met()) {
            verdict = "met";
        } else {
            const double by = t.bound == Bound::AtLeast ? t.limit / t.value : t.value / t.limit;
            verdict = fmt::format("NOT met ({}x off)", formatNumber(by));
        }
        if (t.informational && t.measured) verdict = "(information: " + verdict + ")";
        const std::string value =
            t.measured ? fmt::format("{} {}", formatNumber(t.value), t.unit) : "-";
        const std::string what = t.informational ? "  " + t.what : t.what;
        s += fmt::format("  {:<82} {:<11} {:>10}  {}\n", what, t.where, value, verdict);
    }
    s += '\n';
}

void key(std::string& s, const BenchResults& r) {
    s += "Workloads\n";
    for (const auto& w : r.workloads)
        s += fmt::format("  {:<{}} {}\n", w.name, nameWidth(r), w.description);
}

} // namespace

std::string formatNumber(double v) {
    if (!std::isfinite(v)) return "nan";
    const double a = std::fabs(v);
    if (a >= 100 || a == 0) return fmt::format("{:.0f}", v);
    if (a >= 10) return fmt::format("{:.1f}", v);
    if (a >= 1) return fmt::format("{:.2f}", v);
    return fmt::format("{:.3f}", v);
}

std::string formatTable(const BenchResults& r) {
    std::string s;
    header(s, r);
    renderTable(s, r);
    headroomTable(s, r);
    compileTable(s, r);
    commitTable(s, r);
    tieredTable(s, r);
    addVoiceTable(s, r);
    processTable(s, r);
    scaleTable(s, r);
    targetTable(s, r);
    key(s, r);
    return s;
}

} // namespace chronus::bench

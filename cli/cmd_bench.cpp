// `chronus bench [PATCH...] [--json FILE] [--plot FILE.svg] [--quick]`: the fused JIT against the
// block and per-sample interpreters on built-in workloads and any patch file given; render cost,
// real-time headroom, compile and commit latency. The work is in bench/; this is the front end.
#include "bench/json.h"
#include "bench/plot.h"
#include "bench/suite.h"
#include "bench/table.h"
#include "cli/commands.h"

#include <cstdio>
#include <fmt/format.h>
#include <fstream>
#include <memory>
#include <unistd.h>

namespace chronus::cli {

namespace {

struct BenchArgs {
    bench::SuiteOptions suite;
    std::string json;
    std::string plot;
    bool patchesOnly = false;
};

Status writeFile(const std::string& path, const std::string& text) {
    std::ofstream f(path, std::ios::binary);
    f << text;
    if (!f.flush()) return makeError("cannot write '{}'", path);
    return {};
}

int runBench(BenchArgs& a) {
    a.suite.builtins = !a.patchesOnly;
    const bool tty = isatty(STDERR_FILENO) != 0;
    a.suite.progress = [tty](const std::string& what) {
        // One updating line on a terminal; plain lines in a log.
        if (tty)
            fmt::print(stderr, "\r\033[K{}", what);
        else
            fmt::print(stderr, "{}\n", what);
        std::fflush(stderr);
    };
    auto results = bench::runBench(a.suite);
    if (tty) fmt::print(stderr, "\r\033[K");
    if (!results) {
        fmt::print(stderr, "chronus bench: {}\n", results.error().message);
        return 1;
    }
    fmt::print("{}", bench::formatTable(*results));
    std::fflush(stdout);
    int rc = 0;
    if (!a.json.empty())
        if (Status s = writeFile(a.json, bench::formatJson(*results)); !s) {
            fmt::print(stderr, "chronus bench: {}\n", s.message());
            rc = 1;
        }
    if (!a.plot.empty())
        if (Status s = writeFile(a.plot, bench::formatSvgPlot(*results)); !s) {
            fmt::print(stderr, "chronus bench: {}\n", s.message());
            rc = 1;
        }
    for (const auto& w : results->workloads) {
        if (!w.error.empty()) {
            fmt::print(stderr, "chronus bench: {} failed: {}\n", w.name, w.error);
            rc = 1;
        }
        if (!w.commitError.empty())
            fmt::print(stderr, "chronus bench: the engine refused {}: {}\n", w.name, w.commitError);
    }
    return rc;
}

} // namespace

void addBenchCommand(CLI::App& app) {
    auto args = std::make_shared<BenchArgs>();
    auto* cmd = app.add_subcommand(
        "bench", "Benchmark the fused JIT against the block and per-sample interpreters");
    cmd->footer("Built-in workloads: 1..256 voices of sine or band-limited saw -> adsr -> lowpass "
                "-> gain as output taps, and summed into one gain `master` (and a mix), 16 FM "
                "voices whose depth is a gain, 16 feedback voices through z1, a random 64-module "
                "graph; whole `chronus render` processes of some; edits of large patches. "
                "Use a Release build for figures; the machine should be otherwise idle.");
    cmd->add_option("patches", args->suite.patchFiles, "patch files to measure as well")
        ->check(CLI::ExistingFile);
    cmd->add_option("--json", args->json, "write every figure to this file as JSON");
    cmd->add_option("--plot", args->plot, "write an SVG plot of ns per sample against voices");
    cmd->add_flag("--quick", args->suite.quick,
                  "few, short runs (under a minute, even in a debug build)");
    cmd->add_flag("--patches-only", args->patchesOnly, "skip the built-in workloads");
    cmd->add_option("--voices", args->suite.voiceCounts,
                    "voice counts of the sine and saw banks (default 1,16,64,256; quick 1,16,64)")
        ->delimiter(',')
        ->check(CLI::Range(1u, 4096u));
    cmd->add_option("--opt", args->suite.optLevel,
                    "the fused JIT's optimisation level (default: "
                    "the engine's)")
        ->check(CLI::Range(0, 3));
    cmd->add_option("--runs", args->suite.runs, "timed runs per engine (default 41, quick 9)")
        ->check(CLI::Range(1u, 100000u));
    cmd->add_option("--only", args->suite.only,
                    "only these built-in workloads (master-1,sine-256,...) and their whole "
                    "render processes; no edits, no chain unless --chain")
        ->delimiter(',');
    cmd->add_option("--chain", args->suite.chainModules,
                    "commit a chain of this many modules, cold (0: none; default 10000 in a "
                    "full run)")
        ->check(CLI::Range(int64_t{0}, int64_t{1000000}));
    cmd->callback([args] {
        if (args->patchesOnly && args->suite.patchFiles.empty())
            throw CLI::ValidationError("--patches-only", "needs at least one patch file");
        if (int rc = runBench(*args); rc != 0) throw CLI::RuntimeError(rc);
    });
}

} // namespace chronus::cli

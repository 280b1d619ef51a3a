// `chronus soak`: the engine on a real backend for minutes (or for N commits), committing the
// seeds' multi-commit cycle (osc -> +adsr -> +biquad -> back to osc) every couple of seconds while
// another thread storms parameters. It then reports what a performer would have heard and what
// the process kept: callbacks, xruns and deadline overruns, callback load (and while crossfading),
// commits, clicks at swaps (the worst swap's second difference against the steady state's),
// dropouts, and resident memory, threads and open file descriptors. Exit status 1 if anything was
// lost or leaked beyond the stated bounds.
#include "cli/command_exit.h"
#include "cli/commands.h"
#include "runtime/backend.h"
#include "runtime/click_meter.h"
#include "runtime/engine.h"
#include "runtime/engine_factory.h"
#include "runtime/recorder.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace chronus::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct SoakArgs {
    double minutes = 1;
    uint64_t commits = 0; ///< > 0: this many commits back to back, then stop
    std::string device = "null";
    float rate = 48000;
    uint32_t frames = 256;
    std::string engine{defaultEngineName()};
    double commitEvery = 2; ///< seconds between commits
    double xfadeMs = EngineOptions{}.xfadeMs;
    double stormRate = 2000; ///< parameter writes per second
    double maxRssGrowthMb = 32;
    uint64_t maxXruns = 0;
    uint64_t maxOverruns = 0;
    double clickRatio = ClickMeterOptions{}.clickRatio;
    uint32_t seed = 1;
};

// ---- the process, from /proc/self -------------------------------------------------------------

struct Resources {
    double rssMb = 0;
    long threads = 0;
    long fds = 0;
};

Resources readResources() {
    Resources r;
    {
        std::ifstream statm("/proc/self/statm");
        long pages = 0, resident = 0;
        statm >> pages >> resident;
        r.rssMb = double(resident) * double(::sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
    }
    {
        std::ifstream status("/proc/self/status");
        std::string line;
        while (std::getline(status, line))
            if (line.rfind("Threads:", 0) == 0) r.threads = std::stol(line.substr(8));
    }
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        ++r.fds; // includes the one this listing holds open, at every reading alike
    return r;
}

// ---- the commit cycle -----------------------------------------------------------------------

/// Edits for step `k` of the cycle: 0 the oscillator (first commit only), then 1 +adsr (gate
/// open), 2 +biquad, 3 back to the oscillator alone, and round again from 1.
Status applyStep(Engine& e, int k) {
    auto all = [](std::initializer_list<Status> steps) -> Status {
        for (const Status& s : steps)
            if (!s) return s;
        return {};
    };
    switch (k) {
    case 0:
        return e.create("osc1", "simple_sine");
    case 1:
        return all({e.create("env1", "adsr"), e.connect("osc1", "env1"), e.gate("env1", 1)});
    case 2:
        return all({e.create("filt1", "biquad_filter"), e.connect("env1", "filt1")});
    default:
        return all({e.remove("filt1"), e.remove("env1")});
    }
}

int nextStep(int k) {
    return k >= 3 ? 1 : k + 1;
}

// ---- the parameter storm ----------------------------------------------------------------------

struct StormTarget {
    const char* id;
    const char* param;
    float lo, hi;
};

/// Ranges a performer might sweep; every value is inside the parameter's range.
constexpr StormTarget kStorm[] = {
    {"osc1", "freq", 330, 660},     {"osc1", "gain", 0.15f, 0.25f}, {"env1", "sustain", 0.6f, 0.9f},
    {"filt1", "cutoff", 800, 4000}, {"filt1", "q", 0.5f, 1.5f},
};

struct StormCounts {
    std::atomic<uint64_t> applied{0}, timed{0}, absent{0}, errors{0};
    std::mutex mutex;
    std::string firstError;
};

/// Writes parameters at `rate` per second (one in ten as a timed write 5 ms ahead) until `stop`.
void storm(Engine& engine, double rate, uint32_t seed, const std::atomic<bool>& stop,
           StormCounts& counts) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<std::size_t> pick(0, std::size(kStorm) - 1);
    std::uniform_real_distribution<float> unit(0, 1);
    const float ahead = engine.options().sampleRate * 0.005f;
    const auto start = Clock::now();
    uint64_t sent = 0;
    while (!stop.load(std::memory_order_relaxed)) {
        const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
        const auto due = static_cast<uint64_t>(elapsed * rate);
        for (; sent < due; ++sent) {
            const StormTarget& t = kStorm[pick(rng)];
            const float v = t.lo + unit(rng) * (t.hi - t.lo);
            const bool timed = sent % 10 == 9;
            Status s = timed ? engine.setParamAt(engine.status().samplePosition +
                                                     static_cast<uint64_t>(ahead),
                                                 t.id, t.param, v)
                             : engine.setParam(t.id, t.param, v);
            if (s.ok()) {
                (timed ? counts.timed : counts.applied).fetch_add(1, std::memory_order_relaxed);
            } else if (s.message().find("unknown module id") != std::string::npos) {
                counts.absent.fetch_add(1, std::memory_order_relaxed); // not in this step's patch
            } else {
                if (counts.errors.fetch_add(1, std::memory_order_relaxed) == 0) {
                    std::lock_guard lock(counts.mutex);
                    counts.firstError = s.message();
                }
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

// ---- the run ----------------------------------------------------------------------------------

volatile std::sig_atomic_t gStop = 0;
extern "C" void onSoakSignal(int) {
    gStop = 1;
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * double(v.size() - 1) + 0.5))];
}

int runSoak(const SoakArgs& a) {
    const Resources atStart = readResources();
    const bool byCount = a.commits > 0;
    const double seconds = a.minutes * 60;

    auto factory = engineFactory(a.engine);
    if (!factory) return failCommand("soak", factory.error().message);
    EngineOptions eo;
    eo.sampleRate = a.rate;
    eo.frames = a.frames;
    eo.factory = factory.take();
    eo.xfadeMs = a.xfadeMs;
    auto engineOr = Engine::create(eo);
    if (!engineOr) return failCommand("soak", engineOr.error().message);
    std::unique_ptr<Engine> engine = engineOr.take();

    // What the engine plays goes to the click meter (on the recorder's writer thread).
    const auto expectedCommits =
        byCount ? a.commits + 8
                : static_cast<uint64_t>(seconds / std::max(a.commitEvery, 0.01)) + 8;
    ClickMeterOptions mo;
    const auto fade = static_cast<uint32_t>(std::lround(a.xfadeMs * a.rate / 1000.0));
    mo.before = std::max<uint32_t>(a.frames, 64);
    mo.after = a.frames + fade + static_cast<uint32_t>(a.rate / 100); // + 10 ms
    mo.dropoutSamples = static_cast<uint32_t>(a.rate / 100);          // 10 ms of silence
    mo.clickRatio = a.clickRatio;
    mo.expectedSwaps = expectedCommits * 2;
    ClickMeter meter(a.rate, mo);
    auto recorder = Recorder::createSink(
        [&meter](const float* x, std::size_t n) { meter.audio(x, n); }, a.rate);

    BackendOptions bo;
    bo.device = a.device == "null" ? std::string() : a.device;
    bo.recorder = recorder.get();
    std::unique_ptr<AudioBackend> backend;
    if (a.device == "null") {
        backend = makeNullBackend(*engine, bo);
    } else {
        auto pa = openPortAudioBackend(*engine, bo);
        if (!pa) return failCommand("soak", pa.error().message);
        backend = pa.take();
    }
    if (Status s = backend->start(); !s) return failCommand("soak", s.message());
    fmt::print("chronus soak: {}; engine {}, crossfade {:g} ms; {}\n", backend->describe(),
               a.engine, a.xfadeMs,
               byCount ? fmt::format("{} commits back to back", a.commits)
                       : fmt::format("{:g} min, a commit every {:g} s", a.minutes, a.commitEvery));
    std::fflush(stdout);

    StormCounts stormCounts;
    std::atomic<bool> stopStorm{false};
    std::thread stormThread([&] { storm(*engine, a.stormRate, a.seed, stopStorm, stormCounts); });

    // Commit outcomes, from the engine's thread.
    struct Outcomes {
        std::mutex mutex;
        uint64_t ok = 0, failed = 0;
        std::vector<double> compileMs;
        std::string firstFailure;
    } outcomes;
    outcomes.compileMs.resize(expectedCommits); // touched now: filling it grows no memory
    outcomes.compileMs.clear();
    uint64_t editErrors = 0;
    std::string firstEditError;

    gStop = 0;
    std::signal(SIGINT, onSoakSignal);
    std::signal(SIGTERM, onSoakSignal);
    const auto t0 = Clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
    int step = 0;
    uint64_t issued = 0, inFlight = 0, lastSwap = 0;
    double lastCommitAt = -1e9;
    std::optional<Resources> warm; // after the first whole cycle: the baseline for growth
    double warmAt = 0;
    uint64_t lastProgress = 0;
    for (;;) {
        // The clock first, then the swap log: every swap before that sample is in it by now.
        const uint64_t position = engine->status().samplePosition;
        for (const SwapMark& m : engine->swapSamples(lastSwap)) {
            meter.addSwap(m.sample);
            lastSwap = m.index;
        }
        meter.knownUpTo(position);

        const bool settled = inFlight == 0 || engine->commitSettled(inFlight);
        if (settled) inFlight = 0;
        if (settled && !warm && issued >= 4) { // osc, +adsr, +biquad, back: every path taken
            warm = readResources();
            warmAt = elapsed();
        }
        const bool done = gStop != 0 || (byCount ? issued >= a.commits && settled
                                                 : elapsed() >= seconds && settled);
        if (done) break;
        const bool due = byCount ? true : elapsed() - lastCommitAt >= a.commitEvery;
        if (settled && due && !(byCount && issued >= a.commits) &&
            !(!byCount && elapsed() + 0.5 >= seconds)) {
            if (Status s = applyStep(*engine, step); !s) {
                if (editErrors++ == 0) firstEditError = s.message();
                engine->abort();
            }
            inFlight = engine->commit([&outcomes](const CommitReport& r) {
                std::lock_guard lock(outcomes.mutex);
                if (r.ok) {
                    ++outcomes.ok;
                    outcomes.compileMs.push_back(r.compileMs);
                } else if (outcomes.failed++ == 0) {
                    outcomes.firstFailure = fmt::format("commit {}: {}", r.seq, r.reason);
                }
            });
            ++issued;
            lastCommitAt = elapsed();
            step = nextStep(step);
            continue;
        }
        if (byCount && issued - lastProgress >= 1000) {
            lastProgress = issued;
            const Resources r = readResources();
            fmt::print("  {} commits, {:.1f} s: {:.1f} MB resident, {} threads, {} fds\n", issued,
                       elapsed(), r.rssMb, r.threads, r.fds);
            std::fflush(stdout);
        }
        if (!byCount || !settled)
            std::this_thread::sleep_for(std::chrono::milliseconds(byCount ? 1 : 20));
    }
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    const double ran = elapsed();

    // Measured while everything still runs, as at warm-up.
    const Resources atEnd = readResources();
    if (!warm) {
        warm = atEnd;
        warmAt = ran;
    }
    stopStorm = true;
    stormThread.join();
    backend->stop();
    const ClockJitter jitter = backend->clockJitter();
    for (const SwapMark& m : engine->swapSamples(lastSwap)) meter.addSwap(m.sample);
    const EngineStatus st = engine->status();
    meter.knownUpTo(st.samplePosition);
    (void)recorder->finish();
    const ClickReport clicks = meter.finish();
    const uint64_t dropped = recorder->droppedFrames();

    std::lock_guard lock(outcomes.mutex);
    const double rssGrowth = atEnd.rssMb - warm->rssMb;
    std::vector<std::string> problems;
    auto check = [&](bool bad, std::string what) {
        if (bad) problems.push_back(std::move(what));
    };
    check(outcomes.failed > 0,
          fmt::format("{} commits failed ({})", outcomes.failed, outcomes.firstFailure));
    check(outcomes.ok + outcomes.failed < issued,
          fmt::format("{} commits never settled", issued - outcomes.ok - outcomes.failed));
    check(editErrors > 0, fmt::format("{} edits refused ({})", editErrors, firstEditError));
    check(st.xruns > a.maxXruns, fmt::format("{} xruns (allowed {})", st.xruns, a.maxXruns));
    check(st.overruns > a.maxOverruns,
          fmt::format("{} deadline overruns (allowed {})", st.overruns, a.maxOverruns));
    // Commits back to back leave little audio between swap windows: with under a second of it
    // the steady-state reference means nothing, and clicks are reported but not judged.
    const bool clicksJudged = double(clicks.steadySamples) >= double(a.rate);
    check(clicksJudged && clicks.clicks > 0, fmt::format("{} clicks at swaps", clicks.clicks));
    check(clicks.dropouts > 0, fmt::format("{} dropouts", clicks.dropouts));
    check(clicks.nonFinite > 0, fmt::format("{} non-finite samples", clicks.nonFinite));
    check(dropped > 0 || clicks.overflowed > 0,
          fmt::format("the analysis missed audio ({} frames dropped, {} judged late)", dropped,
                      clicks.overflowed));
    check(stormCounts.errors > 0, fmt::format("{} parameter writes refused ({})",
                                              stormCounts.errors.load(), stormCounts.firstError));
    check(
        rssGrowth > a.maxRssGrowthMb,
        fmt::format("resident memory grew {:.1f} MB (bound {:g} MB)", rssGrowth, a.maxRssGrowthMb));
    check(atEnd.threads > warm->threads,
          fmt::format("threads grew from {} to {}", warm->threads, atEnd.threads));
    check(atEnd.fds > warm->fds,
          fmt::format("open file descriptors grew from {} to {}", warm->fds, atEnd.fds));

    const double blockMs = 1000.0 * double(a.frames) / double(a.rate);
    fmt::print("  ran                  {:.1f} s, {:.1f} s of audio ({} frames per callback, "
               "{:.2f} ms)\n",
               ran, double(st.samplePosition) / double(a.rate), a.frames, blockMs);
    fmt::print("  callbacks            {}\n", st.callbacks);
    fmt::print("  xruns                {} (allowed {}): blocks the engine did not have ready in "
               "time{}\n",
               st.xruns, a.maxXruns,
               jitter.measured ? " (its render took longer than the block)"
                               : " (as the audio device reported them)");
    fmt::print("  deadline overruns    {} (allowed {}): callbacks longer than their block by the "
               "wall clock; callback load p50 {:.3f} p99 {:.3f} max {:.3f}\n",
               st.overruns, a.maxOverruns, st.loadP50, st.loadP99, st.loadMax);
    fmt::print("  crossfades           {}; callback load while crossfading p50 {:.3f} p99 {:.3f} "
               "max {:.3f}\n",
               st.crossfades, st.fadeLoadP50, st.fadeLoadP99, st.fadeLoadMax);
    if (jitter.measured)
        fmt::print("  clock jitter         {} of {} wake-ups late (worst {:.2f} ms): the null "
                   "clock's thread woke too late for its block; the machine's scheduling, "
                   "measured beside the engine, not held against it\n",
                   jitter.lateWakeups, jitter.wakeups, jitter.worstLateMs);
    fmt::print("  commits              {} ok, {} failed, {} issued ({:.1f}/s); compile ms p50 "
               "{:.1f} p99 {:.1f} max {:.1f}\n",
               outcomes.ok, outcomes.failed, issued, double(issued) / std::max(ran, 1e-9),
               percentile(outcomes.compileMs, 0.5), percentile(outcomes.compileMs, 0.99),
               percentile(outcomes.compileMs, 1.0));
    fmt::print(
        "  swaps                {} analysed{}; {} clicks (worst swap: second difference "
        "{:.5f} at sample {} = {:.2f} x the steady state's {:.5f} over {:.1f} s; a click "
        "is > {:g} x){}\n",
        clicks.swaps,
        clicks.onsets
            ? fmt::format(" (+{} from silence: the first sound's onset, not judged)", clicks.onsets)
            : "",
        clicks.clicks, clicks.worstSwapPeak, clicks.worstSwapSample, clicks.worstRatio(),
        clicks.steadyMax, double(clicks.steadySamples) / a.rate, a.clickRatio,
        clicksJudged ? "" : " - not judged: under 1 s of steady state");
    for (uint64_t at : clicks.clickSamples)
        fmt::print("    click at sample {} ({:.3f} s)\n", at, double(at) / double(a.rate));
    fmt::print("  dropouts             {} (10 ms of silence after the first sound); non-finite "
               "samples {}\n",
               clicks.dropouts, clicks.nonFinite);
    fmt::print("  parameter writes     {} applied, {} timed, {} to modules not in the patch, {} "
               "refused\n",
               stormCounts.applied.load(), stormCounts.timed.load(), stormCounts.absent.load(),
               stormCounts.errors.load());
    fmt::print("  resident memory      start {:.1f} MB, after warm-up ({:.1f} s) {:.1f} MB, end "
               "{:.1f} MB: {:+.1f} MB (bound {:g} MB)\n",
               atStart.rssMb, warmAt, warm->rssMb, atEnd.rssMb, rssGrowth, a.maxRssGrowthMb);
    fmt::print("  threads              start {}, after warm-up {}, end {}\n", atStart.threads,
               warm->threads, atEnd.threads);
    fmt::print("  open fds             start {}, after warm-up {}, end {}\n", atStart.fds,
               warm->fds, atEnd.fds);
    if (problems.empty()) {
        fmt::print("chronus soak: PASS\n");
        return 0;
    }
    fmt::print("chronus soak: FAIL\n");
    for (const auto& p : problems) fmt::print("  - {}\n", p);
    return 1;
}

} // namespace

void addSoakCommand(CLI::App& app) {
    auto args = std::make_shared<SoakArgs>();
    auto* cmd = app.add_subcommand(
        "soak", "Run the engine for minutes (or N commits) with a commit cycle and parameter "
                "storms; report xruns, clicks, memory, threads and descriptors");
    cmd->add_option("-m,--minutes", args->minutes, "how long to run")
        ->check(CLI::Range(0.01, 1e6))
        ->capture_default_str();
    cmd->add_option("--commits", args->commits,
                    "instead: this many commits back to back (resource-leak mode)");
    cmd->add_option("--device", args->device,
                    "'null' (clock-paced thread) or a PortAudio device index or part of its name "
                    "('jack')")
        ->capture_default_str();
    cmd->add_option("-r,--rate", args->rate, "sample rate")
        ->check(CLI::Range(8000.0f, 384000.0f))
        ->capture_default_str();
    cmd->add_option("-f,--frames", args->frames, "frames per callback")
        ->check(CLI::Range(16u, 8192u))
        ->capture_default_str();
    cmd->add_option("--engine", args->engine, "jit or interp")
        ->check(CLI::IsMember({"jit", "interp"}))
        ->capture_default_str();
    cmd->add_option("--commit-every", args->commitEvery, "seconds between commits")
        ->check(CLI::Range(0.01, 3600.0))
        ->capture_default_str();
    cmd->add_option("--xfade-ms", args->xfadeMs,
                    "crossfade at a commit that changes what is heard; adding an envelope or a "
                    "filter changes the waveform at the swap, so 0 (a hard swap) is heard, and "
                    "counted, as a click")
        ->check(CLI::Range(0.0, 1000.0))
        ->capture_default_str();
    cmd->add_option("--storm-rate", args->stormRate, "parameter writes per second")
        ->check(CLI::Range(0.0, 1e6))
        ->capture_default_str();
    cmd->add_option("--max-rss-growth-mb", args->maxRssGrowthMb,
                    "resident memory may grow this much after warm-up")
        ->capture_default_str();
    cmd->add_option("--max-xruns", args->maxXruns,
                    "xruns allowed: blocks the engine did not have ready in time (on the null "
                    "device, late wake-ups of its clock are reported apart and not held against "
                    "the engine)")
        ->capture_default_str();
    cmd->add_option("--max-overruns", args->maxOverruns,
                    "callbacks allowed to take longer than their block")
        ->capture_default_str();
    cmd->add_option("--click-ratio", args->clickRatio,
                    "a swap whose largest second difference |x[n] - 2x[n-1] + x[n-2]| exceeds "
                    "this times the steady state's is a click")
        ->capture_default_str();
    cmd->add_option("--seed", args->seed, "parameter storm seed")->capture_default_str();
    cmd->callback([args] {
        if (int rc = runSoak(*args); rc != 0) throw CLI::RuntimeError(rc);
    });
}

} // namespace chronus::cli

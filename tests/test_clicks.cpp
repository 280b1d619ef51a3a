// The click meter as a test: the seeds' Test 4, the multi-commit cycle, filter mode and LFO shape
// switches, and a module added to a mix and removed, each rendered by `chronus render` with its
// default settings. At every event the largest second difference |x[n] - 2x[n-1] + x[n-2]| in a
// window around it (runtime/click_meter.h: 256 samples before, 1024 after) must stay within 3x the
// steady state's on both sides (4800 samples each side of the window).
//
// To measure another build or other settings (the figures before and after a change), set
// CHRONUS_CLICKS_CLI to its `chronus` and CHRONUS_CLICKS_ARGS to extra render options
// (`--xfade-ms 0`); each event's ratio is printed as a warning either way.
#include "runtime/click_meter.h"
#include "runtime/wav_file.h"
#include "tests/test_engine_harness.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace chronus;

namespace {

constexpr double kRate = 48000;
constexpr double kMaxRatio = 3;

/// `text` rendered by `chronus render FILE -o OUT.wav -s seconds [extra...]`: its samples.
std::vector<float> renderWithCli(const std::string& text, double seconds,
                                 const std::vector<std::string>& extra = {}) {
    const std::string patch = test::tempPath("clicks", ".patch");
    const std::string wav = test::tempPath("clicks", ".wav");
    const std::string log = test::tempPath("clicks", ".log");
    std::ofstream(patch) << text;
    const char* cli = std::getenv("CHRONUS_CLICKS_CLI");
    std::vector<std::string> argv = {cli != nullptr ? cli : CHRONUS_BINARY,
                                     "render",
                                     patch,
                                     "-o",
                                     wav,
                                     "-s",
                                     fmt::format("{}", seconds)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    if (const char* args = std::getenv("CHRONUS_CLICKS_ARGS")) {
        std::istringstream words(args);
        for (std::string w; words >> w;) argv.push_back(w);
    }
    const pid_t pid = test::spawnProcess(argv, log);
    REQUIRE(pid > 0);
    const int rc = test::waitExit(pid, 300);
    INFO(test::readText(log));
    REQUIRE(rc == 0);
    auto data = readWav(wav);
    REQUIRE(data.ok());
    std::remove(patch.c_str());
    std::remove(wav.c_str());
    std::remove(log.c_str());
    return std::move(data->samples);
}

uint64_t sampleAt(double seconds) {
    return static_cast<uint64_t>(std::llround(seconds * kRate));
}

struct Event {
    std::string what;
    double at; ///< seconds: the line's time (a commit swaps in at its own sample offline)
};

/// Checks every event's ratio and returns them (the report's table reads them with -s).
std::vector<double> checkEvents(const std::vector<float>& x, const std::vector<Event>& events) {
    std::vector<double> ratios;
    for (const Event& e : events) {
        const EventClick c = measureClickAt(x, sampleAt(e.at));
        INFO(e.what << " at " << e.at << " s: peak " << c.peak << ", steady " << c.steadyBefore
                    << " before, " << c.steadyAfter << " after: " << c.ratio() << " x");
        CHECK(c.steadyBefore > 0);
        CHECK(c.steadyAfter > 0);
        CHECK(c.ratio() <= kMaxRatio);
        WARN(e.what << ": " << fmt::format("{:.2f}", c.ratio()) << " x");
        ratios.push_back(c.ratio());
    }
    return ratios;
}

} // namespace

TEST_CASE("the second-difference meter: a smooth sine reads 1, a step and a kink do not",
          "[clicks]") {
    std::vector<float> x(48000);
    const double w = 2 * M_PI * 440 / kRate;
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(0.2 * std::sin(w * double(i)));
    const EventClick smooth = measureClickAt(x, 24000);
    CHECK(smooth.steadyBefore == Approx(0.2 * 2 * (1 - std::cos(w))).epsilon(0.01));
    CHECK(smooth.ratio() == Approx(1).epsilon(0.02));
    // A step of 1 % of the amplitude: 0.002, about the sine's whole second difference again.
    std::vector<float> stepped = x;
    for (size_t i = 24000; i < stepped.size(); ++i) stepped[i] += 0.002f;
    CHECK(measureClickAt(stepped, 24000).ratio() > 1.4);
    // A kink (the slope turning by 0.01 per sample) a first difference would hardly see.
    std::vector<float> kinked = x;
    for (size_t i = 24000; i < kinked.size(); ++i)
        kinked[i] += 0.0005f * static_cast<float>(std::min<size_t>(i - 24000, 40));
    CHECK(measureClickAt(kinked, 24000).ratio() > 1.1);
}

// Event times fall off the tones' whole cycles (at 1 s a 440 Hz sine is back at phase 0), so that
// what is added or removed meets the signal mid-wave: a step, the worst case, not a kink.

TEST_CASE("the seeds' Test 4 commits without a click at chronus render's defaults", "[clicks]") {
    const auto x = renderWithCli("/patch/create osc1 simple_sine\n/patch/commit\n"
                                 "@1.0013 /patch/create env1 adsr\n/patch/connect osc1 env1\n"
                                 "/gate/env1 1\n/patch/commit\n"
                                 "@2.0029 /patch/create filt1 biquad_filter\n"
                                 "/patch/connect env1 filt1\n/mod/filt1/cutoff 600\n"
                                 "/patch/commit\n",
                                 2.5);
    checkEvents(x,
                {{"envelope inserted after the oscillator", 1.0013}, {"filter inserted", 2.0029}});
}

TEST_CASE("a filter's mode switches without a click, every mode to every other", "[clicks]") {
    std::string text = "/patch/create osc1 simple_sine\n/patch/create env1 adsr\n"
                       "/patch/create filt1 biquad_filter\n/patch/connect osc1 env1\n"
                       "/patch/connect env1 filt1\n/gate/env1 1\n/mod/filt1/cutoff 600\n"
                       "/patch/commit\n";
    // lp -> hp (the case, by number), then every other change, by name.
    const char* modes[] = {"lp", "hp", "bp", "notch"};
    std::vector<Event> events = {{"/mod/filt1/mode 1 (lowpass -> highpass)", 0.5007}};
    text += "@0.5007 /mod/filt1/mode 1\n";
    int from = 1;
    double t = 0.5007;
    for (int to : {2, 3, 0, 2, 1, 3, 0}) {
        t += 0.3011;
        text += fmt::format("@{} /mod/filt1/mode {}\n", t, modes[to]);
        events.push_back({fmt::format("mode {} -> {}", modes[from], modes[to]), t});
        from = to;
    }
    checkEvents(renderWithCli(text, t + 0.3), events);
}

TEST_CASE("an LFO's shape switches without a click in the level it modulates", "[clicks]") {
    // A tremolo: the LFO's output is added to the sine's gain. Sine and triangle are continuous
    // shapes, so the steady state on both sides is smooth and a switch between them would show.
    std::string text = "/patch/create osc1 simple_sine\n/patch/create lfo1 lfo\n"
                       "/mod/lfo1/freq 5\n/mod/lfo1/depth 0.1\n/patch/connect lfo1 osc1:gain\n"
                       "/patch/commit\n";
    std::vector<Event> events;
    double t = 0.3;
    for (const char* shape : {"triangle", "sine", "triangle", "sine"}) {
        t += 0.3173; // a different place in the LFO's cycle each time
        text += fmt::format("@{} /mod/lfo1/shape {}\n", t, shape);
        events.push_back({fmt::format("lfo shape -> {}", shape), t});
    }
    checkEvents(renderWithCli(text, t + 0.3), events);
}

TEST_CASE("a sine added to a mix and removed again, without a click", "[clicks]") {
    const auto x = renderWithCli("/patch/create m mix 2\n/patch/create osc1 simple_sine\n"
                                 "/patch/connect osc1 m:in1\n/patch/commit\n"
                                 "@0.5011 /patch/create osc2 simple_sine\n/mod/osc2/freq 660\n"
                                 "/mod/osc2/gain 0.1\n/patch/connect osc2 m:in2\n/patch/commit\n"
                                 "@1.0023 /patch/delete osc2\n/patch/commit\n",
                                 1.5);
    checkEvents(x, {{"a sine added to the mix", 0.5011}, {"that sine removed", 1.0023}});
}

/// examples/osc/multi_commit_cycle.sh's commits as a patch file: `cycles` times a second
/// oscillator a fifth above added, then removed, while the first plays, `gap` seconds apart.
std::string multiCommitCycle(int cycles, double gap, std::vector<Event>& events) {
    std::string text = "/patch/create osc1 simple_sine\n/patch/commit\n";
    for (int i = 1; i <= 2 * cycles; ++i) {
        const double t = 0.2 + gap * i + 0.0007 * (i % 7); // wandering phases
        if (i % 2)
            text += fmt::format("@{} /patch/create osc2 simple_sine\n/mod/osc2/freq 660\n"
                                "/mod/osc2/gain 0.1\n/patch/commit\n",
                                t);
        else
            text += fmt::format("@{} /patch/delete osc2\n/patch/commit\n", t);
        events.push_back({i % 2 ? "osc2 added" : "osc2 removed", t});
    }
    return text;
}

TEST_CASE("the multi-commit cycle: a few cycles, every commit without a click", "[clicks]") {
    std::vector<Event> events;
    const std::string text = multiCommitCycle(4, 0.3, events);
    checkEvents(renderWithCli(text, events.back().at + 0.3), events);
}

// 1,000 cycles (2,000 commits, 10 minutes of audio): a command, not part of the suite
// (`build/release/tests/test_clicks "[cycle1000]"`); it reports the worst ratio.
TEST_CASE("the multi-commit cycle a thousand times, every commit without a click",
          "[.][clicks][cycle1000]") {
    std::vector<Event> events;
    const std::string text = multiCommitCycle(1000, 0.3, events);
    const auto x = renderWithCli(text, events.back().at + 0.3);
    double worst = 0;
    size_t over = 0;
    for (const Event& e : events) {
        const double r = measureClickAt(x, sampleAt(e.at)).ratio();
        worst = std::max(worst, r);
        over += r > kMaxRatio ? 1 : 0;
    }
    WARN(events.size() << " commits: worst ratio " << worst << ", " << over << " above "
                       << kMaxRatio);
    CHECK(over == 0);
}

// Stereo, multichannel, audio in and multiply (issue 17), against the textbook: the pan law at
// its positions, channel separation end to end (programs, the offline engine, the WAV of
// `chronus render`, the live null device's recording), ring-modulation sidebands at f1 +- f2, an
// input WAV through a lowpass against the RBJ magnitude, a stereo commit's crossfade judged on
// both channels, and the output guard muting every channel.
#include "compiler/interpreter.h"
#include "compiler/jit/jit.h"
#include "compiler/patch_graph.h"
#include "compiler/sample_interpreter.h"
#include "runtime/click_meter.h"
#include "runtime/offline_render.h"
#include "runtime/output_guard.h"
#include "runtime/wav_file.h"
#include "tests/support/render_program.h"
#include "tests/support/signal_measure.h"
#include "tests/test_engine_harness.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <complex>
#include <cstdio>
#include <fmt/format.h>
#include <fstream>

using namespace chronus;

namespace {

constexpr double kRate = 48000;

/// Channel `c` of `n` interleaved.
std::vector<float> channelOf(const std::vector<float>& x, uint32_t c, uint32_t n) {
    std::vector<float> v;
    for (size_t i = c; i < x.size(); i += n) v.push_back(x[i]);
    return v;
}

std::vector<float> window(const std::vector<float>& x, double from, double to) {
    const auto a = static_cast<size_t>(from * kRate), b = static_cast<size_t>(to * kRate);
    return std::vector<float>(x.begin() + static_cast<std::ptrdiff_t>(a),
                              x.begin() + static_cast<std::ptrdiff_t>(std::min(b, x.size())));
}

/// How far below `signal` the leak is, in dB (a leak of exactly 0 reads 400).
double separationDb(double signal, double leak) {
    return 20 * std::log10(signal / std::max(leak, signal * 1e-20));
}

/// A sine (440 Hz) panned hard left and a saw (330 Hz: no harmonic at 440) hard right.
const char* kLeftSineRightSaw =
    "/patch/create s sine\n/mod/s/freq 440\n/mod/s/gain 0.5\n"
    "/patch/create w saw\n/mod/w/freq 330\n/mod/w/gain 0.5\n"
    "/patch/create pl pan\n/mod/pl/pos -1\n"
    "/patch/create pr pan\n/mod/pr/pos 1\n"
    "/patch/connect s pl\n/patch/connect w pr\n"
    "/patch/create out output\n"
    "/patch/connect pl:left out:left\n/patch/connect pl:right out:right\n"
    "/patch/connect pr:left out:left\n/patch/connect pr:right out:right\n"
    "/patch/commit\n";

/// The separation checks on a rendered left and right (1 s windows: 1 Hz bins).
void checkSeparated(const std::vector<float>& left, const std::vector<float>& right) {
    const std::vector<float> l = window(left, 0.5, 1.5), r = window(right, 0.5, 1.5);
    REQUIRE(l.size() == 48000);
    REQUIRE(r.size() == 48000);
    CHECK(test::peakFrequency(l, kRate, 100, 2000) == Approx(440).margin(1.5));
    CHECK(test::peakFrequency(r, kRate, 100, 2000) == Approx(330).margin(1.5));
    const double sineL = test::dftMagnitude(l, kRate, 440),
                 sineR = test::dftMagnitude(r, kRate, 440);
    const double sawR = test::dftMagnitude(r, kRate, 330), sawL = test::dftMagnitude(l, kRate, 330);
    INFO("sine: " << sineL << " left, " << sineR << " right; saw: " << sawR << " right, " << sawL
                  << " left");
    CHECK(separationDb(sineL, sineR) > 60);
    CHECK(separationDb(sawR, sawL) > 60);
    // Broadband too: the saw's harmonics (660, 990, ...) are not on the left either.
    CHECK(separationDb(test::rms(r), test::dftMagnitude(l, kRate, 660) + 1e-12) > 60);
}

/// `text` through `chronus render` with `extra` options; the WAV read back.
WavData renderCli(const std::string& text, const std::vector<std::string>& extra) {
    const std::string patch = test::tempPath("stereo", ".patch");
    const std::string wav = test::tempPath("stereo", ".wav");
    const std::string log = test::tempPath("stereo", ".log");
    std::ofstream(patch) << text;
    std::vector<std::string> argv = {CHRONUS_BINARY, "render", patch, "-o", wav};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const pid_t pid = test::spawnProcess(argv, log);
    REQUIRE(pid > 0);
    const int rc = test::waitExit(pid, 300);
    INFO(test::readText(log));
    REQUIRE(rc == 0);
    auto data = readWav(wav);
    REQUIRE(data.ok());
    for (const auto& f : {patch, wav, log}) std::remove(f.c_str());
    return data.take();
}

Schedule scheduleOf(const std::string& text) {
    auto lines = parsePatchText(text);
    REQUIRE(lines.ok());
    PatchGraph g;
    for (const PatchLine& line : *lines) {
        auto cmd = decodeCommand(line.address, line.args);
        REQUIRE(cmd.ok());
        if (auto* c = std::get_if<CreateCommand>(&*cmd))
            REQUIRE(g.create(c->id, c->type, c->createArg).ok());
        else if (auto* c2 = std::get_if<ConnectCommand>(&*cmd))
            REQUIRE(g.connect(c2->src, c2->dst).ok());
        else if (auto* p = std::get_if<SetParamCommand>(&*cmd))
            REQUIRE(g.setParam(p->id, p->param, p->value).ok());
    }
    auto s = buildSchedule(g);
    REQUIRE(s.ok());
    return s.take();
}

} // namespace

TEST_CASE("pan is equal-power: cos and sin of (pos + 1) pi / 4 at -1, 0, 1 and between",
          "[stereo][pan]") {
    for (const float pos : {-1.0f, -0.5f, 0.0f, 0.25f, 0.5f, 1.0f}) {
        INFO("pos " << pos);
        const Schedule s = scheduleOf(fmt::format(
            "/patch/create c const\n/mod/c/value 1\n/patch/create p pan\n/mod/p/pos {}\n"
            "/patch/connect c p\n/patch/create out output\n"
            "/patch/connect p:left out:left\n/patch/connect p:right out:right\n",
            pos));
        REQUIRE(s.channelCount() == 2);
        auto interp = makeInterpreter(s);
        const std::vector<float> out = test::renderProgram(*interp, 480, {64}, -1, 0);
        const float left = out[479], right = out[480 + 479];
        const double angle = (double(pos) + 1) * M_PI / 4;
        CHECK(left == Approx(std::cos(angle)).margin(2e-6));
        CHECK(right == Approx(std::sin(angle)).margin(2e-6));
        CHECK(double(left) * left + double(right) * right == Approx(1).margin(1e-5));
        if (pos == -1.0f) CHECK(right == 0.0f); // hard left: nothing on the right at all
        if (pos == 1.0f) CHECK(left == 0.0f);
        if (pos == 0.0f) CHECK(20 * std::log10(left) == Approx(-3.0103).margin(1e-3));
    }
}

TEST_CASE("channels: a mono patch keeps its one channel, left/right and higher outputs add some",
          "[stereo][schedule]") {
    // Mono: the output's `out`, as before channels existed; an unconnected pan is stereo.
    const Schedule mono = scheduleOf("/patch/create s sine\n/patch/create out output\n"
                                     "/patch/connect s out\n");
    CHECK(mono.channelCount() == 1);
    REQUIRE(mono.outputTaps.size() == 1);
    CHECK(mono.outputTaps[0].output == 0);
    CHECK(scheduleOf("/patch/create s sine\n/patch/create p pan\n/patch/connect s p\n")
              .channelCount() == 2);
    CHECK(scheduleOf("/patch/create s sine\n").channelCount() == 1);
    // An output at channel 3 puts its left on 3 and its right on 4; `in` feeds both.
    const Schedule quad = scheduleOf("/patch/create s sine\n/patch/create front output\n"
                                     "/patch/create rear output 3\n/patch/connect s front\n"
                                     "/patch/connect s rear\n");
    REQUIRE(quad.channelCount() == 4);
    for (uint32_t c = 0; c < 4; ++c) CHECK(quad.channelTapEnd(c) - quad.channelTapBegin(c) == 1);
    auto interp = makeInterpreter(quad);
    const std::vector<float> out = test::renderProgram(*interp, 256, {256}, -1, 0);
    for (uint32_t c = 1; c < 4; ++c)
        CHECK(std::equal(out.begin(), out.begin() + 256, out.begin() + c * 256));
    CHECK(test::rms(std::vector<float>(out.begin(), out.begin() + 256)) > 0.05);
}

TEST_CASE("a hard-left sine and a hard-right saw stay on their own channels, > 60 dB apart",
          "[stereo][pan][render]") {
    // The offline engine (the JIT, the channel mapping, the crossfade-free first commit).
    auto lines = parsePatchText(kLeftSineRightSaw);
    REQUIRE(lines.ok());
    OfflineRenderOptions o;
    o.seconds = 2;
    auto rendered = renderPatch(*lines, o);
    REQUIRE(rendered.ok());
    REQUIRE(rendered->size() == 2 * 96000);
    checkSeparated(channelOf(*rendered, 0, 2), channelOf(*rendered, 1, 2));

    // `chronus render`: a stereo WAV in every format; a mono patch stays a mono file.
    for (const char* format : {"float", "24", "16"}) {
        INFO("--format " << format);
        const WavData wav = renderCli(kLeftSineRightSaw, {"-s", "2", "--format", format});
        REQUIRE(wav.channels == 2);
        REQUIRE(wav.samples.size() == 2 * 96000);
        // 16 bits: dither noise at -96 dBFS is a floor, not leakage; the leak is below it.
        if (std::string(format) != "16")
            checkSeparated(channelOf(wav.samples, 0, 2), channelOf(wav.samples, 1, 2));
    }
    const WavData mono = renderCli("/patch/create s sine\n/patch/commit\n", {"-s", "0.1"});
    CHECK(mono.channels == 1);
    CHECK(mono.samples.size() == 4800);
    // --channels 4: the stereo patch on the first two, silence on the others.
    const WavData four = renderCli(kLeftSineRightSaw, {"-s", "2", "--channels", "4"});
    REQUIRE(four.channels == 4);
    checkSeparated(channelOf(four.samples, 0, 4), channelOf(four.samples, 1, 4));
    CHECK(test::rms(channelOf(four.samples, 2, 4)) == 0);
}

TEST_CASE("serve on the null device plays and records a stereo patch on two channels",
          "[stereo][serve][null]") {
    const std::string patch = test::tempPath("stereo_serve", ".patch");
    const std::string wav = test::tempPath("stereo_serve", ".wav");
    const std::string log = test::tempPath("stereo_serve", ".log");
    std::ofstream(patch) << kLeftSineRightSaw;
    pid_t pid = test::spawnProcess({CHRONUS_BINARY, "serve", "--device", "null", "--patch", patch,
                                    "--seconds", "2", "--record", wav, "--no-osc"},
                                   log);
    REQUIRE(pid > 0);
    const int rc = test::waitExit(pid, 60);
    INFO(test::readText(log));
    REQUIRE(rc == 0);
    auto audio = readWav(wav);
    REQUIRE(audio.ok());
    REQUIRE(audio->channels == 2);
    // Wall-clock seconds: a loaded machine may drop blocks, so only what was recorded.
    REQUIRE(audio->samples.size() >= 2 * 80000);
    checkSeparated(channelOf(audio->samples, 0, 2), channelOf(audio->samples, 1, 2));
    for (const auto& f : {patch, wav, log}) std::remove(f.c_str());
}

TEST_CASE("multiply ring-modulates: sidebands at f1 + f2 and f1 - f2, neither carrier",
          "[multiply][ring][jit][differential]") {
    const Schedule s = scheduleOf("/patch/create a sine\n/mod/a/freq 440\n/mod/a/gain 1\n"
                                  "/patch/create b sine\n/mod/b/freq 100\n/mod/b/gain 1\n"
                                  "/patch/create r ring\n/patch/connect a r:a\n"
                                  "/patch/connect b r:b\n/patch/create out output\n"
                                  "/patch/connect r out\n");
    auto interp = makeInterpreter(s);
    const std::vector<float> ref = test::renderProgram(*interp, 48000, {64, 7, 256}, -1, 0);
    // sin a sin b = (cos(a - b) - cos(a + b)) / 2: two lines of amplitude 1/2 each.
    const double upper = test::dftMagnitude(ref, kRate, 540),
                 lower = test::dftMagnitude(ref, kRate, 340);
    CHECK(upper == Approx(lower).epsilon(0.01));
    for (const double carrier : {440.0, 100.0}) {
        INFO("carrier " << carrier);
        CHECK(separationDb(upper, test::dftMagnitude(ref, kRate, carrier)) > 60);
    }
    CHECK(test::peakFrequency(ref, kRate, 200, 500) == Approx(340).margin(1.5));
    CHECK(test::peakFrequency(ref, kRate, 450, 1000) == Approx(540).margin(1.5));
    // Bit for bit through the JIT and the per-sample interpreter.
    JitOptions jo;
    jo.keepIr = false;
    auto jit = compileJit(s, jo);
    REQUIRE(jit.ok());
    CHECK(test::renderProgram(**jit, 48000, {64, 7, 256}, -1, 0) == ref);
    auto sample = makeSampleInterpreter(s);
    CHECK(test::renderProgram(*sample, 48000, {64, 7, 256}, -1, 0) == ref);
    // A VCA by signal: b alone reads 1, so a passes through untouched.
    const Schedule vca = scheduleOf("/patch/create a sine\n/patch/create m multiply\n"
                                    "/patch/connect a m:a\n/patch/create o output\n"
                                    "/patch/connect m o\n");
    const Schedule plain = scheduleOf("/patch/create a sine\n/patch/create o output\n"
                                      "/patch/connect a o\n");
    auto vp = makeInterpreter(vca), pp = makeInterpreter(plain);
    CHECK(test::renderProgram(*vp, 4800, {64}, -1, 0) ==
          test::renderProgram(*pp, 4800, {64}, -1, 0));
}

namespace {

/// |H(e^jw)| of the RBJ cookbook lowpass at `hz` (cutoff `f0`, `q`).
double rbjLowpass(double hz, double f0, double q) {
    const double w0 = 2 * M_PI * f0 / kRate, alpha = std::sin(w0) / (2 * q), c = std::cos(w0);
    const double b0 = (1 - c) / 2, b1 = 1 - c, b2 = b0, a0 = 1 + alpha, a1 = -2 * c, a2 = 1 - alpha;
    const std::complex<double> z1 = std::polar(1.0, -2 * M_PI * hz / kRate), z2 = z1 * z1;
    return std::abs((b0 + b1 * z1 + b2 * z2) / (a0 + a1 * z1 + a2 * z2));
}

} // namespace

TEST_CASE("a WAV through a lowpass (render --input) matches the RBJ magnitude within 1 dB",
          "[input][render][biquad]") {
    // The input: six tones of 0.1 on whole-Hz bins, 2 s, written as a WAV.
    const std::vector<double> tones = {250, 500, 1000, 2000, 4000, 8000};
    std::vector<float> x(96000);
    for (size_t i = 0; i < x.size(); ++i) {
        double v = 0;
        for (double f : tones) v += 0.1 * std::sin(2 * M_PI * f * double(i) / kRate);
        x[i] = static_cast<float>(v);
    }
    const std::string in = test::tempPath("stereo_in", ".wav");
    {
        auto w = WavWriter::create(in, 48000, 1);
        REQUIRE(w.ok());
        REQUIRE(w->write(x.data(), x.size()).ok());
        REQUIRE(w->close().ok());
    }
    const std::string patch = "/patch/create in input 1\n/patch/create f biquad_filter\n"
                              "/mod/f/cutoff 1000\n/mod/f/q 0.7071\n/patch/connect in f\n"
                              "/patch/create out output\n/patch/connect f out\n/patch/commit\n";
    // Its length and a second of tail by default, mono, at the file's rate.
    const WavData wav = renderCli(patch, {"--input", in});
    REQUIRE(wav.channels == 1);
    REQUIRE(wav.sampleRate == 48000);
    REQUIRE(wav.samples.size() == 96000 + 48000);
    const std::vector<float> got = window(wav.samples, 0.5, 1.5), sent = window(x, 0.5, 1.5);
    for (double f : tones) {
        const double db =
            20 * std::log10(test::dftMagnitude(got, kRate, f) / test::dftMagnitude(sent, kRate, f));
        const double want = 20 * std::log10(rbjLowpass(f, 1000, 0.7071));
        INFO(f << " Hz: " << db << " dB, RBJ " << want << " dB");
        CHECK(std::fabs(db - want) <= 1.0);
    }
    // The tail is silent once the input has ended and the filter rung out.
    CHECK(test::rms(window(wav.samples, 2.5, 3.0)) < 1e-6);

    // Another rate than the file's is refused, with what to do instead.
    const std::string p2 = test::tempPath("stereo_rate", ".patch"),
                      out2 = test::tempPath("stereo_rate", ".wav"),
                      log2 = test::tempPath("stereo_rate", ".log");
    std::ofstream(p2) << patch;
    const pid_t pid = test::spawnProcess(
        {CHRONUS_BINARY, "render", p2, "-o", out2, "--input", in, "-r", "44100"}, log2);
    REQUIRE(pid > 0);
    CHECK(test::waitExit(pid, 60) != 0);
    CHECK_THAT(test::readText(log2), Catch::Contains("48000 Hz"));
    for (const auto& f : {in, p2, out2, log2}) std::remove(f.c_str());
}

TEST_CASE("a stereo commit crossfades without a click on either channel", "[stereo][clicks]") {
    for (const double xfadeMs : {10.0, 0.0}) {
        INFO("xfade " << xfadeMs << " ms");
        EngineOptions eo;
        eo.xfadeMs = xfadeMs;
        BackendOptions bo;
        bo.channels = 2;
        test::OfflineRig rig(eo, bo);
        rig.apply("/patch/create a sine\n/mod/a/freq 440\n/mod/a/gain 0.4\n"
                  "/patch/create b sine\n/mod/b/freq 550\n/mod/b/gain 0.4\n"
                  "/patch/create pl pan\n/mod/pl/pos -0.8\n/patch/create pr pan\n/mod/pr/pos 0.8\n"
                  "/patch/connect a pl\n/patch/connect b pr\n/patch/create out output\n"
                  "/patch/connect pl:left out:left\n/patch/connect pl:right out:right\n"
                  "/patch/connect pr:left out:left\n/patch/connect pr:right out:right\n"
                  "/patch/commit\n");
        rig.render(48000 + 61); // off the tones' whole cycles: a step, not a kink
        const size_t at = rig.position();
        // Each oscillator replaced by a new one of the same pitch at phase 0: without a fade,
        // a step on both channels.
        rig.apply("/patch/delete a\n/patch/delete b\n"
                  "/patch/create a2 sine\n/mod/a2/freq 440\n/mod/a2/gain 0.4\n"
                  "/patch/create b2 sine\n/mod/b2/freq 550\n/mod/b2/gain 0.4\n"
                  "/patch/connect a2 pl\n/patch/connect b2 pr\n/patch/commit\n");
        rig.render(48000);
        for (uint32_t c = 0; c < 2; ++c) {
            const std::vector<float> x = rig.channel(c, 0, rig.position());
            const EventClick click = measureClickAt(x, at);
            INFO("channel " << c << ": peak " << click.peak << ", steady " << click.steadyBefore
                            << " / " << click.steadyAfter << ": " << click.ratio() << " x");
            if (xfadeMs > 0)
                CHECK(click.ratio() <= 3);
            else
                CHECK(click.ratio() > 3); // the measure sees the step a fade removes
        }
    }
}

TEST_CASE("the output guard mutes every channel when one blows up", "[stereo][guard]") {
    OutputGuard guard(48000);
    std::vector<float> left(64, 0.5f), right(64, 0.5f);
    right[10] = std::nanf("");
    float* const outs[2] = {left.data(), right.data()};
    const auto v = guard.audioThreadCheck(outs, 2, 64, 0, 1, 0);
    CHECK(v.poison);
    CHECK(guard.trips() == 1);
    CHECK(guard.lastCause() == GuardCause::nonFinite);
    CHECK(test::rms(left) == 0);
    for (float r : right) CHECK(r == 0.0f);
    // Held off: the next clean block is silent on both channels too.
    std::fill(left.begin(), left.end(), 0.5f);
    std::fill(right.begin(), right.end(), 0.5f);
    guard.audioThreadCheck(outs, 2, 64, 64, 1, 0);
    CHECK(test::rms(left) == 0);
    CHECK(test::rms(right) == 0);
}

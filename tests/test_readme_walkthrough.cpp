// The README's first session, run as a user would paste it: the block after the marker
// `<!-- tests/test_readme_walkthrough.cpp runs the next block -->` is taken from README.md as it
// stands and run by bash in a fresh environment (no profile, only `chronus` on the PATH, the null
// device, a free port), and the recording it makes is checked step by step: 440 Hz, retuned to
// 330 Hz, silence when the closed envelope commits, its attack when the gate opens, the lowpass's
// darker spectrum, the highpass's thinner one, silence after the release.
#include "runtime/wav_file.h"
#include "tests/support/signal_measure.h"
#include "tests/support/spectrum.h"
#include "tests/test_engine_harness.h"
#include "tests/test_osc_client.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <signal.h>
#include <sys/wait.h>

using namespace chronus;
using namespace chronus::test;

namespace {

constexpr double kRate = 48000;

/// The fenced block after the marker, as README.md has it.
std::string walkthroughBlock() {
    const std::string readme = readText(std::string(CHRONUS_SOURCE_DIR) + "/README.md");
    const std::string marker = "<!-- tests/test_readme_walkthrough.cpp runs the next block -->";
    const auto at = readme.find(marker);
    if (at == std::string::npos) return {};
    const auto open = readme.find("```sh\n", at);
    if (open == std::string::npos) return {};
    const auto body = open + 6;
    const auto close = readme.find("\n```", body);
    if (close == std::string::npos) return {};
    return readme.substr(body, close - body + 1);
}

/// Runs `script` with bash in `dir`, in a fresh environment and its own process group (so that a
/// `chronus serve &` left behind by a failing step is stopped too). Exit code, -1 on timeout.
int runFresh(const std::string& dir, const std::string& script, const std::vector<std::string>& env,
             const std::string& log, double timeoutS) {
    const pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        if (chdir(dir.c_str()) != 0) _exit(127);
        const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        std::vector<std::string> argv = {"/usr/bin/env", "-i"};
        argv.insert(argv.end(), env.begin(), env.end());
        for (const char* a : {"bash", "--noprofile", "--norc", "-e", "-c"}) argv.emplace_back(a);
        argv.push_back(script);
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
    setpgid(pid, pid);
    int rc = -1;
    for (int i = 0; i < int(timeoutS * 100); ++i) {
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            break;
        }
        usleep(10'000);
    }
    kill(-pid, SIGKILL); // the script's children, serve among them, if any are left
    waitpid(pid, nullptr, WNOHANG);
    return rc;
}

using Frames = std::vector<SpectrumFrame>;

/// The first run of frames from `from` on where `pred` holds for at least `seconds`:
/// [begin, end) indices, or nothing.
std::optional<std::pair<std::size_t, std::size_t>>
findRun(const Frames& f, std::size_t from, double seconds,
        const std::function<bool(const SpectrumFrame&)>& pred) {
    for (std::size_t i = from; i < f.size(); ++i) {
        if (!pred(f[i])) continue;
        std::size_t j = i;
        while (j < f.size() && pred(f[j])) ++j;
        if (f[j - 1].time - f[i].time >= seconds) return std::make_pair(i, j);
        i = j;
    }
    return std::nullopt;
}

double medianOf(const Frames& f, std::size_t b, std::size_t e, double SpectrumFrame::* field) {
    std::vector<double> v;
    for (std::size_t i = b; i < e; ++i) v.push_back(f[i].*field);
    std::nth_element(v.begin(), v.begin() + long(v.size() / 2), v.end());
    return v[v.size() / 2];
}

/// The pitch of the middle of a run, to a fraction of a Hz.
double pitchOf(const std::vector<float>& x, const Frames& f, std::pair<std::size_t, std::size_t> r,
               double lo, double hi) {
    const double mid = (f[r.first].time + f[r.second - 1].time) / 2;
    const auto at = static_cast<long>(mid * kRate);
    return peakFrequency(std::vector<float>(x.begin() + at - 8192, x.begin() + at + 8192), kRate,
                         lo, hi);
}

} // namespace

TEST_CASE("the README's first session, pasted into a fresh shell, is heard step by step",
          "[readme][osc][slow]") {
    const std::string block = walkthroughBlock();
    REQUIRE_FALSE(block.empty());
    INFO("the block:\n" << block);
    const std::string dir = tempPath("walkthrough", "");
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const std::string log = dir + "/session.log";
    const std::string bin = std::filesystem::path(CHRONUS_BINARY).parent_path().string();
    const int rc = runFresh(dir, block,
                            {"HOME=" + dir, "PATH=" + bin + ":/usr/bin:/bin", "CHRONUS_DEVICE=null",
                             "CHRONUS_PORT=" + std::to_string(freeUdpPort())},
                            log, 180);
    const std::string output = readText(log);
    INFO("what the session printed:\n" << output);
    REQUIRE(rc == 0);
    CHECK_THAT(output, Catch::Contains("/patch/committed 3"));
    CHECK_THAT(output, Catch::Contains("0 failed"));

    // The recording: the block names it; whatever it is called, it is the one WAV it leaves.
    std::string wavPath;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().extension() == ".wav") wavPath = e.path().string();
    REQUIRE_FALSE(wavPath.empty());
    auto wav = readWav(wavPath);
    REQUIRE(wav.ok());
    const std::vector<float>& x = wav->samples;
    const Frames f = spectrumFrames(x, kRate);
    REQUIRE(f.size() > 100);
    auto near = [](double hz, double target) { return std::fabs(hz - target) < 4; };

    // 1. A saw at 440 Hz, for the two seconds the block leaves it.
    auto a440 = findRun(
        f, 0, 1.0, [&](const SpectrumFrame& s) { return s.rms > 0.05 && near(s.peakHz, 440); });
    REQUIRE(a440);
    CHECK(pitchOf(x, f, *a440, 300, 600) == Approx(440).margin(1));
    // 2. Retuned to 330 Hz while it plays; its brightness is the unfiltered saw's.
    auto e330 = findRun(f, a440->second, 1.0, [&](const SpectrumFrame& s) {
        return s.rms > 0.05 && near(s.peakHz, 330);
    });
    REQUIRE(e330);
    CHECK(pitchOf(x, f, *e330, 250, 450) == Approx(330).margin(1));
    const double sawBrightness = medianOf(f, e330->first, e330->second, &SpectrumFrame::brightness);
    // 3. The envelope commits with its gate closed: silence.
    auto closed =
        findRun(f, e330->second, 0.5, [](const SpectrumFrame& s) { return s.rms < 1e-3; });
    REQUIRE(closed);
    // 4. The gate opens: the tone swells in over the attack (0.4 s), then holds at 330 Hz.
    std::size_t onset = closed->second;
    REQUIRE(onset < f.size());
    auto held = findRun(
        f, onset, 1.0, [&](const SpectrumFrame& s) { return s.rms > 0.03 && near(s.peakHz, 330); });
    REQUIRE(held);
    const double level = medianOf(f, held->first, held->second, &SpectrumFrame::rms);
    auto rmsAt = [&](double t) {
        auto it = std::lower_bound(f.begin(), f.end(), t,
                                   [](const SpectrumFrame& s, double v) { return s.time < v; });
        return it == f.end() ? 0.0 : it->rms;
    };
    const double t0 = f[onset].time;
    INFO("onset at " << t0 << " s, held level " << level);
    CHECK(rmsAt(t0 + 0.1) < 0.6 * level); // still rising a tenth of a second in
    CHECK(rmsAt(t0 + 0.7) > 0.8 * level); // there by the end of the attack and decay
    // 5. The lowpass at 500 Hz: the same pitch, far less above 1.5 kHz.
    auto dark = findRun(f, held->first, 1.0, [&](const SpectrumFrame& s) {
        return s.rms > 0.02 && near(s.peakHz, 330) && s.brightness < sawBrightness / 10;
    });
    INFO("saw brightness " << sawBrightness);
    REQUIRE(dark);
    // 6. The highpass: the fundamental held back, brighter than even the plain saw.
    auto thin = findRun(f, dark->second, 1.0, [&](const SpectrumFrame& s) {
        return s.rms > 0.01 && s.brightness > 1.5 * sawBrightness;
    });
    REQUIRE(thin);
    // 7. Released: silence from there to the end of the recording.
    auto released =
        findRun(f, thin->second, 0.5, [](const SpectrumFrame& s) { return s.rms < 1e-3; });
    REQUIRE(released);
    CHECK(released->second == f.size());
    std::filesystem::remove_all(dir);
}

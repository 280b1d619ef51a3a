// The null backend (a clock-paced thread, no device) and `chronus serve` on it: the real callback
// path, recording, --seconds, SIGINT and /engine/quit.
#include "runtime/backend.h"
#include "runtime/recorder.h"
#include "runtime/wav_file.h"
#include "tests/support/signal_measure.h"
#include "tests/test_engine_harness.h"

#include <chrono>
#include <thread>

using namespace chronus;
using namespace chronus::test;

namespace {

const std::string kTest1 = std::string(CHRONUS_SOURCE_DIR) + "/examples/test1_single_osc.patch";

void checkTone(const std::string& wavPath, double minSeconds) {
    auto wav = readWav(wavPath);
    REQUIRE(wav.ok());
    CHECK(wav->channels == 1);
    CHECK(wav->sampleRate == 48000);
    INFO(wav->samples.size() << " samples");
    REQUIRE(double(wav->samples.size()) >= minSeconds * 48000);
    // The commit lands within the first blocks; look past them.
    std::vector<float> mid(wav->samples.end() - 9600, wav->samples.end() - 4800);
    CHECK(peakFrequency(mid, 48000, 300, 1000) == Approx(440).margin(1));
    CHECK(rms(mid) == Approx(0.2 / std::sqrt(2.0)).epsilon(0.02));
}

} // namespace

TEST_CASE("the null backend runs the callback on its clock and records it", "[backend][null]") {
    EngineOptions o;
    o.factory = interpreterFactory();
    auto e = Engine::create(o);
    REQUIRE(e.ok());
    const std::string wav = tempPath("null", ".wav");
    auto recorder = Recorder::create(wav, o.sampleRate);
    REQUIRE(recorder.ok());
    BackendOptions bo;
    bo.recorder = recorder->get();
    auto backend = makeNullBackend(**e, bo);
    CHECK_THAT(backend->describe(), Catch::Contains("null"));
    REQUIRE(backend->start().ok());
    REQUIRE((*e)->create("osc1", "simple_sine").ok());
    CommitReport r;
    REQUIRE((*e)->waitForCommit((*e)->commit([&](const CommitReport& c) { r = c; }), 30'000));
    REQUIRE(r.ok);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    backend->stop();
    REQUIRE((*recorder)->finish().ok());
    const EngineStatus s = (*e)->status();
    CHECK(s.callbacks > 10);
    CHECK(s.samplePosition == s.callbacks * 256);
    CHECK(s.activeSeq == 1);
    CHECK(s.loadMax > 0);
    CHECK((*recorder)->droppedFrames() == 0);
    CHECK((*recorder)->writtenFrames() == s.samplePosition);
    checkTone(wav, 0.2);
    std::remove(wav.c_str());
}

TEST_CASE("serve --device null --seconds plays the patch and records it",
          "[backend][null][serve]") {
    const std::string wav = tempPath("serve_null", ".wav"), log = tempPath("serve_null", ".log");
    pid_t pid = spawnProcess({CHRONUS_BINARY, "serve", "--device", "null", "--patch", kTest1,
                              "--seconds", "1", "--record", wav, "--no-osc"},
                             log);
    REQUIRE(pid > 0);
    const int rc = waitExit(pid, 60);
    INFO(readText(log));
    REQUIRE(rc == 0);
    CHECK_THAT(readText(log), Catch::Contains("1 commits, 0 failed"));
    checkTone(wav, 0.3); // wall-clock seconds: a loaded machine may drop blocks (counted as xruns)
    std::remove(wav.c_str());
    std::remove(log.c_str());
}

TEST_CASE("serve stops cleanly on SIGINT and finalises the recording", "[backend][null][serve]") {
    const std::string wav = tempPath("serve_sigint", ".wav"),
                      log = tempPath("serve_sigint", ".log");
    pid_t pid = spawnProcess({CHRONUS_BINARY, "serve", "--device", "null", "--patch", kTest1,
                              "--record", wav, "--no-osc"},
                             log);
    REQUIRE(pid > 0);
    // Wait until it is running (its start line), then interrupt it.
    for (int i = 0; i < 3000 && readText(log).find("Ctrl-C") == std::string::npos; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    kill(pid, SIGINT);
    const int rc = waitExit(pid, 60);
    INFO(readText(log));
    REQUIRE(rc == 0);
    checkTone(wav, 0.3);
    std::remove(wav.c_str());
    std::remove(log.c_str());
}

TEST_CASE("serve quits on /engine/quit over OSC", "[backend][null][serve][osc]") {
    if (std::system("command -v oscsend >/dev/null 2>&1") != 0) {
        WARN("oscsend (liblo-tools) is not installed: skipped");
        return;
    }
    const int port = 40000 + getpid() % 20000;
    const std::string log = tempPath("serve_osc", ".log");
    pid_t pid = spawnProcess({CHRONUS_BINARY, "serve", "--device", "null", "--port",
                              std::to_string(port), "--seconds", "60"},
                             log);
    REQUIRE(pid > 0);
    for (int i = 0; i < 3000 && readText(log).find("OSC on") == std::string::npos; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    INFO(readText(log));
    REQUIRE(std::system(fmt::format("oscsend 127.0.0.1 {} /engine/quit", port).c_str()) == 0);
    const int rc = waitExit(pid, 30);
    INFO(readText(log));
    CHECK(rc == 0);
    std::remove(log.c_str());
}

TEST_CASE("serve refuses a device that does not exist", "[backend][serve][errors]") {
    const std::string log = tempPath("serve_bad", ".log");
    pid_t pid = spawnProcess(
        {CHRONUS_BINARY, "serve", "--device", "no-such-device-xyz", "--no-osc", "--seconds", "1"},
        log);
    REQUIRE(pid > 0);
    CHECK(waitExit(pid, 60) == 1);
    CHECK_THAT(readText(log),
               Catch::Contains("no audio output device matches 'no-such-device-xyz'"));
    std::remove(log.c_str());
}

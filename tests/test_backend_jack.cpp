// `chronus serve` through PortAudio's JACK host API on a JACK server with the dummy driver (real
// callbacks, no sound card), started here; skipped with a message when jackd cannot start.
#include "runtime/wav_file.h"
#include "tests/support/signal_measure.h"
#include "tests/test_engine_harness.h"
#include "tests/test_jack_server.h"

#include <chrono>
#include <thread>

using namespace chronus;
using namespace chronus::test;

TEST_CASE("serve plays through PortAudio on a JACK dummy server and records 440 Hz",
          "[backend][jack][serve]") {
    JackServer jack;
    if (!jack.ready()) {
        WARN("skipped: " << jack.why());
        return;
    }
    const std::string wav = tempPath("jack", ".wav"), log = tempPath("serve_jack", ".log");
    pid_t pid = spawnProcess({CHRONUS_BINARY, "serve", "--device", "jack", "--patch",
                              std::string(CHRONUS_SOURCE_DIR) + "/examples/test1_single_osc.patch",
                              "--seconds", "2", "--record", wav, "--no-osc"},
                             log);
    REQUIRE(pid > 0);
    const int rc = waitExit(pid, 60);
    const std::string out = readText(log);
    INFO(out);
    REQUIRE(rc == 0);
    CHECK_THAT(out, Catch::Contains("JACK"));
    CHECK_THAT(out, Catch::Contains("1 commits, 0 failed"));
    auto audio = readWav(wav);
    REQUIRE(audio.ok());
    // JACK's dummy clock decides how much that is (a loaded machine may skip cycles).
    REQUIRE(audio->samples.size() > size_t(0.7 * 48000));
    std::vector<float> mid(audio->samples.begin() + 24000, audio->samples.begin() + 28800);
    CHECK(peakFrequency(mid, 48000, 300, 1000) == Approx(440).margin(1));
    CHECK(rms(mid) == Approx(0.2 / std::sqrt(2.0)).epsilon(0.02));
    std::remove(wav.c_str());
    std::remove(log.c_str());
}

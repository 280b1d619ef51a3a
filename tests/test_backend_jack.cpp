// `chronus serve` through PortAudio's JACK host API on a JACK server with the dummy driver (real
// callbacks, no sound card), started here; skipped with a message when jackd cannot start.
#include "signal_measure.h"
#include "test_engine_harness.h"
#include "wav_file.h"

#include <chrono>
#include <thread>

using namespace chronus;
using namespace chronus::test;

namespace {

/// A private JACK server (its own name, so parallel runs never meet), stopped on scope exit.
class JackServer {
public:
    JackServer()
        : name_(fmt::format("chronus-test-{}", getpid())), log_(tempPath("jackd", ".log")) {
        if (std::system("command -v jackd >/dev/null 2>&1") != 0) {
            why_ = "jackd is not installed";
            return;
        }
        setenv("JACK_NO_AUDIO_RESERVATION", "1", 1);
        setenv("JACK_DEFAULT_SERVER", name_.c_str(), 1); // inherited by chronus serve
        pid_ = spawnProcess(
            {"jackd", "-n", name_, "--no-realtime", "-d", "dummy", "-r", "48000", "-p", "256"},
            log_);
        if (pid_ <= 0) {
            why_ = "jackd could not be spawned";
            return;
        }
        const bool haveWait = std::system("command -v jack_wait >/dev/null 2>&1") == 0;
        for (int i = 0; i < 50; ++i) {
            int status = 0;
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                why_ = "jackd exited at once: " + readText(log_);
                return;
            }
            if (haveWait
                    ? std::system(
                          fmt::format("jack_wait -s {} -c 2>/dev/null | grep -qx running", name_)
                              .c_str()) == 0
                    : i == 20) {
                ready_ = true;
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        why_ = "jackd did not come up within 5 s: " + readText(log_);
    }
    ~JackServer() {
        if (pid_ > 0) {
            kill(pid_, SIGTERM);
            if (waitExit(pid_, 10) < 0) kill(pid_, SIGKILL);
        }
        unsetenv("JACK_DEFAULT_SERVER");
        std::remove(log_.c_str());
    }
    bool ready() const { return ready_; }
    const std::string& why() const { return why_; }

private:
    std::string name_, log_, why_;
    pid_t pid_ = -1;
    bool ready_ = false;
};

} // namespace

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

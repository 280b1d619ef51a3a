// A private JACK server with the dummy driver (real callbacks, no sound card) for tests that play
// through PortAudio's JACK host API; its own name, so parallel runs never meet. Stopped (by its
// pid) on scope exit. `ready()` is false, with the reason in `why()`, when jackd cannot start:
// tests then skip with a message.
#pragma once

#include "tests/test_engine_harness.h"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fmt/format.h>
#include <string>
#include <thread>

namespace chronus::test {

class JackServer {
public:
    explicit JackServer(int periodFrames = 256, int rate = 48000)
        : name_(fmt::format("chronus-test-{}-{}", getpid(), periodFrames)),
          log_(tempPath(fmt::format("jackd_{}", periodFrames), ".log")) {
        if (std::system("command -v jackd >/dev/null 2>&1") != 0) {
            why_ = "jackd is not installed";
            return;
        }
        setenv("JACK_NO_AUDIO_RESERVATION", "1", 1);
        setenv("JACK_DEFAULT_SERVER", name_.c_str(), 1); // inherited by chronus
        pid_ = spawnProcess({"jackd", "-n", name_, "--no-realtime", "-d", "dummy", "-r",
                             std::to_string(rate), "-p", std::to_string(periodFrames)},
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
    JackServer(const JackServer&) = delete;
    JackServer& operator=(const JackServer&) = delete;

    bool ready() const { return ready_; }
    const std::string& why() const { return why_; }
    const std::string& name() const { return name_; }

private:
    std::string name_, log_, why_;
    pid_t pid_ = -1;
    bool ready_ = false;
};

} // namespace chronus::test

// Audio in, live: `chronus serve` opens the device's input when its patch has an `input` module
// (PortAudio's JACK host API on a private JACK server with the dummy driver; a tone from a JACK
// client of the test's own goes in, what serve plays comes back to that client and into serve's
// --record); and a commit needing more channels or inputs than the stream serve opened is told so,
// with the option that opens them (the stream is not reopened: decided in runtime/engine.cpp).
#include "runtime/wav_file.h"
#include "tests/support/cli_process.h"
#include "tests/support/signal_measure.h"
#include "tests/test_engine_harness.h"
#include "tests/test_jack_server.h"

#include <atomic>
#include <cmath>
#include <csignal>
#include <fstream>
#include <jack/jack.h>
#include <memory>
#include <thread>

using namespace chronus;
using namespace chronus::test;

namespace {

/// A JACK client with an output port playing a sine and an input port it records (up to a
/// fixed length, allocation-free in its callback).
class JackToneLoop {
public:
    JackToneLoop(const std::string& name, double hz) : hz_(hz), captured_(kCapacity) {
        jack_status_t status{};
        client_ = jack_client_open(name.c_str(), JackNoStartServer, &status);
        if (client_ == nullptr) return;
        rate_ = double(jack_get_sample_rate(client_));
        out_ = jack_port_register(client_, "out", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
        in_ = jack_port_register(client_, "in", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
        if (out_ == nullptr || in_ == nullptr ||
            jack_set_process_callback(client_, process, this) != 0 || jack_activate(client_) != 0)
            return;
        ok_ = true;
    }
    ~JackToneLoop() {
        if (client_ != nullptr) {
            jack_deactivate(client_);
            jack_client_close(client_);
        }
    }
    JackToneLoop(const JackToneLoop&) = delete;
    JackToneLoop& operator=(const JackToneLoop&) = delete;

    bool ok() const { return ok_; }
    double rate() const { return rate_; }

    /// Connects our output to every audio input and every audio output to our input, of clients
    /// other than ours and the server's own ("system"). False while there are none (serve has not
    /// opened its stream yet).
    bool connectTo() {
        const std::string mine = std::string(jack_get_client_name(client_)) + ":";
        bool in = false, out = false;
        auto each = [&](unsigned long flags, auto f) {
            const char** ports = jack_get_ports(client_, nullptr, JACK_DEFAULT_AUDIO_TYPE, flags);
            for (const char** p = ports; p != nullptr && *p != nullptr; ++p) {
                const std::string port = *p;
                if (port.starts_with("system:") || port.starts_with(mine)) continue;
                f(port);
            }
            if (ports != nullptr) jack_free(ports);
        };
        each(JackPortIsInput, [&](const std::string& p) {
            const int rc = jack_connect(client_, jack_port_name(out_), p.c_str());
            in = in || rc == 0 || rc == EEXIST;
        });
        each(JackPortIsOutput, [&](const std::string& p) {
            const int rc = jack_connect(client_, p.c_str(), jack_port_name(in_));
            out = out || rc == 0 || rc == EEXIST;
        });
        if (in && out) connected_.store(true, std::memory_order_release);
        return in && out;
    }
    /// Samples recorded since connectTo() succeeded.
    std::size_t recorded() const { return count_.load(std::memory_order_acquire); }
    std::vector<float> take() const {
        return std::vector<float>(captured_.begin(),
                                  captured_.begin() + std::ptrdiff_t(recorded()));
    }

    static constexpr std::size_t kCapacity = 48000;

private:
    static int process(jack_nframes_t n, void* arg) {
        auto* self = static_cast<JackToneLoop*>(arg);
        auto* out = static_cast<float*>(jack_port_get_buffer(self->out_, n));
        const auto* in = static_cast<const float*>(jack_port_get_buffer(self->in_, n));
        const double step = 2 * M_PI * self->hz_ / self->rate_;
        for (jack_nframes_t i = 0; i < n; ++i) {
            out[i] = float(0.5 * std::sin(self->phase_));
            self->phase_ = std::fmod(self->phase_ + step, 2 * M_PI);
        }
        if (!self->connected_.load(std::memory_order_acquire)) return 0;
        std::size_t c = self->count_.load(std::memory_order_relaxed);
        for (jack_nframes_t i = 0; i < n && c < kCapacity; ++i) self->captured_[c++] = in[i];
        self->count_.store(c, std::memory_order_release);
        return 0;
    }

    double hz_, rate_ = 48000, phase_ = 0;
    jack_client_t* client_ = nullptr;
    jack_port_t* out_ = nullptr;
    jack_port_t* in_ = nullptr;
    bool ok_ = false;
    std::atomic<bool> connected_{false};
    std::vector<float> captured_;
    std::atomic<std::size_t> count_{0};
};

std::string writePatch(const std::string& stem, const std::string& text) {
    const std::string path = tempPath(stem, ".patch");
    std::ofstream(path) << text;
    return path;
}

} // namespace

TEST_CASE("serve opens the device's input for a patch with an input module and plays it",
          "[backend][jack][serve][input]") {
    JackServer jack;
    if (!jack.ready()) {
        WARN("skipped: " << jack.why());
        return;
    }
    JackToneLoop tone("chronus-test-tone", 330.0);
    REQUIRE(tone.ok());
    // Input 1 through a gain of 0.5 to the output: the 0.5 tone comes back at 0.25.
    const std::string patch = writePatch("serve_input", "/patch/create mic input 1\n"
                                                        "/patch/create g gain\n"
                                                        "/mod/g/level 0.5\n"
                                                        "/patch/connect mic g\n"
                                                        "/patch/commit\n");
    const std::string wav = tempPath("serve_input", ".wav"), log = tempPath("serve_input", ".log");
    pid_t pid = spawnProcess({CHRONUS_BINARY, "serve", "--device", "jack", "--patch", patch,
                              "--record", wav, "--no-osc"},
                             log);
    REQUIRE(pid > 0);
    // Serve's ports appear once its stream is open; what it plays comes back to us.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    bool connected = false;
    while (!(connected = tone.connectTo()) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    // Once the tone reaches serve and comes back: a full capture buffer (1 s at 48 kHz).
    while (connected && tone.recorded() < JackToneLoop::kCapacity &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    kill(pid, SIGINT);
    const int rc = waitExit(pid, 60);
    const std::string out = readText(log);
    INFO(out);
    REQUIRE(connected);
    REQUIRE(rc == 0);
    const auto back = tone.take();
    REQUIRE(back.size() == JackToneLoop::kCapacity);
    // The second half of what came back: 330 Hz, the tone's 0.5 through the gain's 0.5 on each
    // of serve's two channels (a mono patch plays on every device channel), summed at our input.
    // (Within 5 Hz: on a loaded machine a cycle serve missed is a jump in the tone's phase,
    // which smears its peak; which tone came back is what this checks, not a frequency.)
    const std::vector<float> late(back.begin() + 24000, back.end());
    CHECK(peakFrequency(late, tone.rate(), 200, 500) == Approx(330).margin(5));
    CHECK(rms(late) == Approx(2 * 0.25 / std::sqrt(2.0)).epsilon(0.05));
    // The recording holds it too, at its end.
    auto rec = readWav(wav);
    REQUIRE(rec.ok());
    REQUIRE(rec->samples.size() > 16384);
    const std::vector<float> tail(rec->samples.end() - 16384, rec->samples.end());
    CHECK(peakFrequency(tail, tone.rate(), 200, 500) == Approx(330).margin(5));
    CHECK(rms(tail) > 0.1);
    std::remove(wav.c_str());
    std::remove(log.c_str());
    std::remove(patch.c_str());
}

TEST_CASE("a commit needing more channels or inputs than serve's stream has says how to get them",
          "[serve][input]") {
    // Mono, then (at 0.2 s) an output on channels 3 and 4 and an input on channel 2: the null
    // device was opened with two channels and no input.
    const std::string patch = writePatch("serve_short", "/patch/create s simple_sine\n"
                                                        "/patch/commit\n"
                                                        "@0.2 /patch/create rear output 3\n"
                                                        "@0.2 /patch/connect s rear\n"
                                                        "@0.2 /patch/create mic input 2\n"
                                                        "@0.2 /patch/commit\n");
    const Run served = run({CHRONUS_BINARY, "serve", "--device", "null", "--channels", "2",
                            "--patch", patch, "--seconds", "0.6", "--no-osc"},
                           tempPath("serve_short", ".log"));
    const std::string& out = served.output;
    INFO(out);
    REQUIRE(served.rc == 0);
    CHECK_THAT(out, Catch::Contains("commit 2 plays, but the patch has 4 output channels and the "
                                    "device stream 2"));
    CHECK_THAT(out, Catch::Contains("restart serve with --channels 4"));
    CHECK_THAT(out, Catch::Contains("the patch reads input 2 and the device stream has 0 inputs"));
    CHECK_THAT(out, Catch::Contains("restart serve with --inputs 2"));
    // The first commit fits the stream: nothing said.
    CHECK_THAT(out, !Catch::Contains("commit 1 plays, but"));
    std::remove(patch.c_str());
}

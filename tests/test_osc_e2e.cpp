// End to end: `chronus serve --device null --record OUT.wav` driven over UDP as a user would, with
// `oscsend` (liblo-tools) and with a liblo client; then the recording is checked: 440 Hz where the
// oscillator plays, an ADSR's shape where the envelope is added, attenuation where the filter is.
#include "runtime/wav_file.h"
#include "tests/support/signal_measure.h"
#include "tests/test_osc_client.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <netinet/in.h>
#include <signal.h>
#include <sstream>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace chronus;
using chronus::test::freeUdpPort;
using chronus::test::OscClient;
using chronus::test::OscReply;

namespace {

constexpr double kRate = 48000;

/// `chronus serve` as a child process, its output in a log file.
class ServeProcess {
public:
    ServeProcess(const std::vector<std::string>& args, const std::string& log) {
        pid_ = ::fork();
        if (pid_ == 0) {
            int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            ::dup2(fd, 1);
            ::dup2(fd, 2);
            std::vector<char*> argv;
            for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
    }
    ~ServeProcess() {
        if (pid_ > 0 && !exited_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    /// The exit status, or -1 if it is still running after `seconds`.
    int wait(double seconds) {
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                exited_ = true;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return -1;
    }

private:
    pid_t pid_ = -1;
    bool exited_ = false;
};

std::string readFile(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

/// Runs `oscsend 127.0.0.1 PORT ADDRESS [TYPES ARGS...]`, as a user types it.
void oscsend(int port, const std::string& rest) {
    const std::string cmd = fmt::format("oscsend 127.0.0.1 {} {}", port, rest);
    INFO(cmd);
    REQUIRE(std::system(cmd.c_str()) == 0);
}

struct ServeStatus {
    uint64_t activeSeq = 0;
    uint64_t position = 0;
};

ServeStatus status(OscClient& client) {
    client.send("/engine/status");
    auto r = client.waitFor("/engine/status", 5);
    REQUIRE(r);
    REQUIRE(r->field("sample_position") >= 0);
    return {static_cast<uint64_t>(r->field("active_seq")),
            static_cast<uint64_t>(r->field("sample_position"))};
}

/// Waits until the engine plays commit `seq` (oscsend cannot read the reply).
ServeStatus waitForSeq(OscClient& client, uint64_t seq) {
    for (int i = 0; i < 200; ++i) {
        ServeStatus s = status(client);
        if (s.activeSeq >= seq) return s;
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    FAIL("commit " << seq << " never became active");
    return {};
}

std::vector<float> slice(const std::vector<float>& x, double fromS, double toS) {
    const auto a = std::min(x.size(), static_cast<size_t>(fromS * kRate));
    const auto b = std::min(x.size(), static_cast<size_t>(toS * kRate));
    return {x.begin() + static_cast<long>(a), x.begin() + static_cast<long>(b)};
}

float peakAbs(const std::vector<float>& x) {
    float p = 0;
    for (float v : x) p = std::max(p, std::fabs(v));
    return p;
}

} // namespace

TEST_CASE(
    "chronus serve over OSC: oscsend and liblo build, tune and inspect a patch while it plays",
    "[osc][e2e]") {
    REQUIRE(std::system("command -v oscsend >/dev/null") == 0); // liblo-tools (scripts/setup.sh)
    const auto dir =
        std::filesystem::temp_directory_path() / fmt::format("chronus-osc-e2e-{}", ::getpid());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const std::string wav = (dir / "out.wav").string();
    const std::string log = (dir / "serve.log").string();
    const int port = freeUdpPort();
    ServeProcess serve({CHRONUS_BINARY, "serve", "--device", "null", "--record", wav, "--seconds",
                        "10", "--port", std::to_string(port), "--ir-dir", dir.string()},
                       log);
    OscClient client(port);
    // Ready once it answers.
    std::optional<OscReply> ready;
    for (int i = 0; i < 100 && !ready; ++i) {
        client.send("/engine/status");
        ready = client.waitFor("/engine/status", 0.1);
    }
    INFO(readFile(log));
    REQUIRE(ready);
    // serve binds before its engine starts: the probes sent meanwhile waited in the socket and are
    // all answered; their late answers are not the replies the steps below wait for.
    client.drain(0.3);

    // Test 1 typed with oscsend: a 440 Hz oscillator. Then retuned to 880 Hz and back.
    oscsend(port, "/patch/create ss osc1 simple_sine");
    oscsend(port, "/patch/commit");
    const double t1 = double(waitForSeq(client, 1).position) / kRate;
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    oscsend(port, "/mod/osc1/freq f 880");
    const double t880 = double(status(client).position) / kRate;
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    oscsend(port, "/mod/osc1/freq i 440");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));

    // Test 2 with liblo: an envelope, replies checked.
    client.send("/patch/create", {"env1", "adsr"});
    REQUIRE(client.waitFor("/done"));
    client.send("/patch/connect", {"osc1", "env1"});
    REQUIRE(client.waitFor("/done"));
    client.send("/gate/env1", {1});
    client.send("/patch/commit");
    auto c2 = client.waitFor("/patch/committed", 10);
    REQUIRE(c2);
    CHECK(c2->num(0) == 2);
    const double t2 = double(status(client).position) / kRate;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    client.send("/gate/env1", {0});
    const double tOff = double(status(client).position) / kRate;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    client.send("/gate/env1", {1});
    const double tOn = double(status(client).position) / kRate;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));

    // Test 3: the filter, closed to 110 Hz before the commit.
    client.send("/patch/create", {"filt1", "biquad_filter"});
    REQUIRE(client.waitFor("/done"));
    client.send("/patch/connect", {"env1", "filt1"});
    REQUIRE(client.waitFor("/done"));
    oscsend(port, "/mod/filt1/cutoff f 110");
    client.send("/patch/commit");
    auto c3 = client.waitFor("/patch/committed", 10);
    REQUIRE(c3);
    const double t3 = double(status(client).position) / kRate;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));

    // An error reply, the dump, the IR path.
    client.send("/patch/create", {"x", "wobble"});
    auto err = client.waitFor("/error");
    REQUIRE(err);
    CHECK(err->str(0) == "/patch/create");
    CHECK_THAT(err->str(1), Catch::Contains("wobble"));
    client.send("/patch/dump");
    auto dump = client.waitFor("/patch/dump");
    REQUIRE(dump);
    CHECK(dump->num(0) == 0);
    CHECK(dump->num(1) == 1);
    CHECK_THAT(dump->str(2), Catch::Contains("/patch/connect env1:out filt1:in"));
    CHECK_THAT(dump->str(2), Catch::Contains("/mod/filt1/cutoff 110"));
    client.send("/patch/ir");
    std::vector<OscReply> irReplies = client.drain(3.0);
    REQUIRE(irReplies.size() == 1);
    if (irReplies[0].address == "/patch/ir") {
        CHECK(std::filesystem::path(irReplies[0].str(0)) == dir / "commit-3-optimized.ll");
        CHECK(std::filesystem::file_size(irReplies[0].str(0)) > 0);
    } else {
        CHECK(irReplies[0].address == "/error"); // an interpreter-only build has no IR
    }

    client.send("/engine/quit");
    REQUIRE(client.waitFor("/engine/quit"));
    REQUIRE(serve.wait(15) == 0);

    auto data = readWav(wav);
    REQUIRE(data);
    CHECK(data->sampleRate == 48000);
    const std::vector<float>& x = data->samples;
    INFO(fmt::format(
        "t1 {:.3f} t880 {:.3f} t2 {:.3f} off {:.3f} on {:.3f} t3 {:.3f}, {:.3f} s recorded", t1,
        t880, t2, tOff, tOn, t3, double(x.size()) / kRate));
    // 440 Hz after the first commit, then 880 Hz, both at the oscillator's 0.2 gain.
    auto tone = slice(x, t1 + 0.05, t1 + 0.45);
    CHECK(chronus::test::peakFrequency(tone, kRate, 100, 2000) == Approx(440).margin(1));
    CHECK(chronus::test::rms(tone) == Approx(0.2 / std::sqrt(2.0)).epsilon(0.05));
    auto high = slice(x, t880 + 0.1, t880 + 0.5);
    CHECK(chronus::test::peakFrequency(high, kRate, 100, 2000) == Approx(880).margin(1));
    // The envelope: sustain at 0.7, silence after the release, and a re-opened gate overshoots to
    // the full level (attack to 1) before decaying back to the sustain.
    auto sustain = slice(x, t2 + 0.1, t2 + 0.45);
    CHECK(chronus::test::peakFrequency(sustain, kRate, 100, 2000) == Approx(440).margin(1));
    CHECK(chronus::test::rms(sustain) == Approx(0.7 * 0.2 / std::sqrt(2.0)).epsilon(0.1));
    CHECK(chronus::test::rms(slice(x, tOff + 0.3, tOn - 0.02)) < 0.002);
    CHECK(peakAbs(slice(x, tOn - 0.05, tOn + 0.15)) > 0.18);
    CHECK(peakAbs(slice(x, tOn + 0.25, tOn + 0.45)) == Approx(0.7f * 0.2f).epsilon(0.05));
    // The filter at 110 Hz: the 440 Hz tone about 24 dB down.
    auto filtered = slice(x, t3 + 0.1, t3 + 0.45);
    CHECK(chronus::test::rms(filtered) < chronus::test::rms(sustain) / 8);
    CHECK(chronus::test::rms(filtered) > 0);
    std::filesystem::remove_all(dir);
}

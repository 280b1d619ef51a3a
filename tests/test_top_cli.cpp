// `chronus top` against a running `chronus serve`: into a pipe it prints one line per reading; on
// a terminal (tmux, a detached session of a private server) it draws its screen, and `q` or
// Ctrl-C quits it.
#include "tests/support/cli_process.h"
#include "tests/test_engine_harness.h"
#include "tests/test_osc_client.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fmt/format.h>

using namespace chronus::test;

namespace {

struct Server {
    int port = freeUdpPort();
    Child child{{CHRONUS_BINARY, "serve", "--device", "null", "--port", std::to_string(port)},
                tempPath(fmt::format("topserve{}", port), ".log")};
    Server() {
        // It binds before anything else; messages sent from then on wait for the engine.
        if (!child.waitForOutput("listening on", 30)) return;
        OscClient c(port);
        c.send("/patch/create", {"osc1", "saw"});
        c.send("/patch/commit");
        ok = c.waitFor("/patch/committed", 30).has_value();
    }
    ~Server() {
        OscClient c(port);
        c.send("/engine/quit");
        child.wait(10);
    }
    bool ok = false;
};

/// tmux on a socket of its own, so nothing here touches a user's sessions.
struct Tmux {
    std::string socket = fmt::format("chronus-top-test-{}", getpid());
    int cmd(const std::string& args, std::string* out = nullptr) const {
        const std::string log = tempPath("tmux", ".log");
        const int rc =
            std::system(fmt::format("tmux -L {} {} >{} 2>&1", socket, args, log).c_str());
        if (out) *out = fileText(log);
        std::remove(log.c_str());
        return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    }
    ~Tmux() { cmd("kill-server"); }
    /// Waits until the pane shows `text`, returning what it showed last.
    std::string waitForScreen(const std::string& text, double seconds) const {
        std::string screen;
        for (int i = 0; i < int(seconds * 20); ++i) {
            cmd("capture-pane -p -t top", &screen);
            if (screen.find(text) != std::string::npos) break;
            usleep(50'000);
        }
        return screen;
    }
    bool waitGone(double seconds) const {
        for (int i = 0; i < int(seconds * 20); ++i) {
            if (cmd("has-session -t top") != 0) return true;
            usleep(50'000);
        }
        return false;
    }
};

} // namespace

TEST_CASE("chronus top into a pipe prints a line per reading", "[top][cli]") {
    Server server;
    REQUIRE(server.ok);
    Run r = run({CHRONUS_BINARY, "top", "--port", std::to_string(server.port), "--count", "3",
                 "--interval", "0.1"},
                tempPath("top", ".log"), 30);
    INFO(r.output);
    CHECK(r.rc == 0);
    int lines = 0;
    for (std::size_t at = 0; (at = r.output.find("commit 1 ", at)) != std::string::npos; ++at)
        ++lines;
    CHECK(lines == 3);
    CHECK_THAT(r.output, Catch::Contains("load p50"));
    CHECK_THAT(r.output, Catch::Contains("xruns 0"));
}

TEST_CASE("chronus top with nobody listening says so and keeps trying", "[top][cli]") {
    const int nobody = freeUdpPort();
    Run r = run({CHRONUS_BINARY, "top", "--port", std::to_string(nobody), "--count", "2",
                 "--interval", "0.1"},
                tempPath("top", ".log"), 30);
    CHECK(r.rc == 0);
    CHECK_THAT(r.output, Catch::Contains(fmt::format("127.0.0.1:{}", nobody)));
}

TEST_CASE("chronus top on a terminal draws its screen and quits on q or Ctrl-C", "[top][cli]") {
    if (std::system("command -v tmux >/dev/null 2>&1") != 0) {
        WARN("skipped: tmux is not installed (scripts/setup.sh installs it)");
        return;
    }
    Server server;
    REQUIRE(server.ok);
    Tmux tmux;
    const std::string top = fmt::format("{} top --port {}", CHRONUS_BINARY, server.port);
    for (const char* key : {"q", "C-c"}) {
        INFO("quitting with " << key);
        REQUIRE(tmux.cmd(fmt::format("new-session -d -s top -x 120 -y 30 '{}'", top)) == 0);
        const std::string screen = tmux.waitForScreen("commit 1 playing", 20);
        INFO(screen);
        CHECK_THAT(screen, Catch::Contains("chronus top - 127.0.0.1:"));
        CHECK_THAT(screen, Catch::Contains("commit 1 playing"));
        CHECK_THAT(screen, Catch::Contains("load p99"));
        CHECK_THAT(screen, Catch::Contains("xruns"));
        REQUIRE(tmux.cmd(fmt::format("send-keys -t top {}", key)) == 0);
        CHECK(tmux.waitGone(10));
    }
}

// `chronus top`: a live view of a running server over OSC (what /engine/status gives), refreshed a
// few times a second. On a terminal it redraws one screen and quits on `q` or Ctrl-C; into a pipe
// it prints one line per refresh.
#include "cli/commands.h"
#include "osc/osc_client.h"
#include "osc/osc_server.h"
#include "osc/status_reply.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <deque>
#include <fmt/format.h>
#include <memory>
#include <optional>
#include <poll.h>
#include <string>
#include <termios.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace chronus::cli {

namespace {

using Clock = osc::OscClient::Clock;

struct TopArgs {
    std::string host = "127.0.0.1";
    int port = kDefaultOscPort;
    double interval = 0.25;
    uint64_t count = 0; ///< stop after this many refreshes (0: until q or Ctrl-C)
};

volatile std::sig_atomic_t gQuit = 0;
extern "C" void onTopSignal(int) {
    gQuit = 1;
}

/// The terminal in "read a key at a time, no echo" mode while top runs; restored on exit.
class KeyboardMode {
public:
    KeyboardMode() {
        if (::isatty(STDIN_FILENO) == 0 || ::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
        termios raw = saved_;
        raw.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO));
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        active_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
    ~KeyboardMode() {
        if (active_) (void)::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
    }
    KeyboardMode(const KeyboardMode&) = delete;
    KeyboardMode& operator=(const KeyboardMode&) = delete;

private:
    termios saved_{};
    bool active_ = false;
};

/// True if a `q` was typed (read without blocking; end of input is not a `q`).
bool quitKey() {
    pollfd p{STDIN_FILENO, POLLIN, 0};
    while (::poll(&p, 1, 0) > 0 && (p.revents & POLLIN) != 0) {
        char c = 0;
        if (::read(STDIN_FILENO, &c, 1) != 1) return false;
        if (c == 'q' || c == 'Q') return true;
    }
    return false;
}

/// A reading and when it was taken, for rates over the last second or so.
struct Sample {
    Clock::time_point at;
    EngineStatus status;
};

std::string bar(double fraction, int width) {
    const int filled = static_cast<int>(std::clamp(fraction, 0.0, 1.0) * width + 0.5);
    return std::string(static_cast<std::size_t>(filled), '#') +
           std::string(static_cast<std::size_t>(width - filled), '.');
}

/// What changed over the readings kept: per second.
double perSecond(const std::deque<Sample>& h, uint64_t EngineStatus::* field) {
    if (h.size() < 2) return 0;
    const double dt = std::chrono::duration<double>(h.back().at - h.front().at).count();
    if (dt <= 0) return 0;
    return double(h.back().status.*field - h.front().status.*field) / dt;
}

std::vector<std::string> screen(const std::string& server, const std::deque<Sample>& history,
                                const std::string& problem) {
    std::vector<std::string> lines;
    lines.push_back(fmt::format("chronus top - {}   (q quits)", server));
    if (history.empty()) {
        lines.push_back(problem.empty() ? "waiting for the server..." : problem);
        return lines;
    }
    const EngineStatus& s = history.back().status;
    const double rate = s.sampleRate > 0 ? s.sampleRate : 48000;
    lines.push_back(problem.empty() ? std::string() : "! " + problem);
    lines.push_back(fmt::format(
        "audio       {:.1f} s played, {:g} Hz, {} frames a block ({:.2f} ms)",
        double(s.samplePosition) / rate, s.sampleRate, s.frames, 1000.0 * s.frames / rate));
    lines.push_back(fmt::format("patch       commit {} playing; {} swapped in, {} failed "
                                "({:.1f} commits/s)",
                                s.activeSeq, s.commits, s.failures,
                                perSecond(history, &EngineStatus::commits)));
    lines.push_back(fmt::format("load p50    {} {:.3f}", bar(s.loadP50, 30), s.loadP50));
    lines.push_back(fmt::format("load p99    {} {:.3f}", bar(s.loadP99, 30), s.loadP99));
    lines.push_back(fmt::format("load max    {} {:.3f}   (callback time / block time)",
                                bar(s.loadMax, 30), s.loadMax));
    lines.push_back(fmt::format("xruns       {} ({:.1f}/s)   blocks the engine did not have ready "
                                "in time",
                                s.xruns, perSecond(history, &EngineStatus::xruns)));
    lines.push_back(fmt::format("overruns    {} ({:.1f}/s)   callbacks longer than their block",
                                s.overruns, perSecond(history, &EngineStatus::overruns)));
    lines.push_back(fmt::format("callbacks   {} ({:.0f}/s)", s.callbacks,
                                perSecond(history, &EngineStatus::callbacks)));
    return lines;
}

std::string line(const std::deque<Sample>& history, const std::string& problem) {
    if (history.empty()) return problem.empty() ? "waiting for the server" : problem;
    const EngineStatus& s = history.back().status;
    const double rate = s.sampleRate > 0 ? s.sampleRate : 48000;
    return fmt::format("t {:.1f} s  commit {}  commits {} failed {}  xruns {} overruns {}  load "
                       "p50 {:.3f} p99 {:.3f} max {:.3f}{}",
                       double(s.samplePosition) / rate, s.activeSeq, s.commits, s.failures, s.xruns,
                       s.overruns, s.loadP50, s.loadP99, s.loadMax,
                       problem.empty() ? "" : "  ! " + problem);
}

int runTop(const TopArgs& a) {
    auto client = osc::OscClient::connect(a.host, a.port);
    if (!client) {
        fmt::print(stderr, "chronus top: {}\n", client.error().message);
        return 2;
    }
    const bool terminal = ::isatty(STDOUT_FILENO) != 0;
    KeyboardMode keyboard;
    gQuit = 0;
    std::signal(SIGINT, onTopSignal);
    std::signal(SIGTERM, onTopSignal);
    if (terminal) fmt::print("\x1b[?1049h\x1b[?25l"); // the alternate screen, no cursor
    std::deque<Sample> history;
    std::string problem;
    const auto period =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(a.interval));
    auto next = Clock::now();
    for (uint64_t frame = 0; gQuit == 0 && (a.count == 0 || frame < a.count); ++frame) {
        // One reading a period: ask, and take the answer that comes before the next one is due.
        (void)client->send("/engine/status");
        next += period;
        problem.clear();
        bool answered = false;
        while (!answered && gQuit == 0) {
            osc::OscMessage m;
            std::string error;
            const auto got = client->receive(next, m, error);
            if (got == osc::OscClient::Received::timeout) break;
            if (got == osc::OscClient::Received::refused) {
                problem = fmt::format("nothing listens at {} (is `chronus serve` running?)",
                                      client->server());
                std::this_thread::sleep_until(next);
                break;
            }
            if (got != osc::OscClient::Received::message || m.address != "/engine/status") continue;
            auto st = osc::decodeStatus(m);
            if (!st) {
                problem = st.error().message;
                continue;
            }
            history.push_back({Clock::now(), *st});
            while (history.size() > 2 &&
                   history.back().at - history.front().at > std::chrono::seconds(2))
                history.pop_front();
            answered = true;
        }
        if (!answered && problem.empty())
            problem = fmt::format("the server at {} did not answer", client->server());
        if (terminal) {
            std::string out = "\x1b[H";
            for (const std::string& l : screen(client->server(), history, problem))
                out += l + "\x1b[K\n";
            out += "\x1b[J";
            fmt::print("{}", out);
        } else {
            fmt::print("{}\n", line(history, problem));
        }
        std::fflush(stdout);
        if (quitKey()) break;
        std::this_thread::sleep_until(next);
        if (quitKey()) break;
    }
    if (terminal) fmt::print("\x1b[?25h\x1b[?1049l");
    std::fflush(stdout);
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    return 0;
}

} // namespace

void addTopCommand(CLI::App& app) {
    auto args = std::make_shared<TopArgs>();
    auto* cmd = app.add_subcommand(
        "top", "Watch a running server: callback load, xruns, commits, failures (q quits)");
    addServerAddressOptions(*cmd, args->host, args->port);
    cmd->add_option("--interval", args->interval, "seconds between readings")
        ->check(CLI::Range(0.05, 60.0))
        ->capture_default_str();
    cmd->add_option("-n,--count", args->count, "stop after this many readings (0: until q)")
        ->capture_default_str();
    cmd->callback([args] {
        if (int rc = runTop(*args); rc != 0) throw CLI::RuntimeError(rc);
    });
}

} // namespace chronus::cli

// `chronus send ADDRESS [ARGS...]` and `chronus send --file PATCH`: an OSC client of `chronus
// serve`. It waits for the server to answer (so it can be run straight after starting `serve`),
// sends, prints every reply, and waits until the server has answered everything it sent (a commit:
// its /patch/committed or /patch/failed). Exit status 0; 1 if the server refused something
// (/error, /patch/failed) or the file is bad; 2 if the server did not answer in time.
#include "cli/commands.h"
#include "cli/reply_text.h"
#include "osc/command_message.h"
#include "osc/osc_client.h"
#include "osc/osc_server.h"
#include "runtime/patch_player.h"

#include <cstdio>
#include <fmt/format.h>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace chronus::cli {

namespace {

using Clock = osc::OscClient::Clock;

constexpr int kExitRefused = 1;
constexpr int kExitNoAnswer = 2;

struct SendArgs {
    std::string file;
    std::string host = "127.0.0.1";
    int port = kDefaultOscPort;
    double timeout = 5;
    bool quiet = false;
};

Clock::time_point after(double seconds) {
    return Clock::now() +
           std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

/// The replies: prints each as it arrives and keeps count of what the server still owes.
class Replies {
public:
    Replies(osc::OscClient& client, bool quiet) : client_(client), quiet_(quiet) {}

    /// A message to `address` was sent: what completes it beyond the barrier (commits and IR
    /// dumps reply from other threads of the server, so after a later /engine/status).
    void sent(const std::string& address) {
        if (address == "/patch/commit") ++commits_;
        if (address == "/patch/ir") ++irs_;
        if (address == "/patch/dump") ++dumps_;
        if (address == "/engine/status") ++statuses_;
        if (address == "/engine/quit") quit_ = true;
    }
    /// The barrier was sent: the server handles one datagram after another, so its reply comes
    /// after the reply (or silence) of everything sent before it.
    void sentBarrier() { barrier_ = true; }

    /// Reads replies until nothing is owed; false if `deadline` came first or the server went.
    bool settle(Clock::time_point deadline) {
        while (owed()) {
            if (!readOne(deadline)) return false;
        }
        return true;
    }
    /// Reads whatever arrives until `deadline`.
    void pump(Clock::time_point deadline) {
        while (!gone_ && readOne(deadline)) {
        }
    }

    bool refused() const { return refused_; }
    bool gone() const { return gone_; }
    /// "1 commit outcome, the barrier": what is still owed, for the timeout message.
    std::string owedText() const {
        std::vector<std::string> parts;
        if (commits_ > 0) parts.push_back(fmt::format("{} commit outcome(s)", commits_));
        if (irs_ > 0) parts.push_back(fmt::format("{} /patch/ir path(s)", irs_));
        if (dumps_ > 0) parts.push_back(fmt::format("{} /patch/dump(s)", dumps_));
        if (statuses_ > 0) parts.push_back(fmt::format("{} /engine/status", statuses_));
        if (quit_) parts.push_back("the /engine/quit reply");
        if (barrier_) parts.push_back("the answer to the messages sent");
        return fmt::format("{}", fmt::join(parts, ", "));
    }

private:
    bool owed() const { return commits_ + irs_ + dumps_ + statuses_ > 0 || quit_ || barrier_; }

    bool readOne(Clock::time_point deadline) {
        osc::OscMessage m;
        std::string error;
        switch (client_.receive(deadline, m, error)) {
        case osc::OscClient::Received::timeout:
            return false;
        case osc::OscClient::Received::refused:
            fmt::print(stderr, "chronus send: the server at {} stopped listening\n",
                       client_.server());
            gone_ = true;
            return false;
        case osc::OscClient::Received::garbage:
            fmt::print(stderr, "chronus send: an unreadable reply: {}\n", error);
            return true;
        case osc::OscClient::Received::message:
            handle(m);
            return true;
        }
        return false;
    }

    void print(const osc::OscMessage& m, bool always) {
        if (isFailure(m)) {
            fmt::print(stderr, "{}\n", replyText(m));
        } else if (always || !quiet_) {
            fmt::print("{}\n", replyText(m));
            std::fflush(stdout);
        }
    }

    void handle(const osc::OscMessage& m) {
        if (m.address == "/error") {
            refused_ = true;
            print(m, true);
            const std::string about = m.string(0).value_or("");
            if (about == "/patch/commit" && commits_ > 0) --commits_;
            if (about == "/patch/ir" && irs_ > 0) --irs_;
            if (about == "/patch/dump" && dumps_ > 0) --dumps_;
            if (about == "/engine/status" && statuses_ > 0) --statuses_;
            return;
        }
        if (m.address == "/patch/committed" || m.address == "/patch/failed") {
            if (m.address == "/patch/failed") refused_ = true;
            if (commits_ > 0) --commits_;
            print(m, true);
            return;
        }
        if (m.address == "/engine/status") {
            // The user's queries were sent before the barrier, so theirs come first.
            if (statuses_ > 0) {
                --statuses_;
                print(m, true);
            } else {
                barrier_ = false;
            }
            return;
        }
        if (m.address == "/patch/dump" && m.args.size() == 3) {
            dump_ += m.string(2).value_or("");
            if (m.number(0).value_or(0) + 1 >= m.number(1).value_or(1)) {
                fmt::print("{}", dump_);
                std::fflush(stdout);
                dump_.clear();
                if (dumps_ > 0) --dumps_;
            }
            return;
        }
        if (m.address == "/patch/ir" && irs_ > 0) --irs_;
        if (m.address == "/engine/quit") quit_ = false;
        print(m, m.address != "/done");
    }

    osc::OscClient& client_;
    bool quiet_;
    int commits_ = 0, irs_ = 0, dumps_ = 0, statuses_ = 0;
    bool quit_ = false, barrier_ = false;
    bool refused_ = false, gone_ = false;
    std::string dump_;
};

/// Sends the barrier unless the server was told to quit, waits for everything owed, and turns
/// the outcome into the exit status.
int finish(osc::OscClient& client, Replies& replies, bool quitting, double timeout) {
    if (!quitting) {
        if (Status s = client.send("/engine/status"); !s) {
            fmt::print(stderr, "chronus send: {}\n", s.message());
            return kExitNoAnswer;
        }
        replies.sentBarrier();
    }
    if (!replies.settle(after(timeout))) {
        if (!replies.gone())
            fmt::print(stderr,
                       "chronus send: the server at {} did not answer within {:g} s (still "
                       "owed: {}); a long compile may need --timeout\n",
                       client.server(), timeout, replies.owedText());
        return kExitNoAnswer;
    }
    return replies.refused() ? kExitRefused : 0;
}

/// The words of one message, typed as a patch-file line types them (patch_file.h): a word that
/// reads as a number is a float, any other a string.
Expected<PatchLine> messageFromWords(const std::vector<std::string>& words) {
    std::string text;
    for (const std::string& w : words) {
        if (w.empty() || w.find_first_of(" \t\r\n#") != std::string::npos)
            return makeError("'{}' cannot be one word of a message (no spaces or '#', as in a "
                             "patch file)",
                             w);
        text += w + ' ';
    }
    auto lines = parsePatchText(text);
    if (!lines)
        return makeError("{}", lines.error().message.substr(std::string("line 1: ").size()));
    if (lines->size() != 1)
        return makeError("no message to send: give an address, e.g. /patch/commit");
    PatchLine line = std::move(lines->front());
    if (line.time) return makeError("a time (@t) is for patch files: use --file");
    return line;
}

int sendOne(osc::OscClient& client, const std::vector<std::string>& words, const SendArgs& a) {
    auto line = messageFromWords(words);
    if (!line) {
        fmt::print(stderr, "chronus send: {}\n", line.error().message);
        return kExitRefused;
    }
    if (auto up = client.waitForServer(a.timeout); !up) {
        fmt::print(stderr, "chronus send: {}\n", up.error().message);
        return kExitNoAnswer;
    }
    std::vector<osc::OscValue> args;
    for (const PatchArg& p : line->args) args.push_back(osc::oscValue(p));
    Replies replies(client, a.quiet);
    if (Status s = client.send(line->address, args); !s) {
        fmt::print(stderr, "chronus send: {}\n", s.message());
        return kExitNoAnswer;
    }
    replies.sent(line->address);
    return finish(client, replies, line->address == "/engine/quit", a.timeout);
}

/// The player's live clock, over OSC: lines due now go as messages, parameter and gate lines
/// within the player's lookahead as bundles stamped with their time (the server lands them on
/// their exact sample, as any timed bundle), commits as /patch/commit.
class OscTarget final : public PatchTarget {
public:
    OscTarget(osc::OscClient& client, Replies& replies, float sampleRate)
        : client_(client), replies_(replies), rate_(sampleRate), start_(osc::timetagNow()) {}

    float sampleRate() const override { return rate_; }
    Status apply(const ControlCommand& cmd) override { return send(osc::commandMessage(cmd)); }
    Status applyAt(uint64_t atSample, const ControlCommand& cmd) override {
        const osc::Timetag when =
            osc::timetagAfter(start_, static_cast<double>(atSample) / static_cast<double>(rate_));
        return client_.send(osc::encodeBundle(when, {osc::commandMessage(cmd)}));
    }
    uint64_t commit(CommitCallback) override {
        (void)send(osc::OscMessage{"/patch/commit", {}});
        return ++commits_;
    }

private:
    Status send(const osc::OscMessage& m) {
        Status s = client_.send(m.address, m.args);
        if (s) replies_.sent(m.address);
        return s;
    }

    osc::OscClient& client_;
    Replies& replies_;
    float rate_;
    osc::Timetag start_; ///< the wall clock at sample 0 of the player's clock
    uint64_t commits_ = 0;
};

/// The server's committed patch as text (its /patch/dump), read without printing.
Expected<std::string> serverPatch(osc::OscClient& client, double timeout) {
    if (Status s = client.send("/patch/dump"); !s) return s.error();
    const auto deadline = after(timeout);
    std::string text;
    for (;;) {
        osc::OscMessage m;
        std::string error;
        const auto got = client.receive(deadline, m, error);
        if (got == osc::OscClient::Received::timeout || got == osc::OscClient::Received::refused)
            return makeError("the server at {} did not send its patch (/patch/dump) within {:g} s",
                             client.server(), timeout);
        if (got != osc::OscClient::Received::message || m.address != "/patch/dump" ||
            m.args.size() != 3)
            continue;
        text += m.string(2).value_or("");
        if (m.number(0).value_or(0) + 1 >= m.number(1).value_or(1)) return text;
    }
}

int sendFile(osc::OscClient& client, const SendArgs& a) {
    auto status = client.waitForServer(a.timeout);
    if (!status) {
        fmt::print(stderr, "chronus send: {}\n", status.error().message);
        return kExitNoAnswer;
    }
    // Checked whole before any of it is sent, by the player's rule, on top of the patch the
    // server plays (so a file of /mod lines for modules it has is fine).
    auto playing = serverPatch(client, a.timeout);
    if (!playing) {
        fmt::print(stderr, "chronus send: {}\n", playing.error().message);
        return kExitNoAnswer;
    }
    auto base = parsePatchText(*playing, "the server's patch");
    auto lines = readPatchFile(a.file);
    if (!base || !lines) {
        fmt::print(stderr, "chronus send: {}\n", (!base ? base.error() : lines.error()).message);
        return kExitRefused;
    }
    for (PatchLine& l : *base) l.line = 0; // the server's own: checked under, never sent
    base->insert(base->end(), lines->begin(), lines->end());
    auto script = checkPatch(*base, a.file);
    if (!script) {
        fmt::print(stderr, "chronus send: {} (nothing was sent)\n", script.error().message);
        return kExitRefused;
    }
    std::erase_if(script->steps, [](const PatchScript::Step& s) { return s.line == 0; });

    Replies replies(client, a.quiet);
    OscTarget target(client, replies, status->sampleRate);
    const double end = script->steps.empty() ? 0.0 : script->steps.back().time;
    PatchPlayer player(target, script.take());
    const auto t0 = Clock::now();
    const double rate = status->sampleRate;
    while (!player.finished() && !replies.gone()) {
        const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
        if (Status s = player.advance(static_cast<uint64_t>(elapsed * rate)); !s)
            fmt::print(stderr, "chronus send: {}\n", s.message());
        // As serve's player: look again every 5 ms, reading replies meanwhile.
        replies.pump(Clock::now() + std::chrono::milliseconds(5));
    }
    // The last lines went ahead of their time: the file has played once its last time is past.
    replies.pump(t0 + std::chrono::duration_cast<Clock::duration>(
                          std::chrono::duration<double>(end + 0.01)));
    return finish(client, replies, false, a.timeout);
}

} // namespace

void addSendCommand(CLI::App& app) {
    auto args = std::make_shared<SendArgs>();
    auto* cmd = app.add_subcommand(
        "send", "Send an OSC message (or a patch file) to `chronus serve` and print its replies");
    cmd->footer("Usage: chronus send [OPTIONS] ADDRESS [ARGS...], e.g. chronus send /patch/create "
                "osc1 saw; or chronus send [OPTIONS] --file PATCH. Options go before the address. "
                "Arguments are typed as in a patch file: a word that reads as a number is sent as "
                "a float, any other as a string. Exit status: 0 done; 1 the server refused "
                "something (/error, /patch/failed) or the file is bad; 2 no answer in time.");
    cmd->add_option("--file", args->file,
                    "a patch file, played on a clock: lines at their @t, parameter and gate lines "
                    "as timed bundles that land on their exact sample")
        ->check(CLI::ExistingFile);
    cmd->add_option("--host", args->host, "the server's address")
        ->capture_default_str()
        ->envname("CHRONUS_HOST");
    cmd->add_option("--port", args->port, "the server's OSC UDP port")
        ->check(CLI::Range(1, 65535))
        ->capture_default_str()
        ->envname("CHRONUS_PORT");
    cmd->add_option("--timeout", args->timeout,
                    "seconds to wait for the server to answer (to start, and after the last "
                    "message: a commit's outcome)")
        ->check(CLI::Range(0.01, 3600.0))
        ->capture_default_str();
    cmd->add_flag("-q,--quiet", args->quiet,
                  "print only failures, commit outcomes and the answers to queries");
    // Everything from the address on is the message, as written: `-600` is a number to send,
    // not an option.
    cmd->prefix_command();
    cmd->callback([args, cmd] {
        const std::vector<std::string> words = cmd->remaining();
        if (args->file.empty() == words.empty())
            throw CLI::ValidationError("send", args->file.empty()
                                                   ? "give a message (ADDRESS [ARGS...]) or --file"
                                                   : "give either a message or --file, not both");
        auto client = osc::OscClient::connect(args->host, args->port);
        if (!client) {
            fmt::print(stderr, "chronus send: {}\n", client.error().message);
            throw CLI::RuntimeError(kExitNoAnswer);
        }
        const int rc =
            args->file.empty() ? sendOne(*client, words, *args) : sendFile(*client, *args);
        if (rc != 0) throw CLI::RuntimeError(rc);
    });
}

} // namespace chronus::cli

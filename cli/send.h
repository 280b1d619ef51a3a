// `chronus send`: what its two halves share. The message half (cmd_send.cpp) links no engine, so
// `chronus` runs it at once; the file half (send_file.cpp) checks and plays a patch file with the
// patch player, so it runs in `chronus-engine` (front_main.cpp).
#pragma once

#include "cli/reply_text.h"
#include "osc/osc_client.h"
#include "osc/osc_server.h"

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace chronus::cli {

using SendClock = osc::OscClient::Clock;

inline constexpr int kSendRefused = 1;  ///< the server answered /error or /patch/failed
inline constexpr int kSendNoAnswer = 2; ///< it did not answer in time

struct SendArgs {
    std::string file;
    std::string host = "127.0.0.1";
    int port = kDefaultOscPort;
    double timeout = 5;
    bool quiet = false;
};

inline SendClock::time_point after(double seconds) {
    return SendClock::now() +
           std::chrono::duration_cast<SendClock::duration>(std::chrono::duration<double>(seconds));
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
        if (address == "/sync") ++syncs_; // answered after the commits before it
        if (address == "/engine/quit") quit_ = true;
    }
    /// The barrier was sent: the server handles one datagram after another, so its reply comes
    /// after the reply (or silence) of everything sent before it.
    void sentBarrier() { barrier_ = true; }

    /// Reads replies until nothing is owed; false if `deadline` came first or the server went.
    bool settle(SendClock::time_point deadline) {
        while (owed()) {
            if (!readOne(deadline)) return false;
        }
        return true;
    }
    /// Reads whatever arrives until `deadline`.
    void pump(SendClock::time_point deadline) {
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
        if (syncs_ > 0) parts.push_back(fmt::format("{} /synced", syncs_));
        if (quit_) parts.push_back("the /engine/quit reply");
        if (barrier_) parts.push_back("the answer to the messages sent");
        return fmt::format("{}", fmt::join(parts, ", "));
    }

private:
    bool owed() const {
        return commits_ + irs_ + dumps_ + statuses_ + syncs_ > 0 || quit_ || barrier_;
    }

    bool readOne(SendClock::time_point deadline) {
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
            if (about == "/sync" && syncs_ > 0) --syncs_;
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
        if ((m.address == "/patch/list" || m.address == "/modules") && m.args.size() == 3) {
            // Chunks of one listing, in order (the receive thread sends them one after another);
            // printed whole at the message that ends it.
            listing_ += m.string(2).value_or("");
            return;
        }
        if (m.address == "/patch/list.end" || m.address == "/modules.end") {
            if (!quiet_) fmt::print("{}", listing_);
            listing_.clear();
            print(m, false);
            return;
        }
        if (m.address == "/patch/ir" && irs_ > 0) --irs_;
        if (m.address == "/synced" && syncs_ > 0) --syncs_;
        if (m.address == "/engine/quit") quit_ = false;
        print(m, m.address != "/done");
    }

    osc::OscClient& client_;
    bool quiet_;
    int commits_ = 0, irs_ = 0, dumps_ = 0, statuses_ = 0, syncs_ = 0;
    bool quit_ = false, barrier_ = false;
    bool refused_ = false, gone_ = false;
    std::string dump_;
    std::string listing_; ///< /patch/list or /modules chunks so far
};

/// Sends the barrier unless the server was told to quit, waits for everything owed, and turns
/// the outcome into the exit status.
int finishSend(osc::OscClient& client, Replies& replies, bool quitting, double timeout);

/// `send --file`: checks the file against the server's patch and plays it (send_file.cpp).
int sendFile(osc::OscClient& client, const SendArgs& args);

/// What runs `send --file` in this program: sendFile itself, or a hand-over to the engine's.
using FileSender = std::function<int(osc::OscClient& client, const SendArgs& args)>;

/// Registers `send`; `--file` goes to `sendFile`.
void addSendCommand(CLI::App& app, FileSender sendFile);

} // namespace chronus::cli

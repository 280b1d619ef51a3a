// `chronus send ADDRESS [ARGS...]`: an OSC client of `chronus serve`. It waits for the server to
// answer (so it can be run straight after starting `serve`), sends, prints every reply, and waits
// until the server has answered everything it sent (a commit: its /patch/committed or
// /patch/failed). Exit status 0; 1 if the server refused something (/error, /patch/failed) or the
// file is bad; 2 if the server did not answer in time. `--file` is send_file.cpp's.
#include "cli/commands.h"
#include "cli/send.h"
#include "osc/osc_message.h"
#include "runtime/patch_file.h"

#include <cstdio>
#include <fmt/format.h>
#include <memory>
#include <string>
#include <vector>

namespace chronus::cli {

namespace {

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
        return kSendRefused;
    }
    if (auto up = client.waitForServer(a.timeout); !up) {
        fmt::print(stderr, "chronus send: {}\n", up.error().message);
        return kSendNoAnswer;
    }
    std::vector<osc::OscValue> args;
    for (const PatchArg& p : line->args) args.push_back(osc::oscValue(p));
    Replies replies(client, a.quiet);
    if (Status s = client.send(line->address, args); !s) {
        fmt::print(stderr, "chronus send: {}\n", s.message());
        return kSendNoAnswer;
    }
    replies.sent(line->address);
    return finishSend(client, replies, line->address == "/engine/quit", a.timeout);
}

} // namespace

int finishSend(osc::OscClient& client, Replies& replies, bool quitting, double timeout) {
    if (!quitting) {
        if (Status s = client.send("/engine/status"); !s) {
            fmt::print(stderr, "chronus send: {}\n", s.message());
            return kSendNoAnswer;
        }
        replies.sentBarrier();
    }
    if (!replies.settle(after(timeout))) {
        if (!replies.gone())
            fmt::print(stderr,
                       "chronus send: the server at {} did not answer within {:g} s (still "
                       "owed: {}); a long compile may need --timeout\n",
                       client.server(), timeout, replies.owedText());
        return kSendNoAnswer;
    }
    return replies.refused() ? kSendRefused : 0;
}

void addServerAddressOptions(CLI::App& cmd, std::string& host, int& port) {
    cmd.add_option("--host", host, "the server's address")
        ->capture_default_str()
        ->envname("CHRONUS_HOST");
    cmd.add_option("--port", port, "the server's OSC UDP port")
        ->check(CLI::Range(1, 65535))
        ->capture_default_str()
        ->envname("CHRONUS_PORT");
}

void addSendCommand(CLI::App& app, FileSender sendFile) {
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
    addServerAddressOptions(*cmd, args->host, args->port);
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
    cmd->callback([args, cmd, sendFile] {
        const std::vector<std::string> words = cmd->remaining();
        if (args->file.empty() == words.empty())
            throw CLI::ValidationError("send", args->file.empty()
                                                   ? "give a message (ADDRESS [ARGS...]) or --file"
                                                   : "give either a message or --file, not both");
        auto client = osc::OscClient::connect(args->host, args->port);
        if (!client) {
            fmt::print(stderr, "chronus send: {}\n", client.error().message);
            throw CLI::RuntimeError(kSendNoAnswer);
        }
        const int rc =
            args->file.empty() ? sendOne(*client, words, *args) : sendFile(*client, *args);
        if (rc != 0) throw CLI::RuntimeError(rc);
    });
}

} // namespace chronus::cli

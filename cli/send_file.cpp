// `chronus send --file PATCH`: the file checked whole against the server's patch by the patch
// player's rule, then played into the server over OSC on the player's live clock.
#include "cli/send.h"
#include "osc/command_message.h"
#include "osc/osc_time.h"
#include "runtime/patch_player.h"

#include <cstdio>
#include <fmt/format.h>
#include <string>

namespace chronus::cli {

namespace {

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

} // namespace

int sendFile(osc::OscClient& client, const SendArgs& a) {
    auto status = client.waitForServer(a.timeout);
    if (!status) {
        fmt::print(stderr, "chronus send: {}\n", status.error().message);
        return kSendNoAnswer;
    }
    // Checked whole before any of it is sent, by the player's rule, on top of the patch the
    // server plays (so a file of /mod lines for modules it has is fine).
    auto playing = serverPatch(client, a.timeout);
    if (!playing) {
        fmt::print(stderr, "chronus send: {}\n", playing.error().message);
        return kSendNoAnswer;
    }
    auto base = parsePatchText(*playing, "the server's patch");
    auto lines = readPatchFile(a.file);
    if (!base || !lines) {
        fmt::print(stderr, "chronus send: {}\n", (!base ? base.error() : lines.error()).message);
        return kSendRefused;
    }
    for (PatchLine& l : *base) l.line = 0; // the server's own: checked under, never sent
    base->insert(base->end(), lines->begin(), lines->end());
    auto script = checkPatch(*base, a.file);
    if (!script) {
        fmt::print(stderr, "chronus send: {} (nothing was sent)\n", script.error().message);
        return kSendRefused;
    }
    std::erase_if(script->steps, [](const PatchScript::Step& s) { return s.line == 0; });

    Replies replies(client, a.quiet);
    OscTarget target(client, replies, status->sampleRate);
    const double end = script->steps.empty() ? 0.0 : script->steps.back().time;
    PatchPlayer player(target, script.take());
    const auto t0 = SendClock::now();
    const double rate = status->sampleRate;
    while (!player.finished() && !replies.gone()) {
        const double elapsed = std::chrono::duration<double>(SendClock::now() - t0).count();
        if (Status s = player.advance(static_cast<uint64_t>(elapsed * rate)); !s)
            fmt::print(stderr, "chronus send: {}\n", s.message());
        // As serve's player: look again every 5 ms, reading replies meanwhile.
        replies.pump(SendClock::now() + std::chrono::milliseconds(5));
    }
    // The last lines went ahead of their time: the file has played once its last time is past.
    replies.pump(t0 + std::chrono::duration_cast<SendClock::duration>(
                          std::chrono::duration<double>(end + 0.01)));
    return finishSend(client, replies, false, a.timeout);
}

} // namespace chronus::cli

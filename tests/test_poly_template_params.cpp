// A poly's template parameters (`/mod/keys/amp.level V`, `/midi/cc 1 74 keys:amp.level`): one
// write reaches every voice's copy, now (the slots playing), timed (on its sample) and from live
// MIDI (the audio thread), and every later commit's voices; it is read back, dumped after the
// poly and replayed; bad names and values are refused in the graph's words and change nothing.
#include "midi/midi_clock.h"
#include "midi/midi_event_ring.h"
#include "tests/support/signal_measure.h"
#include "tests/test_engine_harness.h"

using namespace chronus;
using namespace chronus::test;

namespace {

/// A sine voice through a gain (the template parameter the tests write) and an envelope.
const char* kVoice = R"(/voice/begin tone
/patch/create osc simple_sine
/patch/create amp gain
/patch/create lp biquad_filter
/patch/create env adsr
/patch/connect osc amp
/patch/connect amp lp
/patch/connect lp env
/mod/lp/cutoff 8000
/mod/env/attack 5
/mod/env/decay 1
/mod/env/sustain 1
/mod/env/release 20
/voice/end
/voice/map tone pitch osc:freq
/voice/map tone gate env:gate
/patch/create keys poly tone 4
/patch/commit
)";

Expected<ControlCommand> command(const std::string& line) {
    auto lines = parsePatchText(line + "\n");
    REQUIRE(lines.ok());
    REQUIRE(lines->size() == 1);
    return decodeCommand(lines->front().address, lines->front().args);
}

Status apply(OfflineRig& rig, const std::string& line) {
    auto cmd = command(line);
    if (!cmd) return cmd.error();
    return rig.engine->apply(*cmd);
}

void require(OfflineRig& rig, const std::string& line, uint64_t at = 0) {
    auto cmd = command(line);
    REQUIRE(cmd.ok());
    Status s = at == 0 ? rig.engine->apply(*cmd) : rig.engine->applyAt(at, *cmd);
    INFO(line << ": " << (s.ok() ? "" : s.message()));
    REQUIRE(s.ok());
}

float read(OfflineRig& rig, const std::string& id, const std::string& param) {
    auto r = rig.engine->readParam(id, param);
    INFO(id << ":" << param << ": " << (r.ok() ? "" : r.error().message));
    REQUIRE(r.ok());
    return r->value;
}

/// Three held notes, rendered past their attack.
uint64_t playChord(OfflineRig& rig) {
    const uint64_t t0 = rig.position() + 256;
    for (int n : {57, 64, 69}) require(rig, fmt::format("/note/on keys {} 100", n), t0);
    rig.render(4800);
    return t0;
}

} // namespace

TEST_CASE("a poly's template parameter is written on every voice, read back, dumped, replayed",
          "[poly]") {
    OfflineRig rig;
    rig.apply(kVoice);
    require(rig, "/mod/keys/amp.level 0.5");
    require(rig, "/mod/keys/lp.mode hp"); // a choice by name, as a module's
    for (int k = 0; k < 4; ++k) {
        CHECK(read(rig, fmt::format("keys.{}.amp", k), "level") == 0.5f);
        CHECK(rig.engine->readParam(fmt::format("keys.{}.lp", k), "mode")->choice == "hp");
    }
    CHECK(read(rig, "keys", "amp.level") == 0.5f);
    CHECK(rig.engine->readParam("keys", "lp.mode")->choice == "hp");
    const std::string dump = rig.engine->dump();
    INFO(dump);
    const auto poly = dump.find("/patch/create keys poly tone 4\n");
    REQUIRE(poly != std::string::npos);
    CHECK(dump.find("/mod/keys/amp.level 0.5\n") > poly);
    CHECK(dump.find("/mod/keys/lp.mode hp\n") > poly);
    CHECK(dump.find("keys.0") == std::string::npos);

    // Refused in the graph's words; nothing changes.
    auto refused = [&](const std::string& line, const std::string& words) {
        Status s = apply(rig, line);
        INFO(line << " -> " << (s.ok() ? "accepted" : s.message()));
        REQUIRE_FALSE(s.ok());
        CHECK(s.message().find(words) != std::string::npos);
    };
    refused("/mod/keys/nope.level 1", "no module 'nope'");
    refused("/mod/keys/amp.nope 1", "no parameter 'nope'");
    refused("/mod/keys/amp.level 2e6", "amp.level");
    refused("/mod/keys/lp.mode nope", "nope");
    refused("/midi/cc 1 74 keys:amp.nope", "no parameter 'nope'");
    refused("/midi/cc 1 74 keys:amp.level 0 2e6", "outside the parameter's");
    CHECK(rig.engine->dump() == dump);

    // A replay of the dump is the same patch, the voices' values included.
    OfflineRig again;
    again.apply(dump);
    CHECK(again.engine->dump() == dump);
    CHECK(read(again, "keys.3.amp", "level") == 0.5f);
}

TEST_CASE("a template parameter reaches the voices playing, timed, and those of later commits",
          "[poly]") {
    OfflineRig rig;
    rig.apply(kVoice);
    playChord(rig);
    const double playing = rms(rig.slice(rig.position() - 2400, rig.position()));
    CHECK(playing > 0.05);
    // Timed: every voice silent from its sample on, once the level's smoother has settled (below
    // -80 dB 100 ms on: a voice the write missed would sound at -10 dB).
    const uint64_t at = rig.position() + 1000;
    require(rig, "/mod/keys/amp.level 0", at);
    rig.render(9600);
    CHECK(rms(rig.slice(at - 1000, at)) > 0.05); // not before its sample
    CHECK(rms(rig.slice(at + 4800, rig.position())) < 1e-4 * playing);
    // Now (not timed): all three notes back.
    require(rig, "/mod/keys/amp.level 1");
    rig.render(2400);
    const auto back = rig.slice(rig.position() - 1200, rig.position());
    CHECK(rms(back) > 0.05);
    // A later commit re-expands the voices (a module added to the template): the value stays.
    require(rig, "/mod/keys/amp.level 0");
    rig.render(9600);
    rig.apply("/voice/begin tone\n/patch/create drive gain\n/patch/disconnect lp env\n"
              "/patch/connect lp drive\n/patch/connect drive env\n/voice/end\n/patch/commit\n");
    for (int k = 0; k < 4; ++k) CHECK(read(rig, fmt::format("keys.{}.amp", k), "level") == 0.0f);
    rig.render(4800);
    CHECK(rms(rig.slice(rig.position() - 2400, rig.position())) < 1e-4 * playing);
    // A template redefined without the module drops its value (the dump still replays).
    rig.apply("/voice/begin tone\n/patch/delete amp\n/patch/connect osc lp\n/voice/end\n"
              "/patch/commit\n");
    CHECK(rig.engine->dump().find("amp.level") == std::string::npos);
}

TEST_CASE("a live MIDI controller mapped to a template parameter moves every voice",
          "[poly][midi]") {
    midi::MidiEventRing ring; // outlives the engine that drains it
    OfflineRig rig;
    rig.apply(kVoice);
    require(rig, "/midi/cc 1 74 keys:amp.level 0 1");
    rig.engine->attachMidiInput(&ring);
    playChord(rig);
    const double playing = rms(rig.slice(rig.position() - 2400, rig.position()));
    CHECK(playing > 0.05);
    midi::MidiMessage cc;
    cc.kind = midi::MidiKind::ControlChange;
    cc.data1 = 74;
    cc.data2 = 0;
    REQUIRE(ring.inputThreadPush({midi::monotonicNowNs(), cc}));
    rig.render(9600);
    CHECK(rms(rig.slice(rig.position() - 2400, rig.position())) < 1e-4 * playing);
    // The controller's value is recorded as a write: every voice, read back and in the dump.
    for (int i = 0; i < 1000 && read(rig, "keys.3.amp", "level") != 0.0f; ++i) rig.render(64);
    for (int k = 0; k < 4; ++k) CHECK(read(rig, fmt::format("keys.{}.amp", k), "level") == 0.0f);
    CHECK(rig.engine->dump().find("/mod/keys/amp.level 0\n") != std::string::npos);
}

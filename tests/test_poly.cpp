// Voice templates, polys and notes: the expansion and its errors, a chord at the right pitches and
// silent after its release, stealing without a click, template edits while notes sound, dumps
// that replay, and the JIT against the interpreter with notes playing.
#include "compiler/jit/jit.h"
#include "compiler/voice_template.h"
#include "runtime/click_meter.h"
#include "runtime/patch_dry_run.h"
#include "tests/support/signal_measure.h"
#include "tests/test_engine_harness.h"

using namespace chronus;
using namespace chronus::test;

namespace {

/// A sine voice with an envelope: pitch, gate and velocity mapped.
const char* kSineVoice = R"(/voice/begin tone
/patch/create osc simple_sine
/patch/create env adsr
/patch/connect osc env
/mod/env/attack 5
/mod/env/decay 1
/mod/env/sustain 1
/mod/env/release 50
/voice/end
/voice/map tone pitch osc:freq
/voice/map tone gate env:gate
/voice/map tone velocity osc:gain 0 0.25
)";

std::string polyPatch(int voices) {
    return std::string(kSineVoice) + fmt::format("/patch/create keys poly tone {}\n", voices) +
           "/patch/commit\n";
}

double hz(int note) {
    return 440.0 * std::pow(2.0, (note - 69) / 12.0);
}

Status note(OfflineRig& rig, uint64_t at, const std::string& line) {
    auto lines = parsePatchText(line + "\n");
    REQUIRE(lines.ok());
    auto cmd = decodeCommand(lines->front().address, lines->front().args);
    REQUIRE(cmd.ok());
    return rig.engine->applyAt(at, *cmd);
}

void requireNote(OfflineRig& rig, uint64_t at, const std::string& line) {
    Status s = note(rig, at, line);
    INFO(line << ": " << (s.ok() ? "" : s.message()));
    REQUIRE(s.ok());
}

} // namespace

TEST_CASE("a poly expands into voices with stable ids, a fader each, summed at its id", "[poly]") {
    PatchGraph g;
    REQUIRE(g.beginVoice("tone").ok());
    REQUIRE(g.create("osc", "saw").ok());
    REQUIRE(g.create("env", "adsr").ok());
    REQUIRE(g.connect("osc", "env").ok());
    REQUIRE(g.endVoice().ok());
    REQUIRE(g.createPoly("keys", "tone", 3).ok());
    CHECK(g.find("keys") != nullptr);
    for (int k = 0; k < 3; ++k) {
        CHECK(g.find(fmt::format("keys.{}.osc", k)) != nullptr);
        CHECK(g.find(fmt::format("keys.{}.env", k)) != nullptr);
        CHECK(g.find(fmt::format("keys.{}", k))->desc->type == "adsr");
    }
    CHECK(g.modules().size() == 1 + 3 * 3);
    // Voices are the template's to edit.
    CHECK_FALSE(g.remove("keys.1.osc").ok());
    CHECK_FALSE(g.connect("keys.0.osc", "keys.1.env").ok());
    CHECK_FALSE(g.create("keys.0.x", "saw").ok());
    // The dump replays as the template and one poly line.
    const std::string text = g.toPatchText();
    CHECK(text.find("/voice/begin tone\n") != std::string::npos);
    CHECK(text.find("/patch/create keys poly tone 3\n") != std::string::npos);
    CHECK(text.find("keys.0") == std::string::npos);
    // Deleting the poly deletes its voices.
    REQUIRE(g.remove("keys").ok());
    CHECK(g.modules().empty());
}

TEST_CASE("bad voice and note messages get a precise error and change nothing", "[poly]") {
    OfflineRig rig;
    rig.apply(polyPatch(4));
    const std::string before = rig.engine->dump();
    auto refuse = [&](const std::string& line, const std::string& words) {
        auto lines = parsePatchText(line + "\n");
        REQUIRE(lines.ok());
        auto cmd = decodeCommand(lines->front().address, lines->front().args);
        std::string message;
        if (!cmd.ok()) {
            message = cmd.error().message;
        } else {
            Status s = rig.engine->apply(*cmd);
            REQUIRE_FALSE(s.ok());
            message = s.message();
        }
        INFO(line << " -> " << message);
        CHECK(message.find(words) != std::string::npos);
    };
    refuse("/patch/create p2 poly nope 4", "no voice template 'nope'");
    refuse("/patch/create p2 poly tone 0", "voices 0 must be a whole number in [1, 256]");
    refuse("/patch/create p2 poly tone 300", "[1, 256]");
    refuse("/patch/create p2 poly tone 2.5", "whole number");
    refuse("/voice/map tone pitch osc:nope", "has no parameter 'nope'");
    refuse("/voice/map tone pitch lfo:rate", "has no module 'lfo'");
    refuse("/voice/map tone volume osc:gain", "role 'volume'");
    refuse("/voice/map nope pitch osc:freq", "no voice template 'nope'");
    refuse("/note/on keys 128 100", "note 128 must be a whole number in [0, 127]");
    refuse("/note/on keys -1 100", "[0, 127]");
    refuse("/note/on keys 60 0", "velocity 0 must be a whole number in [1, 127]");
    refuse("/note/on keys 60 128", "[1, 127]");
    refuse("/note/on nope 60 100", "unknown poly 'nope'");
    refuse("/note/on keys.0.osc 60 100", "not a poly");
    refuse("/note/off keys 200", "[0, 127]");
    refuse("/voice/end", "no template is open");
    refuse("/patch/delete keys.2.env", "belongs to poly keys");
    CHECK(rig.engine->dump() == before);
}

TEST_CASE("a chord of notes sounds at its pitches and is silent after its release", "[poly]") {
    OfflineRig rig;
    rig.apply(polyPatch(4));
    const uint64_t t0 = rig.position() + 480;
    const int chord[] = {60, 64, 67}; // C4 E4 G4
    for (int n : chord) requireNote(rig, t0, fmt::format("/note/on keys {} 100", n));
    const uint64_t off = t0 + 24000;
    for (int n : chord) requireNote(rig, off, fmt::format("/note/off keys {}", n));
    rig.render(off + 9600 - rig.position());
    // The held part, well past the attack: peaks at the three pitches.
    const auto held = rig.slice(t0 + 4800, t0 + 4800 + 16384);
    for (int n : chord) {
        const double f = peakFrequency(held, rig.rate(), hz(n) - 8, hz(n) + 8);
        INFO("note " << n << ": " << f << " Hz, want " << hz(n));
        CHECK(std::fabs(f - hz(n)) < 1.5);
    }
    CHECK(rms(held) > 0.05);
    // 50 ms release: silent (exactly) well after it.
    const auto after = rig.slice(off + 4800, off + 9600);
    CHECK(rms(after) == 0.0);
}

TEST_CASE("seven notes on a four-voice poly steal without a click or a crash", "[poly]") {
    OfflineRig rig;
    rig.apply(polyPatch(4));
    const uint64_t t0 = rig.position() + 480;
    const int notes[] = {60, 62, 64, 65, 67, 69, 71};
    std::vector<uint64_t> at;
    for (int i = 0; i < 7; ++i) {
        at.push_back(t0 + uint64_t(i) * 9600); // 200 ms apart, all held
        requireNote(rig, at.back(), fmt::format("/note/on keys {} 100", notes[i]));
    }
    rig.render(at.back() + 19200 - rig.position());
    for (std::size_t i = 4; i < 7; ++i) { // the steals
        ClickWindows w;
        w.before = 64;
        w.after = 1024; // the fade out and in
        w.steady = 4000;
        const EventClick c = measureClickAt(rig.out, at[i], w);
        INFO("steal " << i << " at " << at[i] << ": peak " << c.peak << " steady " << c.steadyBefore
                      << " / " << c.steadyAfter << " ratio " << c.ratio());
        CHECK(c.ratio() <= 4.0);
    }
    // The last four notes sound at the end, the first three do not.
    const auto tail = rig.slice(at.back() + 4800, at.back() + 4800 + 8192);
    for (int i = 3; i < 7; ++i)
        CHECK(dftMagnitude(tail, rig.rate(), hz(notes[i])) >
              50 * dftMagnitude(tail, rig.rate(), hz(notes[0])));
}

TEST_CASE("a template edited and recommitted while notes sound keeps them sounding", "[poly]") {
    OfflineRig rig;
    rig.apply(polyPatch(4));
    const uint64_t t0 = rig.position() + 256;
    requireNote(rig, t0, "/note/on keys 69 100");
    rig.render(9600);
    // Add a filter to the voice: the voices keep their ids, so osc and env keep their state, and
    // the allocator's pitch, gate and velocity are carried into the new program.
    rig.apply("/voice/begin tone\n/patch/create lp biquad_filter\n/mod/lp/cutoff 4000\n"
              "/patch/disconnect osc env\n/patch/connect osc lp\n/patch/connect lp env\n"
              "/voice/end\n/patch/commit\n");
    CHECK(rig.engine->dump().find("/patch/create lp biquad_filter") != std::string::npos);
    rig.render(9600);
    const auto after = rig.slice(rig.position() - 8192, rig.position());
    CHECK(rms(after) > 0.05);
    CHECK(std::fabs(peakFrequency(after, rig.rate(), 400, 480) - 440.0) < 1.5);
    requireNote(rig, 0, "/note/off keys 69");
    rig.render(9600);
    CHECK(rms(rig.slice(rig.position() - 2400, rig.position())) == 0.0);
}

TEST_CASE("a poly's dump replays into the same patch", "[poly]") {
    OfflineRig rig;
    rig.apply(polyPatch(8));
    const std::string text = rig.engine->dump();
    OfflineRig again;
    again.apply(text);
    CHECK(again.engine->dump() == text);
    CHECK(text.find("/voice/map tone velocity osc:gain 0 0.25") != std::string::npos);
}

TEST_CASE("poly voices render alike in the JIT and the interpreter, notes and steals included",
          "[poly][jit]") {
    auto run = [](ProgramFactory f) {
        EngineOptions o;
        o.factory = std::move(f);
        OfflineRig rig(o);
        rig.apply(polyPatch(4));
        rig.settleTiers();
        const uint64_t t0 = rig.position() + 100;
        for (int i = 0; i < 7; ++i)
            requireNote(rig, t0 + uint64_t(i) * 1500 + uint64_t(i % 3) * 7,
                        fmt::format("/note/on keys {} {}", 55 + 3 * i, 40 + 10 * i));
        for (int i = 0; i < 7; i += 2)
            requireNote(rig, t0 + 12000 + uint64_t(i) * 333,
                        fmt::format("/note/off keys {}", 55 + 3 * i));
        rig.render(t0 + 24000 - rig.position());
        return rig.out;
    };
    const auto interp = run(interpreterFactory());
    const auto jit = run(defaultFactory());
    REQUIRE(interp.size() == jit.size());
    std::size_t differ = 0;
    for (std::size_t i = 0; i < interp.size(); ++i) differ += interp[i] != jit[i];
    CHECK(differ == 0);
    CHECK(rms(interp) > 0.01);
}

TEST_CASE("a poly's voices are one group shape, run in the wide lanes", "[poly][jit]") {
    PatchGraph g;
    auto lines = parsePatchText(polyPatch(16));
    REQUIRE(lines.ok());
    PatchDryRun dry;
    for (const PatchLine& line : *lines) {
        auto cmd = decodeCommand(line.address, line.args);
        REQUIRE(cmd.ok());
        REQUIRE(dry.apply(*cmd).ok());
    }
    REQUIRE(dry.committed());
    auto sched = buildSchedule(*dry.committed());
    REQUIRE(sched.ok());
    REQUIRE(sched->polys.size() == 1);
    CHECK(sched->polys[0].voices.size() == 16);
    auto program = compileJit(*sched, JitOptions{});
    REQUIRE(program.ok());
    const JitTimings& t = (*program)->timings();
    INFO("groups " << t.groups << ", shapes " << t.shapes << ", lanes " << t.lanes
                   << ", wide groups " << t.wideGroups);
    CHECK(t.lanes > 1);
    CHECK(t.wideGroups >= 16 / t.lanes * t.lanes); // every voice in a full wide call
    CHECK(t.shapes <= 2);                          // the voice, and the sum
}

TEST_CASE("notes sent before a poly's first commit has swapped in wait for it and sound",
          "[poly]") {
    OfflineRig rig;
    rig.render(4800); // an engine playing nothing yet
    // The lines of a patch file up to its commit, the commit not waited for, then notes: as
    // serve --patch plays them while the first compile runs.
    auto lines = parsePatchText(std::string(kSineVoice) + "/patch/create keys poly tone 4\n");
    REQUIRE(lines.ok());
    for (const PatchLine& line : *lines)
        REQUIRE(rig.engine->apply(*decodeCommand(line.address, line.args)).ok());
    requireNote(rig, rig.position() + 64, "/note/on keys 40 100"); // due before any swap
    const uint64_t seq = rig.engine->commit({});
    requireNote(rig, 0, "/note/on keys 69 100");
    rig.render(4800); // no slot yet, or the swap: either way the notes wait
    REQUIRE(rig.backend->waitForCommit(seq, 60'000));
    rig.render(16384 + 4800);
    const auto held = rig.slice(rig.position() - 16384, rig.position());
    for (int n : {40, 69}) {
        const double f = peakFrequency(held, rig.rate(), hz(n) - 8, hz(n) + 8);
        INFO("note " << n << ": " << f << " Hz");
        CHECK(std::fabs(f - hz(n)) < 1.5);
    }
    // Their note-offs release them as usual.
    requireNote(rig, 0, "/note/off keys 40");
    requireNote(rig, 0, "/note/off keys 69");
    rig.render(9600);
    CHECK(rms(rig.slice(rig.position() - 2400, rig.position())) == 0.0);
}

TEST_CASE("notes waiting for a poly that is dropped before it plays are dropped with it",
          "[poly]") {
    EngineOptions o;
    o.timedEventsPerClient = 1; // a client's waiting note shows in its quota
    OfflineRig rig(o);
    rig.apply("/patch/create s simple_sine\n/patch/commit\n");
    auto lines = parsePatchText(std::string(kSineVoice) + "/patch/create keys poly tone 2\n");
    REQUIRE(lines.ok());
    for (const PatchLine& line : *lines)
        REQUIRE(rig.engine->apply(*decodeCommand(line.address, line.args)).ok());
    const auto on = *decodeCommand("/note/on", {std::string("keys"), 60.0f, 100.0f});
    REQUIRE(rig.engine->applyAt(0, on, 7).ok());
    rig.render(480); // due, and waiting: the slot playing has no poly keys
    CHECK_FALSE(rig.engine->applyAt(0, on, 7).ok());
    rig.engine->abort(); // keys is in no version of the patch now: its note is dropped
    rig.render(480);
    rig.apply(polyPatch(2));
    CHECK(rig.engine->applyAt(0, on, 7).ok());
    rig.render(4800);
    CHECK(rms(rig.slice(rig.position() - 2400, rig.position())) > 0.01);
}

// MIDI into polys: a Standard MIDI File merged into a patch script (chords at their pitches,
// silent after the release, the sustain pedal, pitch bend, a controller mapped to a parameter,
// routing), and live MIDI from a JACK MIDI port played by the engine's audio thread.
#include "midi/midi_input.h"
#include "runtime/midi_script.h"
#include "runtime/offline_render.h"
#include "tests/support/signal_measure.h"
#include "tests/test_engine_harness.h"
#include "tests/test_jack_server.h"
#include "tests/test_midi_jack_writer.h"

using namespace chronus;
using namespace chronus::test;

namespace {

const char* kInstrument = R"(/voice/begin tone
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
/patch/create keys poly tone 4
/patch/commit
)";

double hz(double note) {
    return 440.0 * std::pow(2.0, (note - 69) / 12.0);
}

/// A type-1 SMF: a tempo track (120 BPM) and one track of `events` (tick, bytes; in time order),
/// 480 ticks per beat.
std::vector<uint8_t> smf(std::vector<std::pair<uint32_t, std::vector<uint8_t>>> events) {
    auto vlq = [](std::vector<uint8_t>& out, uint32_t n) {
        uint8_t b[5];
        int k = 0;
        b[k++] = n & 0x7F;
        while (n >>= 7) b[k++] = static_cast<uint8_t>(0x80 | (n & 0x7F));
        while (k > 0) out.push_back(b[--k]);
    };
    auto chunk = [](std::vector<uint8_t>& out, const char* tag, const std::vector<uint8_t>& body) {
        out.insert(out.end(), tag, tag + 4);
        const auto n = static_cast<uint32_t>(body.size());
        for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(n >> s));
        out.insert(out.end(), body.begin(), body.end());
    };
    std::vector<uint8_t> file;
    chunk(file, "MThd", {0, 1, 0, 2, 0x01, 0xE0});
    std::vector<uint8_t> tempo = {0, 0xFF, 0x51, 3, 0x07, 0xA1, 0x20, 0, 0xFF, 0x2F, 0};
    chunk(file, "MTrk", tempo);
    std::vector<uint8_t> body;
    uint32_t now = 0;
    for (auto& [tick, bytes] : events) {
        vlq(body, tick - now);
        now = tick;
        body.insert(body.end(), bytes.begin(), bytes.end());
    }
    body.insert(body.end(), {0, 0xFF, 0x2F, 0});
    chunk(file, "MTrk", body);
    return file;
}

/// Renders `patch` with `file` merged in, for `seconds`.
std::vector<float> renderWithMidi(const std::string& patch, const std::vector<uint8_t>& file,
                                  double seconds, MidiMerge* merged = nullptr) {
    auto lines = parsePatchText(patch);
    REQUIRE(lines.ok());
    auto script = checkPatch(*lines);
    INFO((script.ok() ? "" : script.error().message));
    REQUIRE(script.ok());
    auto parsed = midi::parseMidiFile(file.data(), file.size());
    REQUIRE(parsed.ok());
    auto m = mergeMidiFile(*script, *parsed);
    REQUIRE(m.ok());
    if (merged != nullptr) *merged = *m;
    OfflineRenderOptions o;
    o.seconds = seconds;
    o.factory = interpreterFactory();
    auto out = renderPatch(script.take(), o);
    INFO((out.ok() ? "" : out.error().message));
    REQUIRE(out.ok());
    return out.take();
}

std::vector<float> slice(const std::vector<float>& x, double from, double to, double rate = 48000) {
    return std::vector<float>(x.begin() + std::ptrdiff_t(from * rate),
                              x.begin() + std::ptrdiff_t(std::min(to * rate, double(x.size()))));
}

} // namespace

TEST_CASE("a chord from a MIDI file sounds at its pitches and is silent after its release",
          "[poly][midi]") {
    // At 120 BPM: notes on at beat 0.25 (0.125 s), off at beat 2.25 (1.125 s), a note on
    // channel 2 that nothing plays.
    const auto file = smf({{120, {0x90, 57, 100}},
                           {120, {0x90, 61, 100}},
                           {120, {0x90, 64, 100}},
                           {120, {0x91, 70, 100}},
                           {1080, {0x80, 57, 0}},
                           {1080, {0x80, 61, 0}},
                           {1080, {0x80, 64, 0}},
                           {1080, {0x81, 70, 0}}});
    MidiMerge merged;
    const auto out = renderWithMidi(kInstrument, file, 2.0, &merged);
    CHECK(merged.unrouted == 2);
    CHECK(merged.events == 6);
    CHECK(merged.endSeconds == Approx(1.125 + 0.05 + 0.5)); // the file, the release, half a second
    const auto held = slice(out, 0.3, 0.3 + 32768 / 48000.0);
    for (int n : {57, 61, 64}) {
        const double f = peakFrequency(held, 48000, hz(n) - 8, hz(n) + 8);
        INFO("note " << n << ": " << f << " Hz, want " << hz(n));
        CHECK(std::fabs(f - hz(n)) < 1.5);
    }
    CHECK(dftMagnitude(held, 48000, hz(70)) < 0.01 * dftMagnitude(held, 48000, hz(57)));
    // The notes land on their samples: nothing before 0.125 s, sound right after.
    CHECK(rms(slice(out, 0, 0.124)) == 0.0);
    CHECK(rms(slice(out, 0.135, 0.2)) > 0.01);
    CHECK(rms(slice(out, 1.125 + 0.1, 2.0)) == 0.0);
}

TEST_CASE("a render without -s lasts until a delay's echoes have fallen 60 dB", "[poly][midi]") {
    // Echoes every 330 ms, each 0.35 of the last: 7 repeats to -60 dB, 2.31 s after the release.
    std::string patch = kInstrument;
    patch.replace(patch.find("/patch/commit"), std::string::npos,
                  "/patch/create echo delay 2000\n/mod/echo/time 330\n/mod/echo/feedback 0.35\n"
                  "/patch/connect keys echo\n/patch/commit\n");
    const auto file = smf({{0, {0x90, 60, 100}}, {480, {0x80, 60, 0}}});
    MidiMerge merged;
    const auto out = renderWithMidi(patch, file, 4.0, &merged);
    CHECK(merged.endSeconds == Approx(0.5 + 0.05 + 7 * 0.33));
    // What is cut off at that end is some 57 dB below the note (overlapping repeats of a note
    // longer than the delay add up a little); where it ended before, half a second after the
    // release, the echoes were less than 30 dB down.
    CHECK(rms(slice(out, merged.endSeconds - 0.1, merged.endSeconds)) <
          2e-3 * rms(slice(out, 0.1, 0.5)));
    CHECK(rms(slice(out, 0.5 + 0.05 + 0.4, 0.5 + 0.05 + 0.5)) > 0.03 * rms(slice(out, 0.1, 0.5)));
}

TEST_CASE("the sustain pedal holds note-offs, pitch bend bends, a controller moves a parameter",
          "[poly][midi]") {
    // Pedal down, note on, note off (held), pedal up at 1 s; bend +1 semitone at 0.5 s (range 2);
    // CC 7 on the poly's level: full at 0.25 s, down to 0 at 1.5 s after a second note.
    const std::string patch = std::string(kInstrument) + "/midi/cc 1 7 keys:level 0 1\n";
    const auto file = smf({{0, {0xB0, 7, 127}},
                           {0, {0xB0, 64, 127}},
                           {0, {0x90, 69, 100}},
                           {240, {0x80, 69, 0}},
                           {480, {0xE0, 0x00, 0x60}},
                           {960, {0xB0, 64, 0}},
                           {1200, {0x90, 60, 100}},
                           {1440, {0xB0, 7, 0}}});
    const auto out = renderWithMidi(patch, file, 2.0);
    // Held by the pedal past its note-off at 0.25 s, at 440 Hz before the bend ...
    const auto before = slice(out, 0.26, 0.26 + 8192 / 48000.0);
    CHECK(std::fabs(peakFrequency(before, 48000, 400, 500) - 440.0) < 1.5);
    // ... a semitone up after it (the smoother's glide settled), ...
    const auto bent = slice(out, 0.6, 0.6 + 16384 / 48000.0);
    CHECK(std::fabs(peakFrequency(bent, 48000, 430, 500) - hz(70)) < 1.5);
    // ... released when the pedal comes up at 1 s.
    CHECK(rms(slice(out, 1.1, 1.24)) == 0.0);
    // The second note plays (bent too: the bend stays) until CC 7 takes the level to 0.
    CHECK(rms(slice(out, 1.3, 1.5)) > 0.01);
    CHECK(rms(slice(out, 1.7, 2.0)) < 1e-4);
}

TEST_CASE("a patch file's MIDI route lines route the file's events from their time on",
          "[poly][midi]") {
    // CC 7 on the poly's level over [0, 1] from 0 s, over [0, 0] from 1 s: the same message at
    // 0.5 s leaves the held note sounding, at 1.5 s silences it.
    const std::string patch =
        std::string(kInstrument) + "/midi/cc 1 7 keys:level 0 1\n@1 /midi/cc 1 7 keys:level 0 0\n";
    const auto file = smf({{0, {0x90, 69, 100}}, {480, {0xB0, 7, 127}}, {1440, {0xB0, 7, 127}}});
    const auto out = renderWithMidi(patch, file, 2.0);
    CHECK(rms(slice(out, 0.6, 1.4)) > 0.01);
    CHECK(rms(slice(out, 1.7, 2.0)) < 1e-4);
}

TEST_CASE("MIDI routes, maps and bend range are checked and dumped", "[poly][midi]") {
    OfflineRig rig;
    rig.apply(kInstrument);
    auto apply = [&](const std::string& line) {
        auto lines = parsePatchText(line + "\n");
        REQUIRE(lines.ok());
        auto cmd = decodeCommand(lines->front().address, lines->front().args);
        if (!cmd) return Status(cmd.error());
        return rig.engine->apply(*cmd);
    };
    CHECK(apply("/midi/route 2 keys").ok());
    CHECK(apply("/midi/cc 1 74 keys:level").ok());
    CHECK(apply("/midi/bend 12").ok());
    CHECK(apply("/midi/route 17 keys").message().find("[1, 16]") != std::string::npos);
    CHECK(apply("/midi/route 1 nope").message().find("not a poly") != std::string::npos);
    CHECK(apply("/midi/cc 1 128 keys:level").message().find("[0, 127]") != std::string::npos);
    CHECK(apply("/midi/cc 1 1 keys:nope").message().find("no parameter 'nope'") !=
          std::string::npos);
    CHECK(apply("/midi/bend 100").message().find("[0, 48]") != std::string::npos);
    const std::string dump = rig.engine->dump();
    CHECK(dump.find("/midi/route 2 keys\n") != std::string::npos);
    CHECK(dump.find("/midi/cc 1 74 keys:level -1000000 1000000\n") != std::string::npos);
    CHECK(dump.find("/midi/bend 12\n") != std::string::npos);
}

TEST_CASE("live MIDI from a JACK MIDI port plays notes through the audio thread",
          "[poly][midi][jack][live]") {
    JackServer jack;
    if (!jack.ready()) {
        WARN("skipped: " << jack.why());
        return;
    }
    JackMidiWriter writer("chronus-poly-writer");
    REQUIRE(writer.ok());
    midi::MidiInputOptions mo;
    mo.source = "poly-writer";
    mo.clientName = "chronus-poly-in";
    auto input = midi::MidiInput::open(mo);
    INFO((input ? "" : input.error().message));
    REQUIRE(input.ok());
    REQUIRE(writer.waitConnected());

    OfflineRig rig;
    rig.apply(kInstrument);
    rig.engine->attachMidiInput(&(*input)->ring());
    // The rig's thread is the audio thread here: blocks rendered as the clock goes, so that each
    // event lands one block after it arrived.
    const uint32_t block = rig.frames();
    const double blockSeconds = block / double(rig.rate());
    auto play = [&](double seconds) {
        const auto start = std::chrono::steady_clock::now();
        for (uint64_t b = 0; double(b) * blockSeconds < seconds; ++b) {
            std::this_thread::sleep_until(start +
                                          std::chrono::duration<double>(double(b) * blockSeconds));
            rig.render(block);
        }
    };
    play(0.1);
    CHECK(rms(rig.slice(0, rig.position())) == 0.0);
    using Ev = JackMidiWriter::Event;
    const std::size_t silentUntil = rig.position();
    REQUIRE(writer.send({Ev{0, {0x90, 60, 100}}, Ev{1, {0x90, 64, 100}}, Ev{2, {0x90, 67, 100}}}));
    play(0.8);
    // Find where the sound starts: within a few blocks of the send (JACK's own period first).
    std::size_t onset = silentUntil;
    while (onset < rig.out.size() && std::fabs(rig.out[onset]) == 0.0f) ++onset;
    REQUIRE(onset < rig.out.size());
    const auto held = rig.slice(onset + 9600, onset + 9600 + 16384);
    for (int n : {60, 64, 67}) {
        const double f = peakFrequency(held, rig.rate(), hz(n) - 8, hz(n) + 8);
        INFO("note " << n << ": " << f << " Hz");
        CHECK(std::fabs(f - hz(n)) < 1.5);
    }
    REQUIRE(writer.send({Ev{0, {0x80, 60, 0}}, Ev{0, {0x80, 64, 0}}, Ev{0, {0x80, 67, 0}}}));
    play(0.4);
    CHECK(rms(rig.slice(rig.position() - 4800, rig.position())) == 0.0);

    WARN(fmt::format("live MIDI: sound began {:.1f} ms after the test's send returned (JACK "
                     "period, then one {}-frame block by design)",
                     1000.0 * double(onset - silentUntil) / rig.rate(), block));
}

// Standard MIDI File reading against hand-built byte arrays: formats 0 and 1, tempo changes with
// exact times, running status, velocity-0 note-offs, SMPTE time, the order of equal times, and
// malformed files refused with the byte offset and what was expected there.
#include "fuzz/targets.h"
#include "midi/midi_file.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

using namespace chronus;
using namespace chronus::midi;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes vlq(uint32_t v) {
    Bytes out{uint8_t(v & 0x7F)};
    while (v >>= 7) out.insert(out.begin(), uint8_t(0x80 | (v & 0x7F)));
    return out;
}

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

Bytes be(uint32_t v, int n) {
    Bytes out;
    for (int i = n - 1; i >= 0; --i) out.push_back(uint8_t(v >> (8 * i)));
    return out;
}

Bytes header(uint16_t format, uint16_t tracks, uint16_t division) {
    return cat({{'M', 'T', 'h', 'd'}, be(6, 4), be(format, 2), be(tracks, 2), be(division, 2)});
}

Bytes chunk(const Bytes& events) {
    return cat({{'M', 'T', 'r', 'k'}, be(uint32_t(events.size()), 4), events});
}

/// One event: its delta time, then its bytes.
Bytes ev(uint32_t delta, Bytes bytes) {
    return cat({vlq(delta), bytes});
}
Bytes tempo(uint32_t delta, uint32_t microsPerQuarter) {
    return ev(delta, cat({{0xFF, 0x51, 0x03}, be(microsPerQuarter, 3)}));
}
Bytes name(uint32_t delta, const std::string& text) {
    return ev(delta,
              cat({{0xFF, 0x03}, vlq(uint32_t(text.size())), Bytes(text.begin(), text.end())}));
}
Bytes endOfTrack(uint32_t delta = 0) {
    return ev(delta, {0xFF, 0x2F, 0x00});
}

MidiFile parseOk(const Bytes& b) {
    auto f = parseMidiFile(b.data(), b.size());
    INFO((f ? "" : f.error().message));
    REQUIRE(f.ok());
    return f.take();
}

std::string parseError(const Bytes& b) {
    auto f = parseMidiFile(b.data(), b.size());
    REQUIRE_FALSE(f.ok());
    return f.error().message;
}

} // namespace

TEST_CASE("a format 0 file: every channel voice message, in seconds at the default tempo",
          "[midi][smf]") {
    // 96 ticks per quarter note, no Set Tempo: 120 bpm, so 96 ticks are 0.5 s.
    const Bytes file = cat({header(0, 1, 96), chunk(cat({
                                                  ev(0, {0xC2, 5}),          // program 5, ch 3
                                                  ev(0, {0x92, 60, 100}),    // note-on
                                                  ev(48, {0xB2, 7, 90}),     // CC 7
                                                  ev(0, {0xE2, 0x00, 0x60}), // bend
                                                  ev(0, {0xD2, 33}),         // pressure
                                                  ev(0, {0xA2, 60, 12}),     // poly pressure
                                                  ev(48, {0x82, 60, 40}),    // note-off
                                                  endOfTrack(96),
                                              }))});
    const MidiFile f = parseOk(file);
    CHECK(f.format == 0);
    CHECK(f.trackCount == 1);
    REQUIRE(f.events.size() == 7);
    using K = MidiKind;
    const K kinds[] = {K::ProgramChange,   K::NoteOn,       K::ControlChange, K::PitchBend,
                       K::ChannelPressure, K::PolyPressure, K::NoteOff};
    for (std::size_t i = 0; i < 7; ++i) {
        CHECK(f.events[i].message.kind == kinds[i]);
        CHECK(f.events[i].message.channel == 2);
        CHECK(f.events[i].track == 0);
    }
    CHECK(f.events[0].message.program() == 5);
    CHECK(f.events[1].message.note() == 60);
    CHECK(f.events[1].message.velocity() == 100);
    CHECK(f.events[2].message.controller() == 7);
    CHECK(f.events[2].message.value() == 90);
    CHECK(f.events[3].message.pitchBend() == (0x60 << 7) - 8192);
    CHECK(f.events[4].message.pressure() == 33);
    CHECK(f.events[5].message.pressure() == 12);
    CHECK(f.events[6].message.velocity() == 40);
    CHECK(f.events[1].seconds == 0.0);
    CHECK(f.events[2].seconds == 0.25);
    CHECK(f.events[2].tick == 48);
    CHECK(f.events[6].seconds == 0.5);
    CHECK(f.endTick == 192);
    CHECK(f.endSeconds == 1.0);
    CHECK(sampleAt(f.events[2].seconds, 48000) == 12000);
}

TEST_CASE("a format 1 file: tempo changes mid-file give exact times across the change",
          "[midi][smf]") {
    // 480 ticks per quarter: 120 bpm until tick 960 (1.0 s), then 240 bpm (a quarter = 0.25 s),
    // then at tick 1440 (1.25 s) 60 bpm (a quarter = 1 s).
    const Bytes conductor = cat({name(0, "conductor"), tempo(0, 500'000), tempo(960, 250'000),
                                 tempo(480, 1'000'000), endOfTrack(480)});
    const Bytes piano =
        cat({name(0, "piano"), ev(0, {0x90, 60, 100}), ev(480, {0x80, 60, 0}),
             ev(0, {0x90, 62, 100}), ev(480, {0x80, 62, 0}), ev(0, {0x90, 64, 100}),
             ev(480, {0x80, 64, 0}), ev(0, {0x90, 65, 100}), ev(100, {0x80, 65, 0}), endOfTrack()});
    const MidiFile f = parseOk(cat({header(1, 2, 480), chunk(conductor), chunk(piano)}));
    CHECK(f.format == 1);
    REQUIRE(f.trackNames.size() == 2);
    CHECK(f.trackNames[0] == "conductor");
    CHECK(f.trackNames[1] == "piano");
    REQUIRE(f.events.size() == 8);
    const double want[] = {0.0, 0.5, 0.5, 1.0, 1.0, 1.25, 1.25, 1.25 + 100.0 / 480.0};
    for (std::size_t i = 0; i < 8; ++i) {
        INFO(i);
        CHECK(f.events[i].seconds == want[i]); // exact: one rounding, no accumulated error
        CHECK(f.events[i].track == 1);
    }
    CHECK(f.tempo.changes().size() == 3);
    CHECK(f.tempo.secondsAt(1200) == 1.125);
    CHECK(f.endTick == 1920);
    CHECK(f.endSeconds == 1.25 + 1.0);
}

TEST_CASE("Set Tempo counts from any track, and at one tick the last one wins", "[midi][smf]") {
    const Bytes t0 = cat({tempo(0, 400'000), tempo(0, 250'000), endOfTrack(960)});
    const Bytes t1 =
        cat({tempo(480, 1'000'000), ev(0, {0x90, 60, 1}), ev(480, {0x80, 60, 0}), endOfTrack()});
    const MidiFile f = parseOk(cat({header(1, 2, 480), chunk(t0), chunk(t1)}));
    REQUIRE(f.events.size() == 2);
    CHECK(f.events[0].seconds == 0.25);
    CHECK(f.events[1].seconds == 1.25);
}

TEST_CASE("running status, also across meta events, and note-on velocity 0 as note-off",
          "[midi][smf]") {
    const Bytes track = cat({ev(0, {0x91, 60, 100}), ev(10, {62, 90}), ev(10, {60, 0}),
                             name(0, "x"),    // a meta event: the running status survives it
                             ev(10, {62, 0}), // still note-on ch 2, velocity 0: off
                             ev(0, {0xF0, 0x03, 0x7E, 0x01, 0xF7}), // sysex, skipped
                             ev(5, {0xB1, 64, 127}), ev(0, {64, 0}), endOfTrack()});
    const MidiFile f = parseOk(cat({header(0, 1, 96), chunk(track)}));
    REQUIRE(f.events.size() == 6);
    CHECK(f.sysexSkipped == 1);
    CHECK(f.events[0].message == MidiMessage{MidiKind::NoteOn, 1, 60, 100});
    CHECK(f.events[1].message == MidiMessage{MidiKind::NoteOn, 1, 62, 90});
    CHECK(f.events[2].message == MidiMessage{MidiKind::NoteOff, 1, 60, kDefaultReleaseVelocity});
    CHECK(f.events[3].message == MidiMessage{MidiKind::NoteOff, 1, 62, kDefaultReleaseVelocity});
    CHECK(f.events[4].message == MidiMessage{MidiKind::ControlChange, 1, 64, 127});
    CHECK(f.events[5].message == MidiMessage{MidiKind::ControlChange, 1, 64, 0});
    CHECK(f.events[3].tick == 30);
    CHECK(f.events[4].tick == 35);
}

TEST_CASE("equal times keep the file's order, but a note's off comes before its on",
          "[midi][smf]") {
    // Track 1 starts note 60 again at tick 96, where track 2 ends its own note 60: merged by track
    // order, the on would come first and the off would cut the new note at once.
    const Bytes t1 =
        cat({ev(96, {0xB0, 1, 10}), ev(0, {0x90, 60, 100}), ev(0, {0xB0, 1, 11}),
             ev(0, {0x90, 64, 100}), ev(96, {0x80, 60, 0}), ev(0, {0x80, 64, 0}), endOfTrack()});
    const Bytes t2 = cat({ev(0, {0x90, 60, 80}), ev(96, {0x80, 60, 0}), ev(0, {0x90, 67, 70}),
                          ev(96, {0x80, 67, 0}), endOfTrack()});
    const MidiFile f = parseOk(cat({header(1, 2, 96), chunk(t1), chunk(t2)}));
    std::vector<std::string> got;
    for (const MidiFileEvent& e : f.events)
        got.push_back(std::to_string(e.tick) + " " + describe(e.message));
    const std::vector<std::string> want = {
        "0 note-on ch 1 note 60 vel 80",    "96 cc ch 1 controller 1 value 10",
        "96 note-off ch 1 note 60 vel 0",   // track 2's off, moved before track 1's on ...
        "96 cc ch 1 controller 1 value 11", // ... into the on's place: the rest keep theirs
        "96 note-on ch 1 note 64 vel 100",  "96 note-on ch 1 note 60 vel 100",
        "96 note-on ch 1 note 67 vel 70",   "192 note-off ch 1 note 60 vel 0",
        "192 note-off ch 1 note 64 vel 0",  "192 note-off ch 1 note 67 vel 0",
    };
    CHECK(got == want);
}

TEST_CASE("SMPTE division: frames per second and ticks per frame, where Set Tempo does not apply",
          "[midi][smf]") {
    // 25 fps x 40 ticks per frame = 1000 ticks per second.
    const uint16_t div25 = uint16_t(uint8_t(-25)) << 8 | 40;
    const Bytes track =
        cat({tempo(0, 1'000'000), ev(500, {0x90, 60, 1}), ev(250, {0x80, 60, 0}), endOfTrack(250)});
    const MidiFile f = parseOk(cat({header(0, 1, div25), chunk(track)}));
    CHECK(f.tempo.isSmpte());
    REQUIRE(f.events.size() == 2);
    CHECK(f.events[0].seconds == 0.5);
    CHECK(f.events[1].seconds == 0.75);
    CHECK(f.endSeconds == 1.0);
    // 29.97 fps (30000/1001, drop-frame), 100 ticks per frame: 300 frames are 10.01 s.
    const uint16_t div29 = uint16_t(uint8_t(-29)) << 8 | 100;
    const Bytes t2 = cat({ev(30000, {0x90, 60, 1}), endOfTrack()});
    const MidiFile g = parseOk(cat({header(0, 1, div29), chunk(t2)}));
    CHECK(g.events[0].seconds == 10.01);
    const uint16_t div23 = uint16_t(uint8_t(-23)) << 8 | 10;
    CHECK(parseError(cat({header(0, 1, div23), chunk(endOfTrack())})) ==
          "byte 12: expected SMPTE frames per second 24, 25, 29 or 30, found 23");
}

TEST_CASE("format 2 and unknown formats are refused with a clear message", "[midi][smf]") {
    const Bytes track = chunk(endOfTrack());
    CHECK(parseError(cat({header(2, 1, 96), track})) ==
          "byte 8: MIDI file format 2 (independent sequences) is not supported: only formats 0 "
          "and 1");
    CHECK(parseError(cat({header(7, 1, 96), track})) ==
          "byte 8: expected MIDI file format 0 or 1, found 7");
    CHECK(parseError(cat({header(0, 2, 96), track, track})) ==
          "byte 10: a format 0 file has exactly one track, the header says 2");
    CHECK(parseError(cat({header(1, 0, 96)})) == "byte 10: expected at least one track, found 0");
    CHECK(parseError(cat({header(1, 1, 0), track})) ==
          "byte 12: expected a division of at least 1 tick per quarter note, found 0");
}

TEST_CASE("malformed and truncated files are refused with the offset and what was expected",
          "[midi][smf]") {
    const Bytes h = header(0, 1, 96); // 14 bytes: the track chunk starts at byte 14, events at 22
    CHECK(parseError({}) == "byte 0: the file ends here; expected the header chunk \"MThd\"");
    CHECK(parseError({'R', 'I', 'F', 'F', 0, 0, 0, 0}) ==
          "byte 0: expected the header chunk \"MThd\" of a Standard MIDI File, found 52 49 46 46");
    CHECK(parseError(Bytes(h.begin(), h.begin() + 10)) ==
          "byte 10: the file ends here; expected the 6 bytes of the header chunk from byte 8");
    CHECK(parseError(h) == "byte 14: the file ends here; expected track chunk 0 of 1 (\"MTrk\")");
    CHECK(parseError(cat({header(1, 2, 96), chunk(endOfTrack())})) ==
          "byte 26: the file ends here; expected track chunk 1 of 2 (\"MTrk\")");
    CHECK(parseError(cat({h, {'M', 'T', 'r', 'k', 0, 0, 0, 100, 0, 0x90}})) ==
          "byte 14: track chunk 0 of 1 (\"MTrk\") declares 100 bytes, but only 2 remain in the "
          "file");
    // Inside a track: cut in the middle of a note-on, a status byte where data belongs, data
    // with no running status, a delta time of 5 bytes, a wrong Set Tempo, a system byte.
    CHECK(parseError(cat({h, chunk({0, 0x90, 60})})) ==
          "byte 25 (track 0): the track chunk ends here; expected data byte 2 of 2 of a note-on "
          "at byte 23");
    CHECK(parseError(cat({h, chunk({0, 0x90, 60, 0x80, 0, 0xFF, 0x2F, 0})})) ==
          "byte 25 (track 0): expected data byte 2 of 2 (below 0x80) of a note-on at byte 23, "
          "found 0x80");
    CHECK(parseError(cat({h, chunk({0, 60, 100})})) ==
          "byte 23 (track 0): data byte 0x3C without a running status (no channel message before "
          "it in the track)");
    CHECK(parseError(cat({h, chunk({0x81, 0x82, 0x83, 0x84, 0x05, 0x90, 60, 1})})) ==
          "byte 22 (track 0): expected a delta time, found a variable-length quantity longer "
          "than 4 bytes (81 82 83 84)");
    CHECK(parseError(cat({h, chunk({0, 0xFF, 0x51, 0x02, 0x07, 0xA1})})) ==
          "byte 23 (track 0): expected a Set Tempo of 3 bytes, found 2");
    CHECK(parseError(cat({h, chunk({0, 0xFF, 0x51, 0x03, 0, 0, 0})})) ==
          "byte 23 (track 0): expected a Set Tempo above 0 microseconds per quarter note");
    CHECK(parseError(cat({h, chunk({0, 0xF8})})) ==
          "byte 23 (track 0): expected an event (a channel message, 0xF0/0xF7 sysex or 0xFF "
          "meta), found 0xF8");
    CHECK(parseError(cat({h, chunk({0, 0xFF, 0x01, 0x10, 'a'})})) ==
          "byte 23 (track 0): meta event 0x01 declares 16 bytes, but only 1 remain in the track "
          "chunk");
    CHECK(parseError(cat({h, chunk({0, 0xF0, 0x05, 1})})) ==
          "byte 23 (track 0): sysex event declares 5 bytes, but only 1 remain in the track chunk");
    CHECK(parseError(cat({h, chunk({0, 0x90, 60, 1, 0x83})})) ==
          "byte 27 (track 0): the track chunk ends here; expected a delta time");
}

TEST_CASE("every truncation of a valid file is refused, never misread", "[midi][smf]") {
    const Bytes t0 = cat({name(0, "conductor"), tempo(0, 600'000), endOfTrack(10)});
    const Bytes t1 = cat({ev(0, {0x90, 60, 100}), ev(0x4000, {62, 90}), ev(3, {0xE0, 0, 64}),
                          ev(0, {0xF0, 0x02, 0x01, 0xF7}), ev(1, {0xC0, 9}), endOfTrack()});
    const Bytes file = cat({header(1, 2, 480), chunk(t0), chunk(t1)});
    (void)parseOk(file);
    for (std::size_t n = 0; n < file.size(); ++n) {
        INFO(n);
        auto f = parseMidiFile(file.data(), n);
        REQUIRE_FALSE(f.ok());
        CHECK_THAT(f.error().message, Catch::StartsWith("byte "));
    }
}

TEST_CASE("lenient where the reading is unambiguous: alien chunks, no End of Track, trailing bytes",
          "[midi][smf]") {
    const Bytes alien = cat({{'X', 'F', 'I', 'H'}, be(3, 4), {1, 2, 3}});
    const Bytes noEnd = chunk({0, 0x90, 60, 100, 10, 60, 0});
    const Bytes afterEnd = chunk({0, 0x90, 61, 100, 0, 0xFF, 0x2F, 0, 0x55, 0x55});
    const MidiFile f = parseOk(cat({header(1, 2, 96), alien, noEnd, afterEnd, {0xDE, 0xAD}}));
    REQUIRE(f.events.size() == 3);
    CHECK(f.endTick == 10);
    CHECK(f.events[2].message.kind == MidiKind::NoteOff);
}

TEST_CASE("readMidiFile reads from disk, and its errors name the path", "[midi][smf]") {
    const std::string path = "/tmp/chronus_midi_" + std::to_string(getpid()) + ".mid";
    const Bytes file = cat({header(0, 1, 96), chunk(cat({ev(96, {0x90, 69, 127}), endOfTrack()}))});
    {
        std::ofstream out(path, std::ios::binary);
        out.write(reinterpret_cast<const char*>(file.data()), std::streamsize(file.size()));
    }
    auto f = readMidiFile(path);
    REQUIRE(f.ok());
    REQUIRE(f->events.size() == 1);
    CHECK(f->events[0].seconds == 0.5);
    {
        std::ofstream out(path, std::ios::binary);
        out.write(reinterpret_cast<const char*>(file.data()), 24);
    }
    auto bad = readMidiFile(path);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message == path + ": byte 14: track chunk 0 of 1 (\"MTrk\") declares 8 "
                                        "bytes, but only 2 remain in the file");
    std::remove(path.c_str());
    auto missing = readMidiFile(path);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message == path + ": cannot open the MIDI file");
}

TEST_CASE("the MIDI file fuzz target's seed corpus and crashers hold its properties",
          "[midi][smf][fuzz]") {
    namespace fs = std::filesystem;
    struct Failure : std::runtime_error {
        using std::runtime_error::runtime_error;
    };
    chronus::fuzz::setFailureHandler([](const char* target, const char* what) {
        throw Failure(std::string(target) + ": " + what);
    });
    std::size_t n = 0;
    for (const char* dir : {"corpus", "regressions"}) {
        const fs::path d = fs::path(CHRONUS_SOURCE_DIR) / "fuzz" / dir / "midi_file";
        if (!fs::is_directory(d)) continue;
        for (const auto& e : fs::directory_iterator(d)) {
            INFO(e.path().string());
            std::ifstream in(e.path(), std::ios::binary);
            const Bytes data{std::istreambuf_iterator<char>(in), {}};
            try {
                chronus::fuzz::midiFile(data.data(), data.size());
            } catch (const Failure& f) {
                FAIL_CHECK(f.what());
            }
            ++n;
        }
    }
    chronus::fuzz::setFailureHandler(nullptr);
    CHECK(n >= 5);
}

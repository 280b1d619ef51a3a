// Live MIDI end to end on a private JACK dummy server: a JACK client writes notes, MidiInput
// (RtMidi's JACK API) opens the writer's port by part of its name, and the notes come out of the
// ring with their pitch, velocity and order. Skipped with a message when jackd cannot start.
#include "midi/midi_input.h"
#include "tests/test_jack_server.h"
#include "tests/test_midi_jack_writer.h"
#include "tests/test_midi_open.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

using namespace chronus;
using namespace chronus::midi;
using namespace chronus::test;

namespace {

/// Pops events until `n` have arrived or `seconds` have passed.
std::vector<LiveMidiEvent> collect(MidiEventRing& ring, std::size_t n, double seconds = 5) {
    std::vector<LiveMidiEvent> out;
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (out.size() < n && std::chrono::steady_clock::now() < until) {
        LiveMidiEvent e;
        if (ring.audioThreadTryPop(e))
            out.push_back(e);
        else
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return out;
}

/// Pops what has arrived into `into`; true once it holds `n` events.
bool popInto(MidiEventRing& ring, std::vector<LiveMidiEvent>& into, std::size_t n) {
    for (LiveMidiEvent e; into.size() < n && ring.audioThreadTryPop(e);) into.push_back(e);
    return into.size() >= n;
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

using Ev = JackMidiWriter::Event;

} // namespace

TEST_CASE("notes written to a JACK MIDI port arrive in order with their pitch and velocity",
          "[midi][jack][live]") {
    JackServer jack;
    if (!jack.ready()) {
        WARN("skipped: " << jack.why());
        return;
    }
    JackMidiWriter writer("chronus-midi-writer");
    REQUIRE(writer.ok());

    auto list = listMidiInputPorts("chronus-list");
    INFO(formatMidiPortList(list));
    auto port = findMidiInputPort(list, "MIDI-WRITER"); // part of the name, any case
    REQUIRE(port.ok());
    CHECK(port->api == MidiApi::Jack);
    CHECK(port->name == writer.portName());

    MidiInputOptions o;
    o.source = "midi-writer";
    o.clientName = "chronus-in";
    auto input = openMidiInputRetrying(o);
    INFO((input ? "" : input.error().message));
    REQUIRE(input.ok());
    CHECK((*input)->api() == MidiApi::Jack);
    CHECK((*input)->sourceName() == writer.portName());
    REQUIRE(writer.waitConnected());
    MidiEventRing& ring = (*input)->ring();

    // A chord at three offsets of one cycle, then its release (one by velocity 0), a sustain
    // pedal, a bend and a program change in the next; a clock tick that is not a note.
    const uint32_t period = writer.bufferSize();
    std::vector<LiveMidiEvent> got;
    auto chord = writer.sendUntil(
        {Ev{0, {0x90, 60, 10}}, Ev{period / 3, {0x90, 64, 64}}, Ev{period - 1, {0x90, 67, 127}}},
        [&] { return popInto(ring, got, 3); });
    REQUIRE(chord);
    CHECK(chord->written == 3);
    auto rest = writer.sendUntil({Ev{0, {0x80, 60, 33}}, Ev{1, {0x90, 64, 0}}, Ev{2, {0xF8}},
                                  Ev{3, {0x8F, 67, 0}}, Ev{4, {0xB0, 64, 127}},
                                  Ev{5, {0xE0, 0x7F, 0x7F}}, Ev{6, {0xC9, 42}}},
                                 [&] { return popInto(ring, got, 9); });
    REQUIRE(rest);
    REQUIRE(got.size() == 9);
    using K = MidiKind;
    const MidiMessage want[] = {
        {K::NoteOn, 0, 60, 10},
        {K::NoteOn, 0, 64, 64},
        {K::NoteOn, 0, 67, 127},
        {K::NoteOff, 0, 60, 33},
        {K::NoteOff, 0, 64, kDefaultReleaseVelocity},
        {K::NoteOff, 15, 67, 0},
        {K::ControlChange, 0, 64, 127},
        {K::PitchBend, 0, 0x7F, 0x7F},
        {K::ProgramChange, 9, 42, 0},
    };
    for (std::size_t i = 0; i < 9; ++i) {
        INFO(i << ": " << describe(got[i].message));
        CHECK(got[i].message == want[i]);
        if (i > 0) CHECK(got[i].receivedNs >= got[i - 1].receivedNs);
    }
    CHECK(got[7].message.pitchBend() == 8191);
    CHECK(ring.dropped() == 0);
    CHECK(ring.size() == 0);
    // The clock tick (0xF8) is not a channel voice message: RtMidi's filter or ours drops it.
    CHECK((*input)->ignored() <= 1);

    // Latency, as a figure: from the writer's process callback to the receive stamp, and from
    // JACK's time of the event's frame. JACK's clock is not ours: Debian 12's jack2 reads
    // CLOCK_MONOTONIC_RAW, which NTP does not slew, so the two are apart by the offset measured
    // here and the stamp is converted before the subtraction.
    const double jackMinusOursUs =
        double(jack_get_time()) - double(midi::monotonicNowNs()) / 1000.0;
    const double fromCallbackUs = double(got[0].receivedNs - chord->processStartNs) / 1000.0;
    const double fromFrameUs = double(got[2].receivedNs) / 1000.0 + jackMinusOursUs -
                               double(writer.frameTimeUs(chord->cycleFrame + period - 1));
    CHECK(fromCallbackUs >= 0);
    CHECK(fromCallbackUs < 1e6); // the same clock: anything beyond a second is a wrong stamp
    // The three notes of one cycle arrive in one callback: the stamps are a cycle's burst.
    const double burstUs = double(got[2].receivedNs - got[0].receivedNs) / 1000.0;
    WARN(fmt::format("JACK MIDI, period {} frames at 48 kHz ({:.0f} us): writer callback -> "
                     "ring {:.0f} us; event frame time -> ring {:.0f} us; stamps of one cycle "
                     "within {:.0f} us; JACK clock - monotonic {:.0f} us",
                     period, period / 48e3 * 1e6, fromCallbackUs, fromFrameUs, burstUs,
                     jackMinusOursUs));
}

TEST_CASE("a stream of notes through JACK: every one arrives, in order, latency measured",
          "[midi][jack][live]") {
    JackServer jack;
    if (!jack.ready()) {
        WARN("skipped: " << jack.why());
        return;
    }
    JackMidiWriter writer("chronus-midi-stream");
    REQUIRE(writer.ok());
    MidiInputOptions o;
    o.source = "chronus-midi-stream:out"; // the whole name
    o.clientName = "chronus-in";
    auto input = openMidiInputRetrying(o);
    INFO((input ? "" : input.error().message));
    REQUIRE(input.ok());
    REQUIRE(writer.waitConnected());
    std::vector<double> latencyUs;
    for (int i = 0; i < 100; ++i) {
        const uint8_t note = uint8_t(36 + i % 60), vel = uint8_t(1 + i % 127);
        std::vector<LiveMidiEvent> got;
        auto sent = writer.sendUntil({Ev{0, {uint8_t(0x90 | (i % 16)), note, vel}},
                                      Ev{7, {uint8_t(0x80 | (i % 16)), note, 0}}},
                                     [&] { return popInto((*input)->ring(), got, 2); });
        REQUIRE(sent);
        REQUIRE(got.size() == 2);
        CHECK(got[0].message == MidiMessage{MidiKind::NoteOn, uint8_t(i % 16), note, vel});
        CHECK(got[1].message == MidiMessage{MidiKind::NoteOff, uint8_t(i % 16), note, 0});
        latencyUs.push_back(double(got[0].receivedNs - sent->processStartNs) / 1000.0);
    }
    CHECK((*input)->ring().dropped() == 0);
    if (writer.resent() > 0)
        WARN(writer.resent() << " notes sent again after JACK reported an xrun");
    const double maxUs = *std::max_element(latencyUs.begin(), latencyUs.end());
    WARN(fmt::format("100 notes through JACK: writer callback -> ring median {:.0f} us, max "
                     "{:.0f} us",
                     median(latencyUs), maxUs));
}

TEST_CASE("jack_midiseq, an independent JACK client, plays into MidiInput by port name",
          "[midi][jack][live]") {
    JackServer jack;
    if (!jack.ready()) {
        WARN("skipped: " << jack.why());
        return;
    }
    if (std::system("command -v jack_midiseq >/dev/null 2>&1") != 0) {
        WARN("skipped: jack_midiseq is not installed (jackd2's example clients)");
        return;
    }
    // A 0.5 s loop at 48 kHz: note 60 from sample 0, note 64 from sample 12000, 2400 samples each.
    const std::string log = tempPath("midiseq", ".log");
    const pid_t seq = spawnProcess(
        {"jack_midiseq", "chronus-seq", "24000", "0", "60", "2400", "12000", "64", "2400"}, log);
    REQUIRE(seq > 0);
    std::unique_ptr<MidiInput> input;
    std::string why;
    for (int i = 0; i < 50 && !input; ++i) { // until jack_midiseq has registered its port
        MidiInputOptions o;
        o.source = "chronus-seq";
        o.clientName = "chronus-in";
        auto opened = MidiInput::open(o);
        if (opened)
            input = opened.take();
        else
            why = opened.error().message;
        if (!input) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    INFO(why);
    REQUIRE(input);
    // JACK loses MIDI in a cycle a client misses (an xrun, on a loaded machine): a client of our
    // own hears of each, and the notes are collected again after one.
    JackMidiWriter watch("chronus-xrun-watch");
    REQUIRE(watch.ok());
    std::vector<LiveMidiEvent> got;
    for (int attempt = 0; attempt < 5; ++attempt) {
        const uint64_t x0 = watch.xruns();
        got = collect(input->ring(), 8, 10);
        if (watch.xruns() == x0) break;
        WARN("collected again: JACK reported an xrun");
    }
    kill(seq, SIGTERM);
    waitExit(seq, 10);
    std::remove(log.c_str());
    REQUIRE(got.size() == 8);
    // Wherever in the loop the connection began, the notes alternate on, off, 60, 64.
    std::size_t first = 0;
    while (first < got.size() && got[first].message.kind != MidiKind::NoteOn) ++first;
    REQUIRE(first + 4 <= got.size());
    const uint8_t a = got[first].message.note(), b = a == 60 ? 64 : 60;
    CHECK((a == 60 || a == 64));
    const MidiKind on = MidiKind::NoteOn, off = MidiKind::NoteOff;
    CHECK(got[first].message.kind == on);
    CHECK(got[first + 1].message.kind == off);
    CHECK(got[first + 1].message.note() == a);
    CHECK(got[first + 2].message.kind == on);
    CHECK(got[first + 2].message.note() == b);
    CHECK(got[first + 3].message.kind == off);
    CHECK(got[first + 3].message.note() == b);
    CHECK(got[first].message.velocity() > 0);
    // The note is 2400 samples (50 ms) long: its stamps differ by that, to within about a period.
    const double lengthMs = double(got[first + 1].receivedNs - got[first].receivedNs) / 1e6;
    WARN(fmt::format("jack_midiseq: a 50 ms note measured {:.1f} ms between its stamps", lengthMs));
}

TEST_CASE("a port name that matches none or several is refused, naming the ports",
          "[midi][jack][live]") {
    JackServer jack;
    if (!jack.ready()) {
        WARN("skipped: " << jack.why());
        return;
    }
    JackMidiWriter a("chronus-keys-a"), b("chronus-keys-b");
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    MidiInputOptions o;
    o.source = "chronus-keys";
    auto both = MidiInput::open(o);
    REQUIRE_FALSE(both.ok());
    CHECK(both.error().message == "\"chronus-keys\" matches 2 MIDI input ports; name one of them "
                                  "whole:\n  JACK  chronus-keys-a:out\n  JACK  chronus-keys-b:out");
    o.source = "no-such-keyboard";
    auto none = MidiInput::open(o);
    REQUIRE_FALSE(none.ok());
    CHECK_THAT(none.error().message,
               Catch::StartsWith("no MIDI input port matches \"no-such-keyboard\"; the ports "
                                 "are:\n  JACK  chronus-keys-a:out\n  JACK  chronus-keys-b:out"));
}

TEST_CASE("without a source, MidiInput opens its own port for others to connect",
          "[midi][jack][live]") {
    JackServer jack;
    if (!jack.ready()) {
        WARN("skipped: " << jack.why());
        return;
    }
    MidiInputOptions o;
    o.api = MidiApi::Jack;
    o.clientName = "chronus-own";
    auto input = openMidiInputRetrying(o);
    INFO((input ? "" : input.error().message));
    REQUIRE(input.ok());
    CHECK((*input)->sourceName().empty());
    JackMidiWriter writer("chronus-midi-ext");
    REQUIRE(writer.ok());
    const char** ports = nullptr;
    for (int i = 0; i < 100 && ports == nullptr; ++i) {
        ports = jack_get_ports(writer.client(), "chronus-own.*:midi_in", JACK_DEFAULT_MIDI_TYPE,
                               JackPortIsInput);
        if (ports == nullptr) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(ports != nullptr);
    const std::string ours = ports[0];
    jack_free(ports);
    REQUIRE(jack_connect(writer.client(), writer.portName().c_str(), ours.c_str()) == 0);
    REQUIRE(writer.waitConnected()); // jack_connect returns before the graph routes it
    std::vector<LiveMidiEvent> got;
    REQUIRE(writer.sendUntil({Ev{0, {0x93, 72, 99}}},
                             [&] { return popInto((*input)->ring(), got, 1); }));
    REQUIRE(got.size() == 1);
    CHECK(got[0].message == MidiMessage{MidiKind::NoteOn, 3, 72, 99});
}

TEST_CASE("a full ring drops new events and counts them, and JACK is never held up",
          "[midi][jack][live]") {
    JackServer jack;
    if (!jack.ready()) {
        WARN("skipped: " << jack.why());
        return;
    }
    JackMidiWriter writer("chronus-midi-burst");
    REQUIRE(writer.ok());
    MidiInputOptions o;
    o.source = "midi-burst";
    o.clientName = "chronus-in";
    o.ringCapacity = 4;
    auto input = openMidiInputRetrying(o);
    REQUIRE(input.ok());
    REQUIRE(writer.waitConnected());
    std::vector<Ev> burst;
    for (uint8_t i = 0; i < 10; ++i) burst.push_back(Ev{i, {0x90, uint8_t(50 + i), 100}});
    MidiEventRing& ring = (*input)->ring();
    REQUIRE(writer.sendUntil(burst, [&] { return ring.pushed() + ring.dropped() >= 10; }));
    CHECK(ring.dropped() == 6);
    const auto kept = collect(ring, 4);
    REQUIRE(kept.size() == 4);
    for (uint8_t i = 0; i < 4; ++i) CHECK(kept[i].message.note() == 50 + i); // the oldest stay
    // ... and the input keeps working once there is room again.
    std::vector<LiveMidiEvent> after;
    REQUIRE(writer.sendUntil({Ev{0, {0x90, 99, 1}}}, [&] { return popInto(ring, after, 1); }));
    REQUIRE(after.size() == 1);
    CHECK(after[0].message.note() == 99);
}

TEST_CASE("with no JACK server and no ALSA sequencer, opening is a clear error, not a crash",
          "[midi][jack]") {
    const char* old = std::getenv("JACK_DEFAULT_SERVER");
    const std::string saved = old ? old : "";
    setenv("JACK_DEFAULT_SERVER", fmt::format("chronus-no-server-{}", getpid()).c_str(), 1);
    MidiInputOptions o;
    o.api = MidiApi::Jack;
    auto own = MidiInput::open(o);
    REQUIRE_FALSE(own.ok());
    CHECK_THAT(own.error().message, Catch::StartsWith("JACK MIDI: "));
    o.api.reset();
    o.source = "chronus-no-such-keyboard"; // a machine with ALSA may list ports, but not this
    auto named = MidiInput::open(o);
    REQUIRE_FALSE(named.ok());
    CHECK_THAT(named.error().message,
               Catch::StartsWith("no MIDI input port matches \"chronus-no-such-keyboard\"; "));
    CHECK_THAT(named.error().message, Catch::Contains("(JACK: "));
    if (old)
        setenv("JACK_DEFAULT_SERVER", saved.c_str(), 1);
    else
        unsetenv("JACK_DEFAULT_SERVER");
}

TEST_CASE("port names are found whole, else by a part in any case, else refused", "[midi][ports]") {
    MidiPortList list;
    list.ports = {{MidiApi::Jack, "a2j:Keystation [20] (capture): Keystation MIDI 1"},
                  {MidiApi::Jack, "jack_midiseq:out"},
                  {MidiApi::Jack, "jack_midiseq:out2"},
                  {MidiApi::Alsa, "Keystation:Keystation MIDI 1 20:0"}};
    list.unavailable = {"ALSA: none here"};
    CHECK(findMidiInputPort(list, "jack_midiseq:out")->name == "jack_midiseq:out"); // whole wins
    CHECK(findMidiInputPort(list, "OUT2")->name == "jack_midiseq:out2");
    const MidiApi alsa = MidiApi::Alsa;
    CHECK(findMidiInputPort(list, "keystation", &alsa)->api == MidiApi::Alsa);
    auto two = findMidiInputPort(list, "keystation");
    REQUIRE_FALSE(two.ok());
    CHECK(two.error().message ==
          "\"keystation\" matches 2 MIDI input ports; name one of them whole:\n"
          "  JACK  a2j:Keystation [20] (capture): Keystation MIDI 1\n"
          "  ALSA  Keystation:Keystation MIDI 1 20:0");
    auto none = findMidiInputPort(list, "Oxygen");
    REQUIRE_FALSE(none.ok());
    CHECK_THAT(none.error().message, Catch::EndsWith("20:0\n  (ALSA: none here)"));
    CHECK(formatMidiPortList(list) ==
          "JACK  a2j:Keystation [20] (capture): Keystation MIDI 1\n"
          "JACK  jack_midiseq:out\nJACK  jack_midiseq:out2\n"
          "ALSA  Keystation:Keystation MIDI 1 20:0\n(ALSA: none here)\n");
}

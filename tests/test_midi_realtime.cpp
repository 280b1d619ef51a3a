// The real-time rule for live MIDI: the audio thread's side of the ring (audioThreadPeek, Pop,
// TryPop, DrainUntil, FrameInBlock) never allocates and never locks, under a producer storm that
// overflows the ring and with live notes from JACK. Global operator new/delete and
// pthread_mutex_lock are replaced in this executable with counters armed only around the drain.
#include "midi/midi_clock.h"
#include "midi/midi_input.h"
#include "tests/test_jack_server.h"
#include "tests/test_midi_jack_writer.h"
#include "tests/test_midi_open.h"
#include "tests/test_realtime_guard.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <pthread.h>
#include <thread>
#include <unistd.h>

using namespace chronus;
using namespace chronus::midi;
using namespace chronus::test;

namespace {

/// What the audio thread keeps of each event: preallocated, so recording costs no allocation.
struct Drained {
    std::vector<LiveMidiEvent> events;
    std::vector<uint32_t> frames;
    std::size_t n = 0;
    explicit Drained(std::size_t capacity) : events(capacity), frames(capacity) {}
};

/// One simulated audio block: the guard armed around every consumer-side call.
void audioThreadBlock(MidiEventRing& ring, Drained& out, int variant) {
    const uint64_t blockStart = monotonicNowNs();
    tArmed = true;
    auto keep = [&](const LiveMidiEvent& e) {
        if (out.n < out.events.size()) {
            out.events[out.n] = e;
            out.frames[out.n] = audioThreadFrameInBlock(e.receivedNs, blockStart, 256, 48000);
            ++out.n;
        }
    };
    switch (variant % 3) {
    case 0:
        ring.audioThreadDrainUntil(blockStart, keep);
        break;
    case 1:
        for (LiveMidiEvent e; ring.audioThreadTryPop(e);) keep(e);
        break;
    default:
        while (const LiveMidiEvent* e = ring.audioThreadPeek()) {
            keep(*e);
            ring.audioThreadPop();
        }
    }
    tArmed = false;
}

} // namespace

TEST_CASE("the guards themselves count on an armed thread", "[midi][realtime]") {
    if (!kGuarded) {
        WARN("allocation and lock guards are compiled out under a sanitizer: skipped");
        return;
    }
    const uint64_t a0 = gAllocations, l0 = gLocks;
    std::thread([] {
        tArmed = true;
        auto* v = new std::vector<int>(10);
        delete v;
        std::mutex m;
        m.lock();
        m.unlock();
        tArmed = false;
    }).join();
    CHECK(gAllocations - a0 == 4); // two allocations, two frees
    CHECK(gLocks - l0 == 1);
}

TEST_CASE("draining the ring never allocates or locks, under a storm that overflows it",
          "[midi][realtime]") {
    MidiEventRing ring(64);
    constexpr uint64_t kEvents = 200'000;
    Drained drained(kEvents);
    std::atomic<bool> done{false};
    std::thread producer([&] {
        for (uint64_t i = 1; i <= kEvents; ++i) {
            // The sequence number rides in the stamp: order and loss are checked below.
            (void)ring.inputThreadPush(
                {i, MidiMessage{MidiKind::NoteOn, uint8_t(i % 16), uint8_t(i % 128), 1}});
            if (i % 512 == 0) std::this_thread::yield();
        }
        done = true;
    });
    const uint64_t a0 = gAllocations, l0 = gLocks;
    std::size_t blocks = 0;
    std::thread audio([&] {
        for (int b = 0; !done || ring.size() > 0; ++b) {
            audioThreadBlock(ring, drained, b);
            ++blocks;
            std::this_thread::yield();
        }
    });
    producer.join();
    audio.join();
    const uint64_t allocations = gAllocations - a0, locks = gLocks - l0;
    INFO(blocks << " blocks, " << drained.n << " drained, " << ring.dropped() << " dropped");
    CHECK(ring.pushed() + ring.dropped() == kEvents);
    CHECK(drained.n == ring.pushed());
    CHECK(ring.dropped() > 0); // the storm did overflow the ring ...
    CHECK(drained.n > 0);
    bool ordered = true;
    for (std::size_t i = 1; i < drained.n; ++i)
        ordered = ordered && drained.events[i].receivedNs > drained.events[i - 1].receivedNs;
    CHECK(ordered); // ... and what was kept came out once each, in order
    if (kGuarded) {
        CHECK(allocations == 0);
        CHECK(locks == 0);
    }
}

TEST_CASE("draining live notes from JACK never allocates or locks", "[midi][realtime][jack]") {
    JackServer jack;
    if (!jack.ready()) {
        WARN("skipped: " << jack.why());
        return;
    }
    JackMidiWriter writer("chronus-midi-rt");
    REQUIRE(writer.ok());
    MidiInputOptions o;
    o.source = "chronus-midi-rt";
    o.clientName = "chronus-rt-in";
    auto input = openMidiInputRetrying(o);
    INFO((input ? "" : input.error().message));
    REQUIRE(input.ok());
    REQUIRE(writer.waitConnected());
    MidiEventRing& ring = (*input)->ring();

    constexpr int kBatches = 50;
    Drained drained(4 * kBatches);
    std::atomic<bool> stop{false};
    const uint64_t a0 = gAllocations, l0 = gLocks;
    std::thread audio([&] {
        for (int b = 0; !stop; ++b) {
            audioThreadBlock(ring, drained, b);
            std::this_thread::sleep_for(std::chrono::microseconds(5333)); // 256 frames at 48 kHz
        }
        audioThreadBlock(ring, drained, 1);
    });
    for (int i = 0; i < kBatches; ++i) {
        const auto note = uint8_t(40 + i);
        const auto expected = uint64_t(3 * (i + 1));
        REQUIRE(writer.sendUntil({JackMidiWriter::Event{0, {0x90, note, uint8_t(i + 1)}},
                                  JackMidiWriter::Event{5, {0xB0, 1, uint8_t(i)}},
                                  JackMidiWriter::Event{9, {0x80, note, 0}}},
                                 [&] { return ring.pushed() >= expected; }));
    }
    for (int i = 0; i < 500 && ring.pushed() < 3 * kBatches; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    stop = true;
    audio.join();
    const uint64_t allocations = gAllocations - a0, locks = gLocks - l0;
    REQUIRE(drained.n == 3 * kBatches);
    for (int i = 0; i < kBatches; ++i) {
        CHECK(drained.events[std::size_t(3 * i)].message ==
              MidiMessage{MidiKind::NoteOn, 0, uint8_t(40 + i), uint8_t(i + 1)});
        CHECK(drained.events[std::size_t(3 * i + 2)].message.kind == MidiKind::NoteOff);
    }
    CHECK(ring.dropped() == 0);
    if (kGuarded) {
        CHECK(allocations == 0);
        CHECK(locks == 0);
    }
}

TEST_CASE("an event is placed in the block one block after it was received", "[midi][realtime]") {
    const uint64_t start = 10'000'000'000; // a block starting at 10 s; 256 frames = 5.333 ms
    const double blockNs = 256 / 48000.0 * 1e9;
    auto at = [&](double ns) { return audioThreadFrameInBlock(uint64_t(ns), start, 256, 48000); };
    CHECK(at(double(start) - blockNs) == 0);
    CHECK(at(double(start) - blockNs / 2) == 128);
    CHECK(at(double(start) - blockNs / 4) == 192);
    CHECK(at(double(start) - 3 * blockNs) == 0); // late: at once
    CHECK(at(double(start) + 1e6) == 255);       // not yet due: the last frame
    CHECK(audioThreadFrameInBlock(start, start, 0, 48000) == 0);
}

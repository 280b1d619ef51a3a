// The real-time rule, enforced: while the real callback runs on the null backend through commits,
// their default crossfades, choice switches crossfading inside kernels (a filter's mode, an LFO's
// shape), recording and parameter storms from another thread, the audio thread never allocates
// and never locks a mutex. Global operator new/delete and pthread_mutex_lock are
// replaced in this test executable with counters armed only on the audio thread.
#include "runtime/backend.h"
#include "runtime/recorder.h"
#include "runtime/wav_file.h"
#include "tests/test_engine_harness.h"
#include "tests/test_realtime_guard.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <pthread.h>
#include <thread>
#include <unistd.h>

using namespace chronus;
using namespace chronus::test;

TEST_CASE("the guards themselves count on an armed thread", "[engine][realtime]") {
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

TEST_CASE("the audio thread never allocates or locks, through commits and parameter storms",
          "[engine][realtime]") {
    EngineOptions o;
    o.factory = defaultFactory();
    o.frames = 128; // the default crossfade (10 ms) spans several callbacks
    auto e = Engine::create(o);
    REQUIRE(e.ok());
    Engine& engine = **e;
    const std::string wav = fmt::format("/tmp/chronus_rt_{}.wav", getpid());
    auto recorder = Recorder::create(wav, o.sampleRate);
    REQUIRE(recorder.ok());

    BackendOptions bo;
    bo.recorder = recorder->get();
    bo.onAudioThreadStart = [] { tArmed = true; };
    bo.onAudioThreadEnd = [] { tArmed = false; }; // the thread's own teardown frees memory
    auto backend = makeNullBackend(engine, bo);
    const uint64_t a0 = gAllocations, l0 = gLocks;
    REQUIRE(backend->start().ok());

    REQUIRE(engine.create("osc1", "simple_sine").ok());
    REQUIRE(engine.create("amp", "gain").ok());
    REQUIRE(engine.connect("osc1", "amp").ok());
    REQUIRE(engine.create("env1", "adsr").ok());
    REQUIRE(engine.connect("amp", "env1").ok());
    REQUIRE(engine.create("filt1", "biquad_filter").ok());
    REQUIRE(engine.connect("env1", "filt1").ok());
    REQUIRE(engine.create("lfo1", "lfo").ok());
    REQUIRE(engine.setParam("lfo1", "depth", 0.2f).ok());
    REQUIRE(engine.connect("lfo1", "amp:level").ok());
    CommitReport first;
    REQUIRE(engine.waitForCommit(engine.commit([&](const CommitReport& r) { first = r; }), 30'000));
    REQUIRE(first.ok);

    std::atomic<bool> stop{false};
    std::atomic<uint64_t> writes{0}, timedRefused{0};
    std::thread storm([&] {
        for (uint64_t i = 0; !stop; ++i) {
            (void)engine.setParam("osc1", "freq", 300.0f + float(i % 400));
            (void)engine.setParam("amp", "level", float(i % 2));
            (void)engine.gate("env1", float(i % 2));
            if (i % 16 == 0) { // a choice switch starts a fade in the kernel
                (void)engine.setParam("filt1", "mode", float(i / 16 % 4));
                (void)engine.setParam("lfo1", "shape", float(i / 16 % 4));
            }
            const uint64_t now = engine.status().samplePosition;
            if (!engine.setParamAt(now + 64 + i % 300, "osc1", "gain", float(i % 10) / 20.0f).ok())
                ++timedRefused;
            writes += 4;
            if (i % 64 == 0) std::this_thread::yield();
        }
    });
    for (int k = 0; k < 12; ++k) {
        if (k % 2 == 0)
            REQUIRE(engine.create("x", "simple_sine").ok());
        else
            REQUIRE(engine.remove("x").ok());
        CommitReport r;
        REQUIRE(engine.waitForCommit(engine.commit([&](const CommitReport& c) { r = c; }), 30'000));
        INFO(r.reason);
        REQUIRE(r.ok);
        (void)engine.status();
    }
    // Commits of known shapes take a few ms each: keep the storm going until the audio thread has
    // rendered enough blocks under it that the guard means something, however fast they were.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (engine.status().callbacks <= 50 && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    stop = true;
    storm.join();
    std::this_thread::sleep_for(std::chrono::milliseconds(50)); // timed events still play
    backend->stop();
    const uint64_t allocations = gAllocations - a0, locks = gLocks - l0;
    REQUIRE((*recorder)->finish().ok());

    const EngineStatus s = engine.status();
    INFO(s.callbacks << " callbacks, " << writes << " writes (" << timedRefused
                     << " timed refused), " << s.commits << " commits, " << s.crossfades
                     << " crossfades, load p99 " << s.loadP99 << ", while crossfading p99 "
                     << s.fadeLoadP99);
    CHECK(s.callbacks > 50);
    CHECK(s.commits == 13);
    CHECK(s.crossfades == 12); // every commit after the first changed what is heard
    if (kGuarded) {
        CHECK(allocations == 0);
        CHECK(locks == 0);
    }
    CHECK((*recorder)->writtenFrames() > 0);
    std::remove(wav.c_str());
}

TEST_CASE("the output guard silences and resets a blown-up patch without allocating or locking",
          "[engine][realtime][guard]") {
    EngineOptions o;
    o.factory = defaultFactory();
    o.frames = 128;
    auto e = Engine::create(o);
    REQUIRE(e.ok());
    Engine& engine = **e;
    BackendOptions bo;
    bo.onAudioThreadStart = [] { tArmed = true; };
    bo.onAudioThreadEnd = [] { tArmed = false; };
    auto backend = makeNullBackend(engine, bo);
    const uint64_t a0 = gAllocations, l0 = gLocks;
    REQUIRE(backend->start().ok());
    // sine -> mix (in1) -> gain -> z1 -> mix:in2, and a delay line to make the reset do work.
    for (const char* line :
         {"osc simple_sine", "m mix 2", "g gain", "d z1", "dl delay 500", "out output"}) {
        const std::string s(line);
        const auto space = s.find(' ');
        std::optional<float> arg;
        std::string type = s.substr(space + 1);
        if (const auto sp = type.find(' '); sp != std::string::npos) {
            arg = std::stof(type.substr(sp + 1));
            type = type.substr(0, sp);
        }
        REQUIRE(engine.create(s.substr(0, space), type, arg).ok());
    }
    for (auto [src, dst] : {std::pair{"osc", "m:in1"},
                            {"m", "g"},
                            {"g", "d"},
                            {"d", "m:in2"},
                            {"g", "dl"},
                            {"dl", "out"}})
        REQUIRE(engine.connect(src, dst).ok());
    REQUIRE(engine.setParam("g", "level", 0.5f).ok());
    CommitReport first;
    REQUIRE(engine.waitForCommit(engine.commit([&](const CommitReport& r) { first = r; }), 30'000));
    REQUIRE(first.ok);
    for (int k = 0; k < 6; ++k) {
        REQUIRE(engine.setParam("g", "level", 2.0f).ok());
        std::this_thread::sleep_for(std::chrono::milliseconds(120));
        REQUIRE(engine.setParam("g", "level", 0.5f).ok());
        std::this_thread::sleep_for(std::chrono::milliseconds(120));
    }
    backend->stop();
    const uint64_t allocations = gAllocations - a0, locks = gLocks - l0;
    const EngineStatus s = engine.status();
    INFO(s.callbacks << " callbacks, " << s.guardTrips << " trips");
    CHECK(s.guardTrips >= 6);
    if (kGuarded) {
        CHECK(allocations == 0);
        CHECK(locks == 0);
    }
}

TEST_CASE("notes allocate, steal and carry voices without allocating or locking",
          "[engine][realtime][poly]") {
    EngineOptions o;
    o.factory = defaultFactory();
    o.frames = 128;
    auto e = Engine::create(o);
    REQUIRE(e.ok());
    Engine& engine = **e;
    BackendOptions bo;
    bo.onAudioThreadStart = [] { tArmed = true; };
    bo.onAudioThreadEnd = [] { tArmed = false; };
    auto backend = makeNullBackend(engine, bo);
    const uint64_t a0 = gAllocations, l0 = gLocks;
    REQUIRE(backend->start().ok());
    auto run = [&](const std::string& text) {
        auto lines = parsePatchText(text);
        REQUIRE(lines.ok());
        for (const PatchLine& line : *lines) {
            auto cmd = decodeCommand(line.address, line.args);
            REQUIRE(cmd.ok());
            if (std::holds_alternative<CommitCommand>(*cmd)) {
                CommitReport r;
                REQUIRE(engine.waitForCommit(engine.commit([&](const CommitReport& c) { r = c; }),
                                             30'000));
                INFO(r.reason);
                REQUIRE(r.ok);
                continue;
            }
            Status s = engine.apply(*cmd);
            INFO(line.address << ": " << (s.ok() ? "" : s.message()));
            REQUIRE(s.ok());
        }
    };
    run("/voice/begin v\n/patch/create osc saw\n/patch/create env adsr\n/patch/connect osc env\n"
        "/mod/env/release 30\n/voice/end\n/voice/map v pitch osc:freq\n/voice/map v gate env:gate\n"
        "/voice/map v velocity osc:gain\n/patch/create keys poly v 4\n/patch/commit\n");

    std::atomic<bool> stop{false};
    std::atomic<uint64_t> notes{0};
    std::thread player([&] {
        for (uint64_t i = 0; !stop; ++i) {
            const uint16_t n = static_cast<uint16_t>(40 + i * 7 % 48);
            const uint64_t now = engine.status().samplePosition;
            (void)engine.noteAt(now + 32 + i % 200, "keys", NoteCommand::on, n, 100);
            (void)engine.noteAt(now + 400 + i % 300, "keys", NoteCommand::off, n, 0);
            if (i % 8 == 0) (void)engine.noteAt(0, "keys", NoteCommand::bend, 0, float(i % 5) - 2);
            if (i % 16 == 0)
                (void)engine.noteAt(0, "keys", NoteCommand::pedal, 0, float(i / 16 % 2));
            notes += 2;
            std::this_thread::sleep_for(std::chrono::microseconds(300));
        }
    });
    for (int k = 0; k < 6; ++k) // template edits recommitted while notes sound
        run(fmt::format("/voice/begin v\n/mod/env/release {}\n/voice/end\n/patch/commit\n",
                        20 + 10 * k));
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (engine.status().callbacks <= 100 && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    stop = true;
    player.join();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    backend->stop();
    const uint64_t allocations = gAllocations - a0, locks = gLocks - l0;
    const EngineStatus s = engine.status();
    INFO(s.callbacks << " callbacks, " << notes << " note events, " << s.commits << " commits");
    CHECK(s.callbacks > 100);
    CHECK(s.commits == 7);
    if (kGuarded) {
        CHECK(allocations == 0);
        CHECK(locks == 0);
    }
}

TEST_CASE("a stereo patch reading audio in never allocates or locks on the audio thread",
          "[engine][realtime][stereo][input]") {
    EngineOptions o;
    o.factory = defaultFactory();
    o.frames = 128;
    auto e = Engine::create(o);
    REQUIRE(e.ok());
    Engine& engine = **e;
    const std::string wav = fmt::format("/tmp/chronus_rt_stereo_{}.wav", getpid());
    auto recorder = Recorder::create(wav, o.sampleRate, WavFormat::float32, 4.0, 2);
    REQUIRE(recorder.ok());
    auto input = std::make_shared<InputAudio>();
    input->channels.assign(2, std::vector<float>(4801));
    for (size_t i = 0; i < 4801; ++i) {
        input->channels[0][i] = 0.3f * static_cast<float>(std::sin(0.05 * double(i)));
        input->channels[1][i] = 0.3f * static_cast<float>(std::sin(0.031 * double(i)));
    }

    BackendOptions bo;
    bo.recorder = recorder->get();
    bo.channels = 2;
    bo.input = input;
    bo.onAudioThreadStart = [] { tArmed = true; };
    bo.onAudioThreadEnd = [] { tArmed = false; };
    auto backend = makeNullBackend(engine, bo);
    const uint64_t a0 = gAllocations, l0 = gLocks;
    REQUIRE(backend->start().ok());

    // Audio in 1 through a filter panned left, audio in 2 ring-modulated panned right.
    REQUIRE(engine.create("in1", "input", 1.0f).ok());
    REQUIRE(engine.create("in2", "input", 2.0f).ok());
    REQUIRE(engine.create("filt", "biquad_filter").ok());
    REQUIRE(engine.connect("in1", "filt").ok());
    REQUIRE(engine.create("osc", "simple_sine").ok());
    REQUIRE(engine.create("ring", "multiply").ok());
    REQUIRE(engine.connect("in2", "ring:a").ok());
    REQUIRE(engine.connect("osc", "ring:b").ok());
    REQUIRE(engine.create("pl", "pan").ok());
    REQUIRE(engine.create("pr", "pan").ok());
    REQUIRE(engine.setParam("pl", "pos", -0.7f).ok());
    REQUIRE(engine.setParam("pr", "pos", 0.7f).ok());
    REQUIRE(engine.connect("filt", "pl").ok());
    REQUIRE(engine.connect("ring", "pr").ok());
    REQUIRE(engine.create("out", "output").ok());
    for (const char* p : {"pl", "pr"}) {
        REQUIRE(engine.connect(std::string(p) + ":left", "out:left").ok());
        REQUIRE(engine.connect(std::string(p) + ":right", "out:right").ok());
    }
    CommitReport first;
    REQUIRE(engine.waitForCommit(engine.commit([&](const CommitReport& r) { first = r; }), 30'000));
    INFO(first.reason);
    REQUIRE(first.ok);

    std::atomic<bool> stop{false};
    std::thread storm([&] {
        for (uint64_t i = 0; !stop; ++i) {
            (void)engine.setParam("pl", "pos", float(i % 200) / 100.0f - 1.0f);
            (void)engine.setParam("filt", "cutoff", 300.0f + float(i % 3000));
            if (i % 64 == 0) std::this_thread::yield();
        }
    });
    // Commits that crossfade: a module in and out, and the patch mono (only `in` of the output
    // connected) and back, so fades run between programs of one and of two channels.
    for (int k = 0; k < 8; ++k) {
        if (k % 4 == 0) REQUIRE(engine.create("x", "simple_sine").ok());
        if (k % 4 == 1) REQUIRE(engine.connect("x", "out").ok());
        for (const char* p : {"pl", "pr"}) {
            const std::string src = p;
            if (k % 4 == 2) { // mono: x alone into out:in
                REQUIRE(engine.disconnect(src + ":left", "out:left").ok());
                REQUIRE(engine.disconnect(src + ":right", "out:right").ok());
            } else if (k % 4 == 3) {
                REQUIRE(engine.connect(src + ":left", "out:left").ok());
                REQUIRE(engine.connect(src + ":right", "out:right").ok());
            }
        }
        if (k % 4 == 3) REQUIRE(engine.remove("x").ok());
        CommitReport r;
        REQUIRE(engine.waitForCommit(engine.commit([&](const CommitReport& c) { r = c; }), 30'000));
        INFO(r.reason);
        REQUIRE(r.ok);
    }
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (engine.status().callbacks <= 50 && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    stop = true;
    storm.join();
    backend->stop();
    const uint64_t allocations = gAllocations - a0, locks = gLocks - l0;
    REQUIRE((*recorder)->finish().ok());
    const EngineStatus s = engine.status();
    CHECK(s.callbacks > 50);
    CHECK(s.crossfades >= 7);
    if (kGuarded) {
        CHECK(allocations == 0);
        CHECK(locks == 0);
    }
    auto rec = readWav(wav);
    REQUIRE(rec.ok());
    CHECK(rec->channels == 2);
    CHECK(rec->samples.size() > 0);
    std::remove(wav.c_str());
}

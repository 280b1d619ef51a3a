// `chronus serve`: runs the engine on an audio backend (PortAudio, null clock or offline), with
// an optional patch file applied at start, an optional recording, and the OSC server.
#include "cli/commands.h"
#include "osc/osc_server.h"
#include "runtime/backend.h"
#include "runtime/backend_offline.h"
#include "runtime/engine.h"
#include "runtime/engine_factory.h"
#include "runtime/patch_player.h"
#include "runtime/patch_state.h"
#include "runtime/recorder.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <fmt/format.h>
#include <memory>
#include <thread>

namespace chronus::cli {

namespace {

struct ServeArgs {
    std::string device; ///< empty: the default PortAudio output, else null
    bool listDevices = false;
    float rate = 48000;
    uint32_t frames = 256;
    std::string patch;
    std::string record;
    double xfadeMs = EngineOptions{}.xfadeMs;
    std::string engine{defaultEngineName()};
    std::string tiered = "on"; ///< --tiered on|off: quick first tier, optimised one after
    double seconds = 0;
    std::string bind = "127.0.0.1";
    int port = kDefaultOscPort;
    std::string irDir;
    bool noOsc = false;
    std::string state; ///< --state FILE: restored at start, rewritten at each change
    GraphLimits limits;
};

volatile std::sig_atomic_t gSignal = 0;
extern "C" void onSignal(int sig) {
    gSignal = sig;
}

bool verboseEnv() {
    const char* v = std::getenv("CHRONUS_VERBOSE");
    return v != nullptr && *v != '\0' && std::string_view(v) != "0";
}

void reportCommit(const CommitReport& r, bool verbose) {
    if (!r.ok)
        fmt::print(stderr, "chronus serve: commit {} failed: {}\n", r.seq, r.reason);
    else if (verbose || r.silent)
        fmt::print(
            stderr,
            "chronus serve: commit {} playing (compile {:.1f} ms, prime {:.1f} ms, rms {:.3f}{})\n",
            r.seq, r.compileMs, r.primeMs, r.primeRms, r.silent ? ", silent" : "");
}

int fail(const std::string& message) {
    fmt::print(stderr, "chronus serve: {}\n", message);
    return 1;
}

int runServe(const ServeArgs& a) {
    const bool verbose = verboseEnv();
    if (a.listDevices) {
        auto text = listPortAudioDevices();
        if (!text) return fail(text.error().message);
        fmt::print("{}", *text);
        return 0;
    }

    // The patch to play: --state's FILE when it exists (it is what played last, so it replaces
    // --patch), else --patch. Checked whole before anything plays: a bad line stops serve here.
    std::optional<PatchScript> script;
    bool restoring = false;
    if (!a.state.empty()) {
        auto st = readStateFile(a.state);
        if (!st) return fail(st.error().message + " (move it away to start afresh)");
        if (*st) {
            script = std::move(**st);
            restoring = true;
            if (!a.patch.empty())
                fmt::print(stderr, "chronus serve: restoring {}; --patch {} is not applied\n",
                           a.state, a.patch);
        }
    }
    if (!script && !a.patch.empty()) {
        GraphLimits limits = a.limits;
        limits.sampleRate = a.rate;
        auto loaded = loadPatchFile(a.patch, limits);
        if (!loaded) return fail(loaded.error().message);
        script = loaded.take();
    }
    auto factory = engineFactory(a.engine, a.tiered == "on");
    if (!factory) return fail(factory.error().message);
    EngineOptions eo;
    eo.tiered = a.tiered == "on";
    eo.sampleRate = a.rate;
    eo.frames = a.frames;
    eo.factory = factory.take();
    eo.xfadeMs = a.xfadeMs;
    eo.verbose = verbose;
    eo.limits = a.limits;
    auto engineOr = Engine::create(eo);
    if (!engineOr) return fail(engineOr.error().message);
    std::unique_ptr<Engine> engine = engineOr.take();

    std::unique_ptr<Recorder> recorder;
    if (!a.record.empty()) {
        auto r = Recorder::create(a.record, a.rate);
        if (!r) return fail(r.error().message);
        recorder = r.take();
    }

    BackendOptions bo;
    bo.device = a.device;
    bo.recorder = recorder.get();
    const bool offline = a.device == "offline";
    if (offline && a.seconds > 0)
        bo.maxSamples = static_cast<uint64_t>(std::llround(a.seconds * a.rate));
    std::unique_ptr<AudioBackend> backend;
    if (a.device == "null") {
        backend = makeNullBackend(*engine, bo);
    } else if (offline) {
        backend = std::make_unique<OfflineBackend>(*engine, bo);
    } else if (a.device.empty() && !havePortAudioDefaultOutput()) {
        fmt::print(stderr, "chronus serve: no audio output device; using the null backend\n");
        backend = makeNullBackend(*engine, bo);
    } else {
        auto pa = openPortAudioBackend(*engine, bo);
        if (!pa && a.device.empty()) {
            fmt::print(stderr, "chronus serve: {}; using the null backend\n", pa.error().message);
            backend = makeNullBackend(*engine, bo);
        } else if (!pa) {
            return fail(pa.error().message);
        } else {
            backend = pa.take();
        }
    }
    // The patch, on the player's live clock: the lines due at the start now, committed; the rest
    // as the engine's clock reaches them. Offline, the first commit is driven in before rendering
    // starts, so it lands on sample 0.
    std::optional<PatchPlayer> player;
    if (script) {
        PatchPlayerOptions po;
        po.onCommit = [verbose](const CommitReport& r) { reportCommit(r, verbose); };
        player.emplace(*engine, std::move(*script), std::move(po));
    }
    auto first = [&]() -> uint64_t {
        if (!player) return 0;
        if (Status s = player->start(engine->status().samplePosition); !s)
            fmt::print(stderr, "chronus serve: {}\n", s.message());
        if (restoring) fmt::print(stderr, "chronus serve: restored the patch of {}\n", a.state);
        return player->lastCommit();
    };
    if (offline) {
        if (const uint64_t seq = first(); seq != 0)
            static_cast<OfflineBackend&>(*backend).waitForCommit(seq, 60'000);
    }
    if (Status s = backend->start(); !s) return fail(s.message());
    if (!offline) {
        if (const uint64_t seq = first(); seq != 0) engine->waitForCommit(seq, 60'000);
    }
    std::unique_ptr<PatchStateWriter> stateWriter;
    if (!a.state.empty()) {
        auto w = PatchStateWriter::start(*engine, a.state);
        if (!w) {
            backend->stop();
            if (recorder) (void)recorder->finish();
            return fail(w.error().message);
        }
        stateWriter = w.take();
    }

    std::unique_ptr<OscServer> osc;
    if (!a.noOsc) {
        OscOptions oo;
        oo.bind = a.bind;
        oo.port = a.port;
        oo.irDir = a.irDir;
        oo.verbose = verbose;
        auto server = OscServer::start(*engine, oo);
        if (!server) {
            backend->stop();
            if (recorder) (void)recorder->finish();
            return fail(server.error().message);
        }
        osc = server.take();
    }
    fmt::print(stderr, "chronus serve: {}; {}; {}\n", backend->describe(),
               osc ? fmt::format("OSC on {}:{}", a.bind, osc->port()) : std::string("no OSC"),
               a.seconds > 0 ? fmt::format("stopping after {:g} s", a.seconds)
                             : std::string("Ctrl-C or /engine/quit stops"));

    gSignal = 0;
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);
    const auto startTime = std::chrono::steady_clock::now();
    for (;;) {
        if (gSignal != 0 || (osc && osc->quitRequested())) break;
        if (offline ? !backend->running()
                    : a.seconds > 0 && std::chrono::duration<double>(
                                           std::chrono::steady_clock::now() - startTime)
                                               .count() >= a.seconds)
            break;
        if (player && !player->finished())
            if (Status s = player->advance(engine->status().samplePosition); !s)
                fmt::print(stderr, "chronus serve: {}\n", s.message());
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);

    osc.reset();
    backend->stop();
    stateWriter.reset(); // writes the last changes
    const EngineStatus st = engine->status();
    int rc = 0;
    if (recorder) {
        if (Status s = recorder->finish(); !s) rc = fail(s.message());
        if (recorder->droppedFrames() > 0)
            fmt::print(stderr,
                       "chronus serve: the recording dropped {} frames (the writer fell behind)\n",
                       recorder->droppedFrames());
    }
    fmt::print(
        stderr,
        "chronus serve: stopped after {:.2f} s of audio: {} commits, {} failed, {} xruns, {} "
        "overruns, callback load p50 {:.3f} p99 {:.3f} max {:.3f}\n",
        double(st.samplePosition) / double(a.rate), st.commits, st.failures, st.xruns, st.overruns,
        st.loadP50, st.loadP99, st.loadMax);
    backend.reset();
    engine.reset();
    return rc;
}

} // namespace

void addServeCommand(CLI::App& app) {
    auto args = std::make_shared<ServeArgs>();
    auto* cmd =
        app.add_subcommand("serve", "Run the engine on an audio device, controlled over OSC");
    cmd->add_option(
        "--device", args->device,
        "audio device: PortAudio index or part of its name, 'null' (clock-paced, no "
        "device) or 'offline' (as fast as possible); default: the default output, else null");
    cmd->add_flag("--list-devices", args->listDevices, "list PortAudio output devices and exit");
    cmd->add_option("-r,--rate", args->rate, "sample rate")
        ->check(CLI::Range(8000.0f, 384000.0f))
        ->capture_default_str();
    cmd->add_option("-f,--frames", args->frames, "frames per buffer")
        ->check(CLI::Range(1u, 8192u))
        ->capture_default_str();
    cmd->add_option("--patch", args->patch, "patch file applied and committed at start")
        ->check(CLI::ExistingFile);
    cmd->add_option("--record", args->record, "write what the engine plays to this WAV file");
    cmd->add_option("--xfade-ms", args->xfadeMs,
                    "crossfade at a commit that changes what is heard (0: hard swap)")
        ->check(CLI::Range(0.0, 1000.0));
    cmd->add_option("--tiered", args->tiered,
                    "on: a commit plays a quickly compiled version first, then the fully "
                    "optimised one (same sound); off: the optimised one only")
        ->check(CLI::IsMember({"on", "off"}))
        ->capture_default_str();
    cmd->add_option("--engine", args->engine, "jit or interp")
        ->check(CLI::IsMember({"jit", "interp"}))
        ->capture_default_str();
    cmd->add_option("-s,--seconds", args->seconds,
                    "run this long then quit (0: until Ctrl-C, SIGTERM or /engine/quit; offline: "
                    "seconds of audio)")
        ->check(CLI::Range(0.0, 1e7));
    cmd->add_option("--bind", args->bind, "OSC address to bind")->capture_default_str();
    cmd->add_option("--port", args->port, "OSC UDP port")
        ->check(CLI::Range(0, 65535))
        ->capture_default_str();
    cmd->add_option("--ir-dir", args->irDir, "directory /patch/ir writes its dumps to");
    cmd->add_flag("--no-osc", args->noOsc, "do not start the OSC server");
    cmd->add_option("--state", args->state,
                    "keep the committed patch and its parameter values in this file (written "
                    "atomically at each commit, parameter changes at most every 200 ms) and "
                    "restore it at start, instead of --patch, when it exists");
    addGraphLimitOptions(*cmd, args->limits);
    cmd->callback([args] {
        if (int rc = runServe(*args); rc != 0) throw CLI::RuntimeError(rc);
    });
}

} // namespace chronus::cli

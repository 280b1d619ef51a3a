// `chronus serve`: runs the engine on an audio backend (PortAudio, null clock or offline), with
// an optional patch file applied at start, an optional recording, and the OSC server.
#include "cli/cache_options.h"
#include "cli/command_exit.h"
#include "cli/commands.h"
#include "midi/midi_input.h"
#include "midi/midi_ports.h"
#include "osc/osc_server.h"
#include "runtime/backend.h"
#include "runtime/backend_offline.h"
#include "runtime/engine.h"
#include "runtime/engine_factory.h"
#include "runtime/offline_render.h"
#include "runtime/patch_player.h"
#include "runtime/patch_state.h"
#include "runtime/recorder.h"
#include "runtime/wav_file.h"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <memory>
#include <thread>
#include <unistd.h>

namespace chronus::cli {

namespace {

struct ServeArgs {
    std::string device; ///< empty: the default PortAudio output, else null
    bool listDevices = false;
    float rate = 48000;
    uint32_t frames = 256;
    std::string patch;
    std::string record;
    std::string format = "float"; ///< --format of --record: float, 24 or 16
    double xfadeMs = EngineOptions{}.xfadeMs;
    std::string engine{defaultEngineName()};
    std::string tiered = "on"; ///< --tiered on|off: quick first tier, optimised one after
    double seconds = 0;
    std::string bind = "127.0.0.1";
    int port = kDefaultOscPort;
    std::string irDir;
    bool noOsc = false;
    std::string state;       ///< --state FILE: restored at start, rewritten at each change
    bool stateReset = false; ///< --state-reset: a FILE that does not restore whole is set aside
    std::size_t timedEvents = EngineOptions{}.timedEventCapacity;
    std::size_t timedEventsPerClient = EngineOptions{}.timedEventsPerClient;
    CodeCacheRequest cache;
    double cacheMaxMb = 256;
    GraphLimits limits;
    std::string midi;        ///< --midi PORT (part of its name) or "list"; empty: no live MIDI
    uint32_t channels = 0;   ///< --channels: 0 = the device's (PortAudio) or the patch's
    std::string input;       ///< --input FILE: audio in, looped (null) or once (offline)
    uint32_t inputs = 0;     ///< --inputs: device input channels; 0 = as the patch reads
    std::string inputDevice; ///< --input-device
};

/// --input's file as planar channels (serve: at the engine's rate, else refused).
Expected<std::shared_ptr<InputAudio>> loadServeInput(const std::string& path, float rate) {
    auto wav = readWav(path);
    if (!wav) return makeError("--input {}: {}", path, wav.error().message);
    if (wav->channels <= 0 || wav->samples.empty())
        return makeError("--input {}: no audio in it", path);
    if (static_cast<float>(wav->sampleRate) != rate)
        return makeError("--input {} is at {} Hz and the engine at {:g} Hz (serve -r {})", path,
                         wav->sampleRate, rate, wav->sampleRate);
    return InputAudio::fromInterleaved(wav->samples, static_cast<std::size_t>(wav->channels));
}

volatile std::sig_atomic_t gSignal = 0;
extern "C" void onSignal(int sig) {
    gSignal = sig;
}

void reportCommit(const CommitReport& r, bool verbose, uint32_t frames) {
    if (!r.ok)
        fmt::print(stderr, "chronus serve: commit {} failed: {}\n", r.seq, r.reason);
    else if (verbose || r.silent)
        fmt::print(
            stderr,
            "chronus serve: commit {} playing (compile {:.1f} ms, prime {:.1f} ms, rms {:.3f}{})\n",
            r.seq, r.compileMs, r.primeMs, r.primeRms, r.silent ? ", silent" : "");
    for (const std::string& note : commitNotes(r, frames))
        fmt::print(stderr, "chronus serve: commit {} plays, but {}\n", r.seq, note);
}

/// A --state FILE that does not restore whole (`why`) is never overwritten: without --state-reset
/// `serve` stops and leaves it as it is; with it, the file is set aside and `serve` starts afresh.
Status stateNotRestored(const ServeArgs& a, const std::string& why) {
    if (!a.stateReset)
        return makeError("{}\nchronus serve: {} does not restore whole, so it is left as it is: "
                         "fix it, or start with --state-reset to set it aside as {}.bad-<time> "
                         "and start afresh",
                         why, a.state, a.state);
    fmt::print(stderr, "chronus serve: {}\n", why);
    auto aside = setAsideStateFile(a.state);
    if (!aside) return aside.error();
    fmt::print(stderr,
               "chronus serve: --state-reset: {} does not restore whole; set aside as {}, "
               "starting afresh{}\n",
               a.state, *aside, a.patch.empty() ? "" : " with --patch");
    return {};
}

/// What `serve` prints when it stops: each counter with what it means.
std::string exitSummary(const EngineStatus& st, const ClockJitter& jitter, float rate) {
    std::string out =
        fmt::format("chronus serve: stopped after {:.2f} s of audio: {} commits, {} failed\n",
                    double(st.samplePosition) / double(rate), st.commits, st.failures);
    out +=
        fmt::format("  xruns      {}  blocks the engine did not have ready in time{}\n", st.xruns,
                    jitter.measured ? " (its render took longer than the block)"
                                    : " (as the audio device reported them)");
    out += fmt::format("  overruns   {}  callbacks that took longer than their block, by the "
                       "wall clock\n",
                       st.overruns);
    out += fmt::format("  load       p50 {:.3f}  p99 {:.3f}  max {:.3f}  (callback time / block "
                       "time; 1 is a whole block)\n",
                       st.loadP50, st.loadP99, st.loadMax);
    if (jitter.measured) {
        // Two figures a user reads apart from the xruns above: "late" is a block the clock's
        // thread woke for so late that a device would have run dry although the engine was quick;
        // "worst" is the most any wake-up came after its moment, late or not (below one block,
        // nothing was heard).
        const double blockMs = rate > 0 ? 1000.0 * double(st.frames) / double(rate) : 0;
        out += fmt::format("  jitter     {} of {} wake-ups late  the null clock's thread woke too "
                           "late for a block the engine rendered in time (a device would have run "
                           "dry): the machine's scheduling, not the engine\n",
                           jitter.lateWakeups, jitter.wakeups);
        out += fmt::format("  wake-up    worst {:.2f} ms after its moment  (a block lasts {:.2f} "
                           "ms: about that much later is a late wake-up; less is not heard)\n",
                           jitter.worstLateMs, blockMs);
    }
    return out;
}

/// The OSC socket `chronus` bound for this serve before starting this program (CHRONUS_OSC_FD),
/// if it is there and bound where this serve was asked to listen; otherwise nothing (and the
/// descriptor is closed), and serve binds its own.
std::unique_ptr<OscServer> handedDownSocket(const OscOptions& options) {
    const char* env = std::getenv("CHRONUS_OSC_FD");
    if (env == nullptr) return nullptr;
    const int fd = std::atoi(env);
    ::unsetenv("CHRONUS_OSC_FD"); // not for the children
    if (fd < 3) return nullptr;
    auto server = OscServer::adopt(fd, options);
    if (!server) {
        ::close(fd);
        return nullptr;
    }
    if (options.port != 0 && (*server)->port() != options.port) return nullptr;
    return server.take();
}

/// `--ir-dir`: a directory this process can write into, checked at start rather than at the
/// first /patch/ir.
Status checkWritableDirectory(const std::string& dir) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) return makeError("'{}' is not a directory", dir);
    if (::access(dir.c_str(), W_OK | X_OK) != 0)
        return makeError("cannot write into '{}': {}", dir, std::strerror(errno));
    return {};
}

int runServe(const ServeArgs& a) {
    const bool verbose = verboseFromEnv();
    if (a.listDevices) {
        auto text = listPortAudioDevices();
        if (!text) return failCommand("serve", text.error().message);
        fmt::print("{}", *text);
        return 0;
    }

    if (a.midi == "list") {
        fmt::print("{}", midi::formatMidiPortList(midi::listMidiInputPorts("chronus-list")));
        return 0;
    }
    if (!a.irDir.empty()) {
        if (Status s = checkWritableDirectory(a.irDir); !s)
            return failCommand("serve", "--ir-dir: " + s.message());
    }
    // The socket first, before anything slow (the JIT's start, the device, the state file): a
    // client started at the same moment finds the port bound, and what it sends waits in the
    // socket, in order, until the engine is ready to handle it.
    std::unique_ptr<OscServer> osc;
    if (!a.noOsc) {
        OscOptions oo;
        oo.bind = a.bind;
        oo.port = a.port;
        oo.irDir = a.irDir;
        oo.verbose = verbose;
        // `chronus` (front_main.cpp) may have bound it already, before this program loaded.
        if (auto handed = handedDownSocket(oo)) {
            osc = std::move(handed);
        } else {
            auto server = OscServer::bind(oo);
            if (!server) return failCommand("serve", server.error().message);
            osc = server.take();
            fmt::print(stderr, "chronus: listening on {} (OSC/UDP)\n", osc->address());
        }
    }

    // The patch to play: --state's FILE when it exists (it is what played last, so it replaces
    // --patch), else --patch. Checked whole before anything plays: a bad line stops serve here.
    std::optional<PatchScript> script;
    bool restoring = false;
    if (!a.state.empty()) {
        if (Status s = checkStatePath(a.state); !s) return failCommand("serve", s.message());
        auto st = readStateFile(a.state);
        if (!st) {
            if (Status s = stateNotRestored(a, st.error().message); !s)
                return failCommand("serve", s.message());
        } else if (*st) {
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
        if (!loaded) return failCommand("serve", loaded.error().message);
        script = loaded.take();
    }
    if (!applyCacheOptions(a.cache, a.cacheMaxMb, "serve")) return 1;
    auto factory = engineFactory(a.engine, a.tiered == "on");
    if (!factory) return failCommand("serve", factory.error().message);
    EngineOptions eo;
    eo.tiered = a.tiered == "on";
    eo.sampleRate = a.rate;
    eo.frames = a.frames;
    eo.factory = factory.take();
    eo.xfadeMs = a.xfadeMs;
    eo.verbose = verbose;
    eo.timedEventCapacity = a.timedEvents;
    eo.timedEventsPerClient = a.timedEventsPerClient;
    eo.limits = a.limits;
    auto engineOr = Engine::create(eo);
    if (!engineOr) return failCommand("serve", engineOr.error().message);
    std::unique_ptr<Engine> engine = engineOr.take();

    // Channels: what --channels says, else the patch's (a mono patch records a mono file; a
    // PortAudio device still plays it on all its channels). Audio in: the device's inputs the
    // patch reads (or --inputs), or --input's file on the null and offline devices. A patch
    // committed later over OSC plays on the channels opened here.
    GraphLimits patchLimits = a.limits;
    patchLimits.sampleRate = a.rate;
    const uint32_t patchChans = script ? patchChannels(*script, patchLimits) : 1;
    const uint32_t patchInputs = script ? patchInputChannels(*script, patchLimits) : 0;
    const uint32_t recordChannels = a.channels > 0 ? a.channels : patchChans;
    const bool deviceless = a.device == "null" || a.device == "offline";
    std::shared_ptr<InputAudio> input;
    if (!a.input.empty()) {
        if (!deviceless)
            return failCommand(
                "serve", "--input FILE is for --device null or offline; a device's own inputs "
                         "are opened with --inputs N");
        auto in = loadServeInput(a.input, a.rate);
        if (!in) return failCommand("serve", in.error().message);
        input = in.take();
    }
    std::unique_ptr<Recorder> recorder;
    if (!a.record.empty()) {
        auto format = parseWavFormat(a.format);
        if (!format) return failCommand("serve", format.error().message);
        auto r = Recorder::create(a.record, a.rate, *format, 4.0, recordChannels);
        if (!r) return failCommand("serve", r.error().message);
        recorder = r.take();
    }

    BackendOptions bo;
    bo.device = a.device;
    bo.recorder = recorder.get();
    bo.channels = a.channels;
    bo.input = input;
    bo.inputChannels = a.inputs > 0 ? a.inputs : patchInputs;
    bo.inputDevice = a.inputDevice;
    const bool offline = a.device == "offline";
    if (offline && a.seconds > 0)
        bo.maxSamples = static_cast<uint64_t>(std::llround(a.seconds * a.rate));
    std::unique_ptr<AudioBackend> backend;
    BackendOptions nullOptions = bo; // the null and offline backends play the patch's channels
    nullOptions.channels = recordChannels;
    if (a.device == "null") {
        backend = makeNullBackend(*engine, nullOptions);
    } else if (offline) {
        backend = std::make_unique<OfflineBackend>(*engine, nullOptions);
    } else if (a.device.empty() && !havePortAudioDefaultOutput()) {
        fmt::print(stderr, "chronus serve: no audio output device; using the null backend\n");
        backend = makeNullBackend(*engine, nullOptions);
    } else {
        auto pa = openPortAudioBackend(*engine, bo);
        if (!pa && a.device.empty()) {
            fmt::print(stderr, "chronus serve: {}; using the null backend\n", pa.error().message);
            backend = makeNullBackend(*engine, nullOptions);
        } else if (!pa) {
            return failCommand("serve", pa.error().message);
        } else {
            backend = pa.take();
        }
    }
    // The patch, on the player's live clock: the lines due at the start now, committed; the rest
    // as the engine's clock reaches them. Offline, the first commit is driven in before rendering
    // starts, so it lands on sample 0.
    std::optional<PatchPlayer> player;
    // What the first commit came to: --state restores whole only if its lines apply and it plays.
    auto firstReport = std::make_shared<std::optional<CommitReport>>();
    auto play = [&](PatchScript played) {
        PatchPlayerOptions po;
        po.onCommit = [verbose, firstReport, frames = a.frames](const CommitReport& r) {
            if (!firstReport->has_value()) *firstReport = r;
            reportCommit(r, verbose, frames);
        };
        player.emplace(*engine, std::move(played), std::move(po));
    };
    if (script) play(std::move(*script));
    Status started;
    auto first = [&]() -> uint64_t {
        if (!player) return 0;
        started = player->start(engine->status().samplePosition);
        if (!started) fmt::print(stderr, "chronus serve: {}\n", started.message());
        return player->lastCommit();
    };
    if (offline) {
        if (const uint64_t seq = first(); seq != 0)
            static_cast<OfflineBackend&>(*backend).waitForCommit(seq, 60'000);
    }
    // Live MIDI: the port opened before the audio starts, drained by the audio thread every block.
    std::unique_ptr<midi::MidiInput> midiIn;
    if (!a.midi.empty()) {
        midi::MidiInputOptions mo;
        mo.source = a.midi;
        auto in = midi::MidiInput::open(mo);
        if (!in) return failCommand("serve", "--midi: " + in.error().message);
        midiIn = in.take();
        engine->attachMidiInput(&midiIn->ring());
        fmt::print(stderr, "chronus serve: MIDI from {} ({})\n", midiIn->sourceName(),
                   midi::midiApiName(midiIn->api()));
    }
    if (Status s = backend->start(); !s) return failCommand("serve", s.message());
    if (!offline) {
        if (const uint64_t seq = first(); seq != 0) engine->waitForCommit(seq, 60'000);
    }
    if (restoring) {
        std::string why;
        if (!started)
            why = fmt::format("{}: a line was refused: {}", a.state, started.message());
        else if (!firstReport->has_value())
            why = fmt::format("{}: its commit did not finish", a.state);
        else if (!(*firstReport)->ok)
            why = fmt::format("{}: its commit failed: {}", a.state, (*firstReport)->reason);
        if (!why.empty()) {
            if (Status s = stateNotRestored(a, why); !s) {
                backend->stop();
                if (recorder) (void)recorder->finish();
                return failCommand("serve", s.message());
            }
            engine->abort(); // the pending edits of the file, which never played
            player.reset();
            if (!a.patch.empty()) {
                auto loaded = loadPatchFile(a.patch);
                if (!loaded) return failCommand("serve", loaded.error().message);
                play(loaded.take());
                if (const uint64_t seq = first(); seq != 0) engine->waitForCommit(seq, 60'000);
            }
        } else {
            fmt::print(stderr, "chronus serve: restored the patch of {}\n", a.state);
        }
    }
    std::unique_ptr<PatchStateWriter> stateWriter;
    if (!a.state.empty()) {
        auto w = PatchStateWriter::start(*engine, a.state);
        if (!w) {
            backend->stop();
            if (recorder) (void)recorder->finish();
            return failCommand("serve", w.error().message);
        }
        stateWriter = w.take();
    }

    if (osc) {
        if (Status s = osc->handleWith(*engine); !s) {
            backend->stop();
            if (recorder) (void)recorder->finish();
            return failCommand("serve", s.message());
        }
    }
    fmt::print(stderr, "chronus serve: {}; {}; {}\n", backend->describe(),
               osc ? fmt::format("OSC on {}", osc->address()) : std::string("no OSC"),
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
    if (midiIn) engine->attachMidiInput(nullptr); // the audio thread lets go of the ring first
    backend->stop();
    midiIn.reset();
    stateWriter.reset(); // writes the last changes
    const EngineStatus st = engine->status();
    int rc = 0;
    if (recorder) {
        if (Status s = recorder->finish(); !s) rc = failCommand("serve", s.message());
        if (recorder->droppedFrames() > 0)
            fmt::print(stderr,
                       "chronus serve: the recording dropped {} frames (the writer fell behind)\n",
                       recorder->droppedFrames());
    }
    fmt::print(stderr, "{}", exitSummary(st, backend->clockJitter(), a.rate));
    backend.reset();
    engine.reset();
    finishCache(verbose, "serve");
    return rc;
}

} // namespace

void addServeCommand(CLI::App& app) {
    auto args = std::make_shared<ServeArgs>();
    auto* cmd =
        app.add_subcommand("serve", "Run the engine on an audio device, controlled over OSC");
    cmd->add_option("--device", args->device,
                    "audio device: PortAudio index or part of its name, 'null' (clock-paced, no "
                    "device) or 'offline' (as fast as possible); default: the default output, "
                    "else null")
        ->envname("CHRONUS_DEVICE");
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
    cmd->add_option("--format", args->format,
                    "--record's samples: float (32-bit), 24 (rounded) or 16 (rounded, with TPDF "
                    "dither)")
        ->check(CLI::IsMember({"float", "24", "16"}))
        ->capture_default_str();
    cmd->add_option("--xfade-ms", args->xfadeMs,
                    "crossfade at a commit that changes what is heard (0: hard swap)")
        ->check(CLI::Range(0.0, 1000.0))
        ->capture_default_str();
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
        ->check(CLI::Range(0.0, 1e7))
        ->capture_default_str();
    cmd->add_option("--bind", args->bind, "OSC address to bind")->capture_default_str();
    cmd->add_option("--port", args->port, "OSC UDP port")
        ->check(CLI::Range(0, 65535))
        ->capture_default_str()
        ->envname("CHRONUS_PORT");
    cmd->add_option("--ir-dir", args->irDir,
                    "directory /patch/ir writes its dumps to (checked at start)")
        ->check(CLI::ExistingDirectory)
        ->check(CLI::Validator(
            [](std::string& dir) {
                return ::access(dir.c_str(), W_OK | X_OK) == 0
                           ? std::string()
                           : "Directory is not writable: " + dir;
            },
            "WRITABLE"));
    cmd->add_flag("--no-osc", args->noOsc, "do not start the OSC server");
    cmd->add_option("--midi", args->midi,
                    "play live MIDI from this port (part of its name; JACK MIDI or ALSA): channel "
                    "1 to the only poly, /midi/route and /midi/cc for more; 'list' lists ports");
    cmd->add_option("--state", args->state,
                    "keep the committed patch and its parameter values in this file (written "
                    "atomically at each commit, before it is acknowledged; parameter changes at "
                    "most every 200 ms) and restore it at start, instead of --patch, when it "
                    "exists");
    cmd->add_flag("--state-reset", args->stateReset,
                  "when the --state file does not restore whole, set it aside as "
                  "FILE.bad-<time> and start afresh (with --patch if given) instead of stopping");
    cmd->add_option("--timed-events", args->timedEvents,
                    "timed events (future bundles) that may wait at once, from all clients")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))
        ->capture_default_str();
    cmd->add_option("--timed-events-per-client", args->timedEventsPerClient,
                    "timed events one OSC client may have waiting at once")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))
        ->capture_default_str();
    cmd->add_option("--channels", args->channels,
                    "output channels; default: every channel of a PortAudio device, the "
                    "patch's (1 mono, 2 stereo) on null and offline; --record writes this many "
                    "(default: the --patch's)")
        ->check(CLI::Range(1u, 64u));
    cmd->add_option("--inputs", args->inputs,
                    "device input channels to open (duplex); default: the highest `input` "
                    "channel the --patch reads, else none")
        ->check(CLI::Range(1u, 64u));
    cmd->add_option("--input-device", args->inputDevice,
                    "PortAudio input device (index or part of its name); default: the output "
                    "device, else the default input");
    cmd->add_option("--input", args->input,
                    "with --device null (looped) or offline (once): a sound file as audio in")
        ->check(CLI::ExistingFile);
    addCacheOptions(*cmd, args->cache, args->cacheMaxMb);
    addGraphLimitOptions(*cmd, args->limits);
    cmd->callback([args] {
        if (int rc = runServe(*args); rc != 0) throw CLI::RuntimeError(rc);
    });
}

} // namespace chronus::cli

// The engine's control API, used alike by OSC, patch files, `serve`, `render` and tests.
// All methods are control-side (any non-audio thread; the engine serialises them internally).
// Edits go to a pending patch that starts as a copy of the committed one; a commit compiles on a
// compiler thread, primes a standby slot and has the audio thread swap it in at a block boundary.
//
// CONTRACT (shared by runtime/ and osc/): signatures here change only together with their callers.
#pragma once

#include "base/expected.h"
#include "base/graph_limits.h"
#include "runtime/control_command.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chronus {

class AudioBackend;
namespace midi {
class MidiEventRing;
}
// The compiler's types, by name only: this header is the control API that osc/ and cli/ use, and
// it exposes nothing of compiler/ (cmake/CheckLayers.cmake holds osc/ to that).
class Program;
class PatchGraph;
struct Schedule;
/// Builds a program for a schedule (compiler/program.h declares the same type).
using ProgramFactory = std::function<Expected<std::unique_ptr<Program>>(const Schedule&)>;

/// What a commit came to, delivered once per commit to the callback given to commit().
struct CommitReport {
    uint64_t seq = 0;
    bool ok = false;
    double compileMs = 0; ///< schedule + program build (lowering, optimisation, codegen)
    double primeMs = 0;   ///< standby slot + survivor snapshot + warm-up + swap
    /// Where a commit's time went, ms, in order: queued (Engine::commit until the compiler thread
    /// took it); the schedule and the program (compileMs's parts); the standby slot (parameter
    /// values, carry plan), the survivors' snapshot (a wait for a block boundary), the warm-up and
    /// the swap (primeMs's parts). The rest of the time until the callback is the delivery.
    struct Stages {
        double queuedMs = 0, scheduleMs = 0, programMs = 0, slotMs = 0, snapshotMs = 0,
               warmupMs = 0, swapMs = 0;
    } stages;
    double primeRms = 0; ///< RMS of the warm-up blocks
    bool silent = false; ///< primeRms below 0.001 (reported, not refused)
    std::string reason;  ///< why it failed, when !ok
    /// Tiered compiles: what was swapped in is a quick first tier; its fully optimised version is
    /// compiling and will replace it (same state, same sound) without another report.
    bool optimizing = false;
    /// Commits coalesce: a commit waiting behind a compile is replaced by a newer one, which holds
    /// every edit it had. 0: this commit's own compile; else the commit that carried it, whose
    /// outcome (ok, figures, reason) this report repeats, delivered just before that one's.
    uint64_t carriedBy = 0;
    /// Warm-up render time per block over the block's duration (the median block, the compiler
    /// thread's CPU time): above 1 the patch cannot render in real time at this block size. Such
    /// a commit plays all the same, with a warning (commitNotes).
    double primeLoad = 0;
    /// `serve --state`: why this commit, which plays, is not on disk; empty: it is (or no state
    /// is kept).
    std::string notSaved;
    /// The patch needs more output channels or inputs than the device stream serve opened has
    /// (those channels fold or read silence): what it needs and the option that opens them at the
    /// next start; empty: the stream has them (or no callback has run yet).
    std::string deviceShort;
};
using CommitCallback = std::function<void(const CommitReport&)>;

/// What a client is told about a commit that played beyond its numbers, one sentence each:
/// "not saved: <why>" and, when its prime load is above 1, an overload warning (the block size
/// `frames` named). `/patch/committed` sends them after its numbers; `serve` prints them.
std::vector<std::string> commitNotes(const CommitReport& report, uint32_t frames);

struct EngineStatus {
    float sampleRate = 0;
    uint32_t frames = 0;
    uint64_t activeSeq = 0; ///< 0: nothing committed yet
    uint64_t callbacks = 0;
    uint64_t xruns = 0;    ///< backend-reported under/overflows
    uint64_t overruns = 0; ///< callbacks that took longer than their block's duration
    double loadP50 = 0, loadP99 = 0, loadMax = 0; ///< callback time / block time
    uint64_t crossfades = 0; ///< swaps that crossfaded (EngineOptions::xfadeMs)
    /// The load of the callbacks that crossfaded (two programs rendering), also in loadP50...
    double fadeLoadP50 = 0, fadeLoadP99 = 0, fadeLoadMax = 0;
    double swapLoadMax = 0; ///< the load of the callbacks that swapped a slot in, the worst

    uint64_t commits = 0;
    uint64_t failures = 0;
    uint64_t samplePosition = 0; ///< samples rendered so far (the engine's clock)
    // Tiered compiles:
    uint64_t upgrades = 0;        ///< faster versions swapped in
    uint64_t upgradeFailures = 0; ///< faster versions that failed (the first tier played on)
    bool optimizing = false;      ///< a faster version is compiling or waiting to swap in
    // Reliability (soak, serve --state):
    uint64_t swaps = 0;   ///< slots the audio thread has swapped in (see swapSamples)
    uint64_t changes = 0; ///< grows whenever dump() may have changed (a swap, a parameter value)
    /// The most surviving state the audio thread copied in one block (at a swap, or for a
    /// warm-up's snapshot): bounded, however long the delay lines (slot.h).
    uint64_t stateCopyMaxBytes = 0;
    // The output guard (output_guard.h): times it silenced the output because a block was
    // non-finite or ran away (a parameter made a stable patch unstable), and the last such trip.
    uint64_t guardTrips = 0;
    std::string guardCause;       ///< the last trip's: "non-finite" or "runaway"; "" before any
    uint64_t guardLastSeq = 0;    ///< the commit that played then
    uint64_t guardLastSample = 0; ///< the engine sample its block began at
};

/// Where swap number `index` (1: the first) landed: the first engine sample the new slot rendered.
struct SwapMark {
    uint64_t index = 0;
    uint64_t sample = 0;
};

/// Read-back (`/mod/<id>/<param>` with no value): a parameter's target as the control side holds
/// it, the value the next commit plays and a later dump writes.
struct ParamReading {
    float value = 0;
    std::string choice; ///< a choice parameter's value by name; empty for any other
};

/// `/patch/list`: a patch's structure without its parameter values, in creation order.
struct PatchListing {
    struct Module {
        std::string id, type;
        std::optional<float> createArg; ///< only for types that take one
    };
    struct Connection {
        std::string src, dst; ///< "osc1:out", "filt1:in" or a modulated "filt1:cutoff"
    };
    std::vector<Module> modules;
    std::vector<Connection> connections;
};
/// Which version of the patch a listing shows.
enum class ListedPatch {
    playing, ///< the commit that plays (what /patch/dump writes)
    pending, ///< with the edits since, which the next commit compiles
};

struct EngineOptions {
    float sampleRate = 48000;
    uint32_t frames = 256;       ///< block size the callback renders
    ProgramFactory factory;      ///< default: the JIT, else (JIT cannot start) the interpreter
    uint32_t warmupBlocks = 8;   ///< prime: blocks rendered on scratch memory before a swap
    double primeTimeoutMs = 500; ///< CHRONUS_PRIME_TIMEOUT_MS overrides
    /// A commit that changes what is heard (its patch differs from the playing one in modules,
    /// types, creation arguments or connections) crossfades from the playing program into the
    /// new one over this long: both render, raised-cosine gains summing to one. 0: a hard swap.
    /// A faster tier or a recommit of the same patch always swaps hard. State carries either way.
    double xfadeMs = 10;
    double smoothingMs = 10;
    bool verbose = false; ///< CHRONUS_VERBOSE=1; never logs from the audio thread
    /// Tiered compiles (docs/jit.md): a commit swaps in a quickly compiled program, then its fully
    /// optimised version, compiled in the background, through the same prime and swap. Takes
    /// effect with programs that have a next tier (the default factory makes them when on).
    bool tiered = true;
    /// The compiler thread readies the JIT (prewarmJit, jit.h: once per process) while no commit
    /// is waiting, so a session's first commit is as fast as later ones. CHRONUS_JIT_PREWARM=0
    /// turns it off. It runs on the engine's own thread (joined by ~Engine), never past the end
    /// of the process.
    bool prewarm = true;
    /// Timed events (setParamAt, future bundles) that may wait at once: in all, and from one
    /// client (applyAt's `client`; client 0, the engine's own patch player, has no quota of its
    /// own), so that one client's far-future events cannot fill the queue for everyone.
    std::size_t timedEventCapacity = 4096;
    std::size_t timedEventsPerClient = 1024;
    /// How large a patch may grow (base/graph_limits.h); its sampleRate is set to `sampleRate`.
    GraphLimits limits = {};
};

class Engine {
public:
    static Expected<std::unique_ptr<Engine>> create(const EngineOptions& options);
    /// Stop the backend first: no audio thread may be inside audioThreadRender. Commits still
    /// queued are reported as failed.
    ~Engine();

    // Edits of the pending patch: validated at once; an error changes nothing.
    Status create(const std::string& id, const std::string& type,
                  std::optional<float> createArg = {});
    Status remove(const std::string& id);
    Status connect(const std::string& src, const std::string& dst);
    Status disconnect(const std::string& src, const std::string& dst);
    /// Drops pending edits: the pending patch becomes the committed one again.
    void abort();

    /// Sets a parameter now (last value wins; reaches the playing patch and any commit in flight).
    Status setParam(const std::string& id, const std::string& param, float value);
    Status setParamChoice(const std::string& id, const std::string& param,
                          const std::string& choice);
    Status gate(const std::string& id, float value);
    /// Sets a parameter at engine sample `atSample` exactly (a future OSC bundle timetag, or a
    /// timed patch-file line). A time already past applies at the next block.
    Status setParamAt(uint64_t atSample, const std::string& id, const std::string& param,
                      float value);
    /// setParamAt on behalf of `client` (an OSC sender), within its quota
    /// (EngineOptions::timedEventsPerClient).
    Status setParamAt(uint64_t atSample, const std::string& id, const std::string& param,
                      float value, uint64_t client);

    /// Starts a commit of the pending patch and returns its sequence number at once; `done` is
    /// called exactly once, from an engine thread, with the outcome.
    uint64_t commit(CommitCallback done);

    /// Runs any control command (patch-file line or decoded OSC message). Commands with a reply
    /// (dump, status, ir) return their text in `reply`; commit passes `done` on.
    Status apply(const ControlCommand& cmd, std::string* reply = nullptr, CommitCallback done = {});
    /// Runs a schedulable write (isSchedulable: a `/mod` with a number, a `/gate`) at engine
    /// sample `atSample` exactly, as setParamAt does; any other command is refused (it has no
    /// exact sample: apply it when it is due).
    Status applyAt(uint64_t atSample, const ControlCommand& cmd);
    /// applyAt on behalf of `client` (setParamAt's).
    Status applyAt(uint64_t atSample, const ControlCommand& cmd, uint64_t client);

    /// The committed patch as patch-file text.
    std::string dump() const;

    // ---- voices and notes (compiler/voice_template.h, runtime/voice_allocator.h) -------------
    /// A voice-template or poly edit of the pending patch (PatchGraph's beginVoice, endVoice,
    /// mapVoice, createPoly); an error changes nothing.
    Status editVoices(const std::function<Status(PatchGraph&)>& edit);
    /// True while a template is being defined: values and gates go to it.
    bool voiceOpen() const;
    /// A note event for poly `id` at engine sample `atSample` (0: at once), through the timed
    /// queue (so in order with timed values), applied by the voice allocator on its sample.
    /// `kind` is NoteCommand::Kind; `value`: velocity, pedal or bend semitones.
    Status noteAt(uint64_t atSample, const std::string& id, uint8_t kind, uint16_t note,
                  float value, uint64_t client = 0);
    /// /midi/route, /midi/cc, /midi/bend (runtime/midi_routes.h): checked (the poly, the
    /// parameter), then in effect at once for live MIDI and in dump().
    Status midiRoute(const ControlCommand& cmd);
    /// Control side: the audio thread plays live MIDI from `ring` (serve --midi) through the
    /// routes, each message one block after it arrived; null detaches, waiting until the audio
    /// thread has let go of it (so the ring may then be destroyed).
    void attachMidiInput(midi::MidiEventRing* ring);
    /// The IR of the playing program at `stage` (Program::ir), or why there is none.
    Expected<std::string> ir(std::string_view stage) const;
    EngineStatus status() const;
    const EngineOptions& options() const;

    // ---- queries for clients (OSC read-back and listings); change nothing --------------------
    /// id:param's current target (ParamReading), or why not in a set's words: unknown module, or
    /// unknown parameter with did-you-mean.
    Expected<ParamReading> readParam(const std::string& id, const std::string& param) const;
    /// The structure of the playing or the pending patch.
    PatchListing listPatch(ListedPatch which) const;

    /// Audio thread entry, called by every backend: renders `frames` mono samples into `out`.
    /// Wait-free, allocation-free, lock-free; flushes denormals.
    void audioThreadRender(float* out, uint32_t frames) noexcept;
    /// The same into `channels` planar buffers, with `inputs` planar buffers of audio in for
    /// the patch's `input` modules (AudioCore::audioThreadRender has the channel mapping).
    void audioThreadRender(float* const* out, uint32_t channels, const float* const* in,
                           uint32_t inputs, uint32_t frames) noexcept;

    // ---- added by the runtime (not part of the OSC contract) ---------------------------------
    /// Audio thread, or an offline driver between blocks; wait-free. The block-boundary work of
    /// audioThreadRender without rendering: swap in a published slot, serve a prime snapshot.
    /// A commit needs this (or audioThreadRender) to be called to complete.
    void audioThreadService() noexcept;
    /// Audio thread (backends); wait-free: under/overflows the device reported.
    void audioThreadAddXruns(uint64_t count) noexcept;
    /// True once commit `seq` has been reported (its callback has returned).
    bool commitSettled(uint64_t seq) const;
    /// Control side: waits (without driving audio) until commit `seq` is reported or
    /// `timeoutMs` passes; true if it was reported.
    bool waitForCommit(uint64_t seq, double timeoutMs) const;

    // ---- reliability: metrics (soak) and persistence (serve --state) ------------------------
    /// Control side: the swaps numbered after `after`, oldest first, as far as the audio thread
    /// still remembers them (the last 64; older ones are left out, so check the indices).
    std::vector<SwapMark> swapSamples(uint64_t after) const;
    /// Control side: `observer` runs on the compiler thread after each commit swapped in (dump()
    /// shows it), before the commit is reported; `serve --state` makes the patch durable there,
    /// so a commit reported is never lost. Empty removes it, waiting for a call in progress.
    void setSwapObserver(std::function<void(uint64_t seq)> observer);
    /// Control side: setSwapObserver for an observer that makes the commit durable: an error it
    /// returns goes into the commit's report (CommitReport::notSaved), and so to the client.
    /// Replaces any swap observer; empty removes it.
    void setSwapSaver(std::function<Status(uint64_t seq)> saver);

private:
    Engine();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace chronus

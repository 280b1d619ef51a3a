// The one patch-file player: a patch file is checked whole, then applied to an Engine on a clock.
// `chronus render`, `serve --patch`, `serve --state`'s restore, `chronus ir` and the bench all go
// through it, so they read a file alike and refuse it alike.
//
// THE RULE (also in the README, "Patch files"):
// - Lines run in file order. `@t` is seconds from the start; a line without one runs at the time
//   of the line before it (0 at the start).
// - A line whose time is earlier than a line before it is an error naming both lines: a file's
//   order is its time order, never re-sorted.
// - The whole file is checked before anything of it is applied: every line is decoded and
//   dry-run (PatchDryRun) from an empty patch, so unknown ids, types, ports and parameters,
//   values out of range and bad choice names are found up front. Any bad line refuses the whole
//   file with `FILE:LINE: reason`, and nothing of it reaches the engine.
// - Queries (/patch/dump, /patch/ir, /engine/status) and /engine/quit do nothing in a file.
// - A commit that fails when it runs (compile, prime) is reported as it happens: offline it fails
//   the render, naming its line; live, the patch before it plays on.
//
// The clocks:
// - offline (render): audio is rendered up to each line's exact sample, round(t * rate), before
//   the line applies; each commit waits for its compile, so its swap lands on its own sample and
//   every render is identical.
// - live (serve, and `chronus send --file` through a PatchTarget that sends OSC): the engine's
//   clock runs on its own and advance(now) applies the lines due by engine sample `now`. `@t`
//   counts from the first advance(). Parameter and gate lines due within `lookaheadSeconds` are
//   handed to the engine ahead of time (Engine::applyAt), so they land on their exact sample;
//   edits, commits and choices by name apply at the first advance() at or after their time, and the
//   writes after them wait for them (file order).
#pragma once

#include "base/expected.h"
#include "compiler/patch_graph.h"
#include "runtime/control_command.h"
#include "runtime/engine.h"
#include "runtime/patch_file.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chronus {

class OfflineBackend;

/// A patch file decoded and checked by the rule above, ready to play.
struct PatchScript {
    struct Step {
        int line = 0;    ///< in the file, 1-based
        double time = 0; ///< seconds from the start: its `@t`, else the time of the line before
        ControlCommand command;
    };
    std::string source; ///< the file's name in errors; empty: `line N: ...`
    std::vector<Step> steps;
    /// The dry run's patch as of the file's last /patch/commit (`chronus ir` compiles it, the
    /// bench measures it); nothing if the file has no commit.
    std::optional<PatchGraph> committed;

    /// `SOURCE:LINE: <message>` for `step`.
    Error error(const Step& step, const Error& e) const;
};

/// Checks `lines` (of the file `source`) by the rule above, for an engine with `limits`.
Expected<PatchScript> checkPatch(const std::vector<PatchLine>& lines, std::string source = {},
                                 const GraphLimits& limits = {});
/// readPatchFile, then checkPatch: every error is `PATH:LINE: reason` (or names the file).
Expected<PatchScript> loadPatchFile(const std::string& path, const GraphLimits& limits = {});

/// Where the live clock's lines go: an Engine (the player's own adapter), or a server over OSC
/// (`chronus send --file`). Control side.
class PatchTarget {
public:
    virtual ~PatchTarget() = default;
    virtual float sampleRate() const = 0;
    /// Runs an edit, write or abort now.
    virtual Status apply(const ControlCommand& cmd) = 0;
    /// Runs a schedulable write (isSchedulable) at sample `atSample` of the target's clock.
    virtual Status applyAt(uint64_t atSample, const ControlCommand& cmd) = 0;
    /// Starts a commit; `done` is called once with its outcome. Returns its sequence number.
    virtual uint64_t commit(CommitCallback done) = 0;
};

struct PatchPlayerOptions {
    /// Each commit's outcome, from an engine thread. Live, this is how a failed commit is told.
    CommitCallback onCommit;
    /// Live clock: how far ahead parameter and gate lines are handed to the engine. Bounded so a
    /// long sequence never fills the engine's timed-event queue; far more than a block and the
    /// caller's polling interval, so every write still lands on its sample.
    double lookaheadSeconds = 0.5;
};

class PatchPlayer {
public:
    /// Control side. Plays `script` into `engine` (which must outlive the player).
    PatchPlayer(Engine& engine, PatchScript script, PatchPlayerOptions options = {});
    /// Control side. Plays `script` into `target` (which must outlive the player) on the live
    /// clock only: playOffline() refuses.
    PatchPlayer(PatchTarget& target, PatchScript script, PatchPlayerOptions options = {});
    ~PatchPlayer();
    PatchPlayer(PatchPlayer&&) noexcept;

    // ---- offline clock ---------------------------------------------------------------------
    /// Plays the whole script through `backend` (the caller is its audio thread), rendering
    /// `frames` samples from its current position into `out` (may be null); `progress(fraction)`
    /// now and then. A line the engine refuses, or a commit that fails, stops it with
    /// `SOURCE:LINE: reason`. Lines past the end still apply.
    Status playOffline(OfflineBackend& backend, float* out, uint64_t frames,
                       const std::function<void(double fraction)>& progress = {});

    // ---- live clock ------------------------------------------------------------------------
    /// Control side: applies every line due by engine sample `now` (the first call's `now` is the
    /// start) and hands the engine the parameter and gate lines due within the lookahead. Returns
    /// the first line the engine refused (rare once checked: the engine's patch was not empty);
    /// that line is skipped and the rest play on.
    Status advance(uint64_t now);
    /// advance(now) for the first time, then, if none of the lines it applied was a commit, a
    /// commit of them (`serve --patch` and `--state`: a file is applied and committed at start).
    Status start(uint64_t now);

    bool finished() const { return next_ == script_.steps.size(); }
    /// The sequence number of the last commit the player started; 0: none yet.
    uint64_t lastCommit() const { return lastCommit_; }
    const PatchScript& script() const { return script_; }

private:
    uint64_t dueSample(const PatchScript::Step& step) const;
    /// Applies one line now: a commit starts (live) or is waited for (`backend`: offline).
    Status run(const PatchScript::Step& step, OfflineBackend* backend);

    Engine* engine_ = nullptr; ///< null: a PatchTarget of the caller's (live clock only)
    std::unique_ptr<PatchTarget> engineTarget_;
    PatchTarget* target_ = nullptr;
    PatchScript script_;
    PatchPlayerOptions opts_;
    size_t next_ = 0; ///< the first line not yet handed to the engine
    std::optional<uint64_t> origin_;
    uint64_t lastCommit_ = 0;
};

} // namespace chronus

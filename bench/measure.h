// The three measurements of `chronus bench`: render cost of several programs (interleaved run by
// run, so a noisy neighbour slows every engine alike and the ratios hold), the fused compile's
// phases, and commit-to-swap latency through a real Engine (recommits, cold commits with and
// without tiered compiles, adding a voice).
#pragma once

#include "base/expected.h"
#include "bench/results.h"
#include "compiler/patch_graph.h"
#include "compiler/program.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace chronus::bench {

struct RenderSettings {
    uint32_t blockFrames = 64; ///< frames per render call, as a real-time callback would ask
    float sampleRate = 48000;
    double warmupMs = 100; ///< per program, before any timed run (and at least 4 blocks)
    double runMs = 5;      ///< aim for one timed run (a whole number of blocks, at least one)
    uint32_t runs = 41;
};

/// Renders each program from a fresh state with its schedule's initial parameters, denormals
/// flushed as in the audio callback: a warm-up, then `runs` rounds in which every program renders
/// one timed run. Fills nsPerSample, nsPerVoiceSample, blockLoad, voicesPerCore, runs and
/// blocksPerRun of one EngineResult per program, in order.
std::vector<EngineResult> measureRender(const std::vector<Program*>& programs, uint32_t voices,
                                        const RenderSettings& settings);

/// The fused program's compiles for `schedule` at `optLevel`: `runs` cold compiles with
/// compileJit and the shape cache off (phases from JitTimings), then `runs` more through
/// `factory` after one that fills the shape cache. The last program is kept for rendering.
struct CompiledFused {
    std::unique_ptr<Program> program;
    CompileResult compile;
};
Expected<CompiledFused> measureCompiles(const Schedule& schedule, int optLevel,
                                        const ProgramFactory& factory, uint32_t runs);

struct CommitSettings {
    float sampleRate = 48000;
    uint32_t blockFrames = 64;
    uint32_t recommits = 5;     ///< commits after the first, each with the audio running in between
    uint32_t coldCommits = 3;   ///< commits through an engine whose compiles skip the shape cache
    uint32_t tieredCommits = 5; ///< cold tiered commits, each into a fresh engine, at most...
    double tieredBudgetMs = 10'000; ///< ... and no more once this is spent (but at least 3)
    uint32_t addVoices = 5;         ///< voices added (and removed again) one commit at a time
    double playMs = 20;             ///< audio rendered between commits
    /// How often the bench thread looks at EngineStatus::upgrades while the optimised tier
    /// compiles (the engine reports a tier's swap no other way).
    double pollMs = 0.1;
    double timeoutMs = 120'000; ///< for any commit or upgrade
};

/// Builds an Engine with `factory`, applies `graph` through its control API, starts the null
/// backend (a clock-paced audio thread) and commits 1 + recommits times, `playMs` apart; each
/// time from commit() to the report that the audio thread swapped the program in. Then the same
/// with an engine whose JIT compiles at `optLevel` without the shape cache, coldCommits times.
Expected<CommitResult> measureCommits(const PatchGraph& graph, const ProgramFactory& factory,
                                      int optLevel, const CommitSettings& settings);

/// Cold commits with tiered compiles: `settings.tieredCommits` times (fewer, but at least 3, once
/// `tieredBudgetMs` is spent: a patch of many shapes optimises for seconds), a fresh Engine made
/// with `tieredFactory` (a factory whose programs have a next tier) plays, the process-wide shape
/// cache is emptied (trimShapeCache; it fails if a shape is still in use), `graph` is committed,
/// and the bench thread times the CommitReport (the first tier swapped in) and then watches
/// EngineStatus::upgrades every `pollMs` until the optimised version has swapped in.
Expected<TieredCommitResult> measureTieredColdCommits(const PatchGraph& graph,
                                                      const ProgramFactory& tieredFactory,
                                                      const CommitSettings& settings);

/// Adding one voice of a known shape: an Engine made with `factory` plays `bank`, committed and
/// (with a tiered factory) optimised; then `settings.addVoices` times, `voice`'s modules and
/// connections are sent as control commands and committed (timed), and removed and committed.
/// `links` (src, dst) are connected after the voice's own, into the bank (its `master`).
Expected<AddVoiceResult>
measureAddVoice(const PatchGraph& bank, uint32_t voices, const PatchGraph& voice,
                const std::vector<std::pair<std::string, std::string>>& links,
                const ProgramFactory& factory, const CommitSettings& settings);

/// One cold commit of a large patch (a long chain) into a fresh Engine made with `tieredFactory`,
/// the shape cache emptied first: commit() to the first tier's report, then to the optimised
/// version (given up after `timeoutS`), and the process's resident memory before and at its peak
/// during both (VmHWM, reset first through /proc/self/clear_refs).
ChainCommitResult measureChainCommit(const PatchGraph& graph, const ProgramFactory& tieredFactory,
                                     double timeoutS, const CommitSettings& settings);

} // namespace chronus::bench

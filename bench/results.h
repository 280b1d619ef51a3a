// What `chronus bench` measured: plain data, filled by suite.cpp and read by the table, JSON and
// SVG writers. Times are wall clock; every figure is a median with its spread over repeated runs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chronus::bench {

/// Engines in the order they are reported: the fused JIT first, then its two baselines.
inline constexpr const char* kFused = "jit";
inline constexpr const char* kBlockInterp = "interp";
inline constexpr const char* kSampleInterp = "interp-sample";

/// A distribution summarised: the median and the 10th and 90th percentiles.
struct Spread {
    double median = 0;
    double p10 = 0;
    double p90 = 0;
};

/// Nearest-rank percentiles of `samples` (empty: all zero).
Spread spreadOf(std::vector<double> samples);

/// One engine rendering one workload.
struct EngineResult {
    std::string engine;
    Spread nsPerSample;       ///< per output sample, thread CPU time
    Spread wallNsPerSample;   ///< the same runs by the wall clock (includes time given to others)
    Spread nsPerVoiceSample;  ///< per output sample and voice
    Spread blockLoad;         ///< render time of one block / the block's real-time duration
    double voicesPerCore = 0; ///< voices (copies, for one-voice workloads) one core renders in time
    uint32_t runs = 0;        ///< timed runs, each of `blocksPerRun` blocks
    uint32_t blocksPerRun = 0;
    double buildMs = 0; ///< making the program (the JIT: the whole compile)
};

/// Compiles of the fused program for one workload, ms. Cold: every group shape compiled for this
/// program (the shape cache off), with the phases as JitTimings reports them. Cached: through the
/// engine's factory once the patch's shapes are in the process-wide shape cache, as a recommit.
struct CompileResult {
    uint32_t runs = 0; ///< of each kind
    int optLevel = 0;
    Spread lowerMs, optimizeMs, codegenMs, linkMs, irTextMs; ///< cold
    Spread totalMs;    ///< cold, the whole build by the wall clock
    Spread totalCpuMs; ///< cold, the compiling thread's CPU time: totalMs less what others took
    Spread cachedMs;   ///< cached, wall clock
    uint32_t groups = 0;
    uint32_t shapes = 0;
};

/// Commits of the workload through a real Engine with audio running (null backend), from
/// commit() to the report that the audio thread swapped the program in, ms.
struct CommitResult {
    uint32_t coldRuns = 0;
    Spread coldMs;         ///< an engine whose compiles use no shape cache and no tiers: every
                           ///< shape compiled at the full level before the swap
    uint32_t runs = 0;     ///< recommits after the first, state carried over
    double firstMs = 0;    ///< the engine's own factory: the first commit into a new engine
    Spread commitToSwapMs; ///< ... then recommits while the patch plays
    Spread compileMs;      ///< their CommitReport::compileMs (schedule + program)
    Spread primeMs;        ///< their CommitReport::primeMs (state copy, warm-up, swap)
};

/// Cold commits with tiered compiles, as the engine makes them by default: each into a fresh
/// Engine (audio running) after the process-wide shape cache was emptied, so every shape is
/// compiled, first quickly (the first tier) and then in the background at the full level.
struct TieredCommitResult {
    uint32_t runs = 0;
    Spread firstTierMs;    ///< commit() to the CommitReport: the first tier swapped in (audible)
    Spread optimisedMs;    ///< commit() to the fully optimised version swapped in (upgrades + 1)
    Spread compileMs;      ///< the first tier's CommitReport::compileMs
    Spread primeMs;        ///< the first tier's CommitReport::primeMs
    uint32_t untiered = 0; ///< commits whose first tier was already final (nothing to upgrade)
    /// The first tier's CommitReport::stages by name, in order, and "delivery" (AddVoiceResult).
    std::vector<std::pair<std::string, Spread>> stages;
};

/// A commit that only adds one voice of a known shape to a voice bank playing through an Engine
/// with its normal (tiered) factory, its shapes cached and optimised: add, commit, remove,
/// commit, ... Times of the adding commits, commit() to CommitReport.
struct AddVoiceResult {
    uint32_t runs = 0;
    uint32_t voicesBefore = 0;
    Spread toSwapMs;
    Spread compileMs;
    Spread primeMs;
    Spread removeMs;        ///< the commits that take the voice out again
    uint32_t notCached = 0; ///< adds whose program was not final (a shape had to be compiled)
    /// The adds' CommitReport::stages by name, in order, and "delivery": the rest of toSwapMs.
    std::vector<std::pair<std::string, Spread>> stages;
};

/// Whole `chronus render` processes (bench/process_render.h): user + system CPU seconds of the
/// child, start-up and exit included; cold with an empty code cache, warm with a filled one.
struct ProcessRenderResult {
    std::string name;          ///< the workload rendered, "master-256"
    double audioSeconds = 0;   ///< render -s
    uint32_t runs = 0;         ///< of each kind
    bool warmMeasured = false; ///< render took --cache-dir: warm runs too (else every run cold)
    Spread coldCpuS, coldWallS;
    Spread warmCpuS, warmWallS;
    double coldMaxRssMb = 0, warmMaxRssMb = 0; ///< medians of the children's peak resident memory
    std::string error;
};

/// Edits of a patch graph of `modules` modules (gains), per edit, thread CPU time, microseconds:
/// median over rounds of a few hundred of each.
struct EditCost {
    uint32_t modules = 0;
    double createUs = 0, connectUs = 0, findUs = 0, setParamUs = 0, deleteUs = 0;
};

/// What editing and copying cost as a patch grows (the engine copies the pending patch at every
/// commit): edits at several sizes; `copies` copies of a patch of `copyModules` kept, as queued
/// commits would keep them, with a parameter write between each.
struct GraphScaleResult {
    std::vector<EditCost> edits;
    uint32_t copyModules = 0;
    uint32_t copies = 0;
    double copyUs = 0;       ///< one copy, thread CPU time
    double firstWriteUs = 0; ///< the write after a copy (it copies the chunk it lands in)
    double rssGrowthMb = 0;  ///< resident memory the kept copies added
};

/// A long chain committed into a fresh engine with tiered compiles, nothing cached.
struct ChainCommitResult {
    uint32_t modules = 0;
    double firstTierMs = 0; ///< commit() to the report: audible
    double optimisedMs = 0; ///< commit() to the optimised version swapped in (0: not within
                            ///< `timeoutS`)
    double timeoutS = 0;
    double baseRssMb = 0;  ///< resident memory before the commit
    double peakRssMb = 0;  ///< the process's peak while it compiled (VmHWM, reset before)
    bool peakReset = true; ///< false: VmHWM could not be reset, so the peak may be older
    std::string error;
};

struct WorkloadResult {
    std::string name;        ///< "sine-16"
    std::string description; ///< what it is, in words
    std::string family;      ///< "sine", "saw": a voice series drawn in the plot; else empty
    uint32_t voices = 1;
    uint32_t modules = 0;
    std::vector<EngineResult> engines;
    std::optional<CompileResult> compile;
    std::optional<CommitResult> commit;
    std::optional<TieredCommitResult> tieredCommit;
    std::optional<AddVoiceResult> addVoice; ///< voice banks of 16 and 256 voices
    std::string error;                      ///< non-empty: the workload could not be measured
    std::string commitError; ///< non-empty: the engine refused the commit (the rest measured)

    const EngineResult* engine(const std::string& engineName) const;
    /// Median ns per sample of `slower` over that of `faster` (0 if either is missing).
    double speedup(const std::string& faster, const std::string& slower) const;
};

/// How a target's value must compare with its limit.
enum class Bound {
    AtLeast, ///< value >= limit
    AtMost,  ///< value <= limit
    Below,   ///< value < limit
};

/// One of the issues' performance targets, and where this run puts it.
struct Target {
    std::string what;  ///< "fused >= 3x the block interpreter, 16 voices"
    std::string where; ///< the workload it is read from (the worst one, for "every size")
    std::string unit;  ///< "x", "ns", "ms"
    double value = 0;
    double limit = 0;
    Bound bound = Bound::AtLeast;
    bool measured = false;
    /// Shown for comparison, not a target itself (the untiered cold commit, say).
    bool informational = false;
    std::string issue; ///< "6", "8", "13": the issue that set it
    bool met() const {
        if (!measured) return false;
        switch (bound) {
        case Bound::AtLeast:
            return value >= limit;
        case Bound::AtMost:
            return value <= limit;
        case Bound::Below:
            return value < limit;
        }
        return false;
    }
    /// ">=", "<=", "<".
    const char* boundText() const;
};

struct MachineInfo {
    std::string cpu; ///< /proc/cpuinfo model name
    uint32_t logicalCpus = 0;
    std::string buildType; ///< CMAKE_BUILD_TYPE baked in at build time
    std::string compiler;
    std::string llvm;
    std::string date; ///< UTC
    bool debugBuild() const;
};

struct BenchResults {
    MachineInfo machine;
    float sampleRate = 48000;
    uint32_t blockFrames = 64;
    bool quick = false;
    int optLevel = 2; ///< the fused JIT's (full) optimisation level
    std::vector<std::string> engines;
    std::vector<WorkloadResult> workloads;
    std::vector<ProcessRenderResult> renders;
    bool renderCacheDir = false; ///< render took --cache-dir: warm renders were measured
    std::optional<GraphScaleResult> graphScale;
    std::optional<ChainCommitResult> chain;
    std::vector<Target> targets;

    /// How busy the machine was: the median over engines and workloads of wall-clock time over
    /// CPU time in the timed runs (1: the renders had a core to themselves).
    double contention() const;
    /// Nanoseconds of real time one output sample may take.
    double budgetNsPerSample() const { return 1e9 / sampleRate; }
    const WorkloadResult* find(const std::string& name) const;
};

/// The issues' targets, read from `results` (unmeasured when their workload is missing).
std::vector<Target> evaluateTargets(const BenchResults& results);

} // namespace chronus::bench

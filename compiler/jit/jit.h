// The JIT engine: a Schedule lowered to LLVM IR (one function per fusion-group shape, each in its
// own module and cached across commits, plus a per-commit render function that calls them), linked
// with the kernel bitcode so that every kernel inlines, optimised, and compiled with LLVM ORC for
// this machine. No LLVM type appears here.
#pragma once

#include "base/expected.h"
#include "compiler/program.h"
#include "compiler/schedule.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace chronus {

struct JitOptions {
    int optLevel = 2; ///< 0..3: the LLVM pipeline (O0 still inlines every kernel) and codegen
    /// Tiered compiles: a shape the cache holds at `optLevel` is used at once; any other is taken
    /// from the cache or compiled at `quickLevel` (fast to make and still real-time: kernels
    /// inlined, instances side by side where a shape has at least `lanes` of them). The program
    /// is then not finalTier() unless every shape was at `optLevel`, and nextTier() compiles it
    /// at `optLevel`.
    bool quickFirst = false;
    int quickLevel = 0;
    uint32_t maxBlock =
        256; ///< frames per call of the compiled code; render() chunks longer requests
    /// Print the lowered and optimised IR text while compiling (shared through the shape cache);
    /// otherwise ir() makes it again when asked (the compile is deterministic). A quick first
    /// tier never prints it.
    bool keepIr = true;
    /// Instances of one group shape run side by side per call (SIMD across voices): 0 picks the
    /// host's vector width (8 floats with AVX); 1 runs every instance alone.
    uint32_t lanes = 0;
    /// Reuse group shapes compiled earlier (by any program of this process) and offer new ones to
    /// later compiles (shape_cache.h). Off: every shape is compiled for this program alone.
    bool shapeCache = true;
    /// Look shapes up in the disk cache (setDiskCache; nothing when it is off) and write the ones
    /// compiled to it.
    bool diskCache = true;
    /// Kernel bitcode to link instead of the embedded one (tests inject broken bitcode with it).
    /// Shapes compiled from it never enter or come from the shape cache.
    std::span<const unsigned char> kernelBitcode = {};
};

/// Where a compile spent its time (wall clock, ms) and what it made.
struct JitTimings {
    double lowerMs = 0;    ///< fusion plan, IR generation, kernel bitcode parse and link
    double optimizeMs = 0; ///< the LLVM pass pipeline
    double codegenMs = 0;  ///< machine code generation to an object file
    double linkMs = 0;     ///< JIT linking and symbol lookup
    double irTextMs = 0;   ///< printing the IR kept for ir() (0 without keepIr)
    double totalMs = 0;
    uint32_t groups = 0;         ///< fusion-group instances
    uint32_t shapes = 0;         ///< distinct group shapes, each compiled once
    uint32_t buffers = 0;        ///< block buffers between groups
    uint32_t shapesCompiled = 0; ///< shapes this compile made (the others came from a cache)
    uint32_t shapesReused = 0;   ///< shapes found in the shape cache (in memory)
    uint32_t shapesLoaded = 0;   ///< shapes loaded from the disk cache
    uint32_t lanes = 1;          ///< instances per wide call
    uint32_t wideGroups = 0;     ///< groups that run in wide calls, `lanes` at a time
};

/// Bounds of the process-wide shape cache: idle shapes (no program uses them) are evicted, least
/// recently used first, while it holds more than this.
struct ShapeCacheLimits {
    std::size_t maxEntries = 256;
    std::size_t maxBytes = std::size_t{64} << 20; ///< object code
};

struct ShapeCacheStats {
    std::size_t entries = 0;     ///< shapes held, in use or idle
    std::size_t idle = 0;        ///< held by the cache alone
    std::size_t objectBytes = 0; ///< their object code
    uint64_t hits = 0, misses = 0, evictions = 0;
    ShapeCacheLimits limits;
};

/// Any thread. The shape cache's counters and limits.
ShapeCacheStats shapeCacheStats();
/// Any thread. New limits, applied at once.
void setShapeCacheLimits(const ShapeCacheLimits& limits);
/// Any thread. Evicts every idle shape (their code leaves the JIT); shapes in use stay.
void trimShapeCache();

/// The code cache on disk (compiler/jit/object_cache.h): compiled shapes kept across processes,
/// keyed by everything their code depends on, bounded in size (least recently used first).
struct DiskCacheOptions {
    std::string directory; ///< empty: no disk cache
    uint64_t maxBytes = uint64_t{256} << 20;
};

struct DiskCacheStats {
    std::string directory; ///< empty: off
    uint64_t maxBytes = 0;
    uint64_t hits = 0, misses = 0;
    uint64_t rejected = 0;      ///< entries found bad (corrupt, truncated, foreign), removed
    uint64_t stored = 0;        ///< entries written
    uint64_t storeFailures = 0; ///< entries not written (the last reason below)
    uint64_t evicted = 0;       ///< entries removed to keep the directory within maxBytes
    uint64_t bytes = 0;         ///< the directory's entries, as of the last trim
    std::string lastRejection, lastStoreFailure;
};

/// $XDG_CACHE_HOME/chronus, else $HOME/.cache/chronus; empty when neither is set.
std::string defaultDiskCacheDirectory();
/// Any thread. Where compiles keep and find their shapes from now on; an empty directory turns
/// the disk cache off (the default). Creates the directory (mode 0700); fails, changing nothing,
/// if it is not a directory this process can write. Pending writes to a previous one finish.
Status setDiskCache(const DiskCacheOptions& options);
/// Any thread; blocking. Returns once every compiled shape queued for the disk is written (the
/// writes happen on a thread of their own, off every commit's way).
void flushDiskCache();
DiskCacheStats diskCacheStats();

/// What this process's compiles did, summed (CHRONUS_VERBOSE logs, tests).
struct JitStats {
    uint64_t compiles = 0;       ///< compileJit calls that made a program
    uint64_t shapesCompiled = 0; ///< shapes compiled
    uint64_t shapesReused = 0;   ///< from the shape cache in memory
    uint64_t shapesLoaded = 0;   ///< from the disk cache
    bool jitCreated = false;     ///< the LLVM ORC JIT exists (something was linked)
};
JitStats jitStats();

/// Any thread; blocking. Readies the JIT for a fast first commit: compiles and links one small
/// voice at the quick tier outside the shape cache (creating the process-wide LLVM JIT), and frees
/// it, so that the first real compile finds LLVM's code paged in and its registries initialised
/// (a first compile in a process otherwise takes about twice as long). With the disk cache on,
/// the voice comes from there after the first process: nothing is compiled. Runs once per
/// process: later calls return at once. Failures are ignored (the first commit reports them).
void prewarmJit();

/// A compiled patch. kind() == "jit"; ir() has "lowered", "optimized" and "asm".
class JitProgram : public Program {
public:
    virtual const JitTimings& timings() const = 0;
    virtual int optLevel() const = 0;
};

/// Compiler (or control) thread; any number of threads may compile at once. Every LLVM failure
/// comes back as an Error; nothing aborts. The program frees its machine code when destroyed.
Expected<std::unique_ptr<JitProgram>> compileJit(const Schedule& schedule,
                                                 const JitOptions& options = {});

} // namespace chronus

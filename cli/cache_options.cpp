#include "cli/cache_options.h"

#include "compiler/jit/jit.h"

#include <cmath>
#include <cstdio>
#include <fmt/format.h>

namespace chronus::cli {

void addCacheOptions(CLI::App& cmd, CodeCacheRequest& request, double& maxMb) {
    cmd.add_option("--cache-dir", request.directory,
                   "where compiled code is kept between runs (default: CHRONUS_CACHE_DIR, else "
                   "$XDG_CACHE_HOME/chronus or ~/.cache/chronus)");
    cmd.add_flag("--no-cache", request.off,
                 "compile everything, keep nothing on disk (also CHRONUS_CACHE=0)");
    cmd.add_option("--cache-max-mb", maxMb,
                   "size bound of the cache directory; least recently used code goes first")
        ->check(CLI::Range(1.0, 1e6))
        ->capture_default_str();
}

bool applyCacheOptions(CodeCacheRequest request, double maxMb, const char* command) {
    request.maxBytes = static_cast<uint64_t>(std::llround(maxMb * 1024 * 1024));
    auto choice = configureCodeCache(request);
    if (!choice) {
        fmt::print(stderr, "chronus {}: {}\n", command, choice.error().message);
        return false;
    }
    if (!choice->warning.empty()) fmt::print(stderr, "chronus {}: {}\n", command, choice->warning);
    return true;
}

void finishCache(bool verbose, const char* command) {
    flushDiskCache();
    if (!verbose) return;
    const JitStats j = jitStats();
    const DiskCacheStats d = diskCacheStats();
    fmt::print(stderr,
               "chronus {}: JIT: {} shapes compiled, {} loaded from the code cache, {} reused; "
               "code cache {}: {} hits, {} misses, {} rejected, {} written{}\n",
               command, j.shapesCompiled, j.shapesLoaded, j.shapesReused,
               d.directory.empty() ? std::string("off") : d.directory, d.hits, d.misses, d.rejected,
               d.stored,
               d.storeFailures > 0
                   ? fmt::format(", {} not written ({})", d.storeFailures, d.lastStoreFailure)
                   : std::string());
}

} // namespace chronus::cli

// The options that raise (or lower) how large a patch may grow, the same on `serve` and `render`;
// the errors that refuse an edit name them (base/graph_limits.h).
#include "cli/commands.h"

#include <cstdint>

namespace chronus::cli {

void addGraphLimitOptions(CLI::App& cmd, GraphLimits& limits) {
    cmd.add_option(kMaxModulesOption, limits.maxModules, "most modules in one patch")
        ->check(CLI::Range(1u, 10'000'000u))
        ->capture_default_str();
    cmd.add_option(kMaxSourcesOption, limits.maxSourcesPerInput,
                   "most connections into one input or parameter")
        ->check(CLI::Range(1u, 10'000'000u))
        ->capture_default_str();
    cmd.add_option_function<uint64_t>(
           kMaxStateOption, [&limits](uint64_t mb) { limits.maxStateBytes = mb << 20; },
           "most module state in one patch, MB (delay lines are most of it; default 1024)")
        ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 24));
}

} // namespace chronus::cli

// How large one patch may grow: modules, sources summed into one input, bytes of module state.
// Every edit that would pass a limit is refused with an error naming the limit and the option
// that raises it (`serve` and `render` take the same options), and changes nothing; the graph
// checks them as it is edited, so no schedule or compile is needed to know.
#pragma once

#include <cstdint>

namespace chronus {

struct GraphLimits {
    /// Modules in one patch (--max-modules). A pending patch of this many still edits in O(1).
    uint32_t maxModules = 100'000;
    /// Connections into one input or parameter (--max-sources): the sum is done per sample.
    uint32_t maxSourcesPerInput = 4'096;
    /// Module state, parameters included, as the schedule lays it out (--max-state-mb), counted
    /// from the descriptors at `sampleRate` when each module is created: delay lines are most.
    uint64_t maxStateBytes = uint64_t{1} << 30;
    /// The rate state sizes are counted at: the engine's.
    float sampleRate = 48000;
};

/// The command-line options that set each limit, named in the errors.
inline constexpr const char* kMaxModulesOption = "--max-modules";
inline constexpr const char* kMaxSourcesOption = "--max-sources";
inline constexpr const char* kMaxStateOption = "--max-state-mb";

} // namespace chronus

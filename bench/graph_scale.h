// What editing and copying a patch graph cost as it grows: creates, connects, finds, parameter
// writes and deletes at several sizes, and copies of a large patch kept as queued commits keep
// them. Thread CPU time; resident memory from /proc/self/statm.
#pragma once

#include "bench/results.h"

#include <cstdint>
#include <vector>

namespace chronus::bench {

struct GraphScaleSettings {
    std::vector<uint32_t> sizes = {10, 10'000, 100'000};
    uint32_t rounds = 5;          ///< the median of these is reported
    uint32_t editsPerRound = 200; ///< of each kind
    uint32_t copyVoices = 5'000;  ///< voices of 4 modules: a 20,000-module patch
    uint32_t copies = 1'000;
};

GraphScaleResult measureGraphScale(const GraphScaleSettings& settings);

} // namespace chronus::bench

// `chronus bench --json FILE`: every figure of the run for machines, in one JSON document
// (schema "chronus-bench/2"; times in ns or ms as the key says, shares as fractions).
// /2 over /1: per workload "commit_tiered" (cold commits with tiered compiles: first tier and
// optimised) and "add_voice" (16- and 256-voice sine banks); targets carry "issue", "bound"
// (">=", "<=", "<") and "informational"; the 16-voice cold-commit target reads the tiered first
// tier (it read the untiered cold commit, which stays in "commit" as "cold_commit_to_swap_ms").
#pragma once

#include "bench/results.h"

#include <string>

namespace chronus::bench {

std::string formatJson(const BenchResults& results);

} // namespace chronus::bench

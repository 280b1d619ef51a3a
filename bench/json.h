// `chronus bench --json FILE`: every figure of the run for machines, in one JSON document
// (schema "chronus-bench/3"; times in ns, ms or s as the key says, shares as fractions).
// /3 over /2: "renders" (whole chronus render processes, cold and warm: CPU and wall seconds,
// peak memory), "render_cache_dir", "graph_scale" (edits per size, copies) and "chain_commit";
// workloads master-N (voices summed into gain master), mix-N and an fm-16 whose depth is a gain;
// add_voice also for master-16 and master-256; issue 13's targets.
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

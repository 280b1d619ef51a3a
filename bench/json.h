// `chronus bench --json FILE`: every figure of the run for machines, in one JSON document
// (schema "chronus-bench/1"; times in ns or ms as the key says, shares as fractions).
#pragma once

#include "results.h"

#include <string>

namespace chronus::bench {

std::string formatJson(const BenchResults& results);

} // namespace chronus::bench

// The report a person reads: machine and build, render cost, real-time headroom, compile and
// commit latency, and the targets, as plain-text tables.
#pragma once

#include "bench/results.h"

#include <string>

namespace chronus::bench {

std::string formatTable(const BenchResults& results);

/// "8.12", "81.2", "812": three significant figures for small numbers, none lost for big ones.
std::string formatNumber(double v);

} // namespace chronus::bench

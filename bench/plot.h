// `chronus bench --plot FILE.svg`: ns per output sample against voices, log-log, one line per
// engine and voice family (sine solid, saw dashed), p10-p90 whiskers, the real-time limit, a
// legend. Hand-written SVG: no plotting library.
#pragma once

#include "bench/results.h"

#include <string>

namespace chronus::bench {

std::string formatSvgPlot(const BenchResults& results);

} // namespace chronus::bench

// Where a benchmark ran: the CPU (/proc/cpuinfo), the build type baked in at compile time, the
// compiler, LLVM and the date, so a table can be read, and trusted, away from the machine.
#pragma once

#include "bench/results.h"

namespace chronus::bench {

/// Reads /proc/cpuinfo (where there is one) and the build's compile definitions.
MachineInfo readMachineInfo();

} // namespace chronus::bench

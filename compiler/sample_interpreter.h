// The per-sample interpreter: the naive baseline of `chronus bench`. It runs a Schedule one sample
// at a time over the whole graph, with one indirect kernel call per module per sample (as a
// textbook "walk the graph every sample" engine does), and implements exactly the semantics
// documented in schedule.h, so it agrees with the block interpreter and the JIT sample by sample.
#pragma once

#include "compiler/program.h"

#include <memory>

namespace chronus {

/// Control thread: builds a per-sample interpreter for `schedule` (takes ownership of a copy).
/// kind() == "interp-sample".
std::unique_ptr<Program> makeSampleInterpreter(Schedule schedule);

} // namespace chronus

// The block interpreter: runs a Schedule with the native kernels, one indirect call per module per
// block (stamped-out block loops inline each kernel); feedback stages run sample by sample. The
// reference for correctness and the baseline for benchmarks.
#pragma once

#include "compiler/program.h"

#include <memory>

namespace chronus {

inline constexpr uint32_t kInterpreterBlock = 256;

/// Control thread: builds an interpreter for `schedule` (takes ownership of a copy).
std::unique_ptr<Program> makeInterpreter(Schedule schedule,
                                         uint32_t blockFrames = kInterpreterBlock);

} // namespace chronus

// /patch/ir: the IR of the active commit written into the --ir-dir directory under a name the
// server chooses, `commit-<seq>-<stage>.ll` (`.s` for asm). Nothing in a message ever becomes part
// of a path: the stage is one of three fixed words, the sequence number is the engine's.
#pragma once

#include "base/expected.h"

#include <cstdint>
#include <string>

namespace chronus::osc {

/// `commit-7-optimized.ll`; an empty stage means optimized.
std::string irFileName(uint64_t seq, const std::string& stage);

/// Writes `text` to `dir`/irFileName(seq, stage) atomically (runtime/atomic_file.h: a fresh
/// temporary file, never one planted there, renamed over the name, so a reader never sees half a
/// file and nothing follows a symlink out of `dir`) and returns the path written.
Expected<std::string> writeIrFile(const std::string& dir, uint64_t seq, const std::string& stage,
                                  const std::string& text);

} // namespace chronus::osc

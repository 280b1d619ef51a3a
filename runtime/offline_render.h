// Renders a patch file offline, sample-exactly: untimed lines apply at the time of the line
// before them (0 at the start), `@t` lines at sample round(t * rate). A commit swaps in the new
// program at its own sample, carrying over the state of modules that survive (same id and type).
#pragma once

#include "expected.h"
#include "patch_file.h"
#include "program.h"

#include <functional>
#include <memory>
#include <vector>

namespace chronus {

struct OfflineRenderOptions {
    double seconds = 5;
    float sampleRate = 48000;
    uint32_t frames = 256; ///< block size the callback would see
    ProgramFactory factory; ///< default: the interpreter
    std::function<void(double fraction)> progress; ///< called now and then, may be empty
};

/// Mono samples, seconds * rate of them.
Expected<std::vector<float>> renderPatch(const std::vector<PatchLine>& lines,
                                         const OfflineRenderOptions& options);

} // namespace chronus

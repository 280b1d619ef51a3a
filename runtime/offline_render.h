// Renders a patch file offline, sample-exactly, through the engine on the offline backend: untimed
// lines apply at the time of the line before them (0 at the start), `@t` lines at sample
// round(t * rate). The render waits for each commit's compile, so the new program swaps in at the
// commit's own sample (carrying over the state of modules that survive) and every run is identical.
#pragma once

#include "base/expected.h"
#include "compiler/program.h"
#include "runtime/patch_file.h"

#include <functional>
#include <memory>
#include <vector>

namespace chronus {

struct OfflineRenderOptions {
    double seconds = 5;
    float sampleRate = 48000;
    uint32_t frames = 256;  ///< block size the callback would see
    ProgramFactory factory; ///< default: the engine's default (the JIT where built)
    double xfadeMs = 0;     ///< crossfade at each swap; 0 = hard swap
    std::function<void(double fraction)> progress; ///< called now and then, may be empty
};

/// Mono samples, seconds * rate of them.
Expected<std::vector<float>> renderPatch(const std::vector<PatchLine>& lines,
                                         const OfflineRenderOptions& options);

} // namespace chronus

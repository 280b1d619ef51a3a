// `chronus render`: a patch file played on the patch player's offline clock (patch_player.h has
// the rule): each line at its exact sample, round(t * rate); each commit waits for its compile, so
// the new program swaps in at the commit's own sample (carrying over the state of modules that
// survive) and every run is identical. The file is checked whole first: a bad line refuses it.
#pragma once

#include "base/expected.h"
#include "base/graph_limits.h"
#include "compiler/program.h"
#include "runtime/backend.h"
#include "runtime/patch_file.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace chronus {

struct PatchScript;

struct OfflineRenderOptions {
    double seconds = 5;
    float sampleRate = 48000;
    uint32_t frames = 256;  ///< block size the callback would see
    ProgramFactory factory; ///< default: the engine's default (the JIT where built)
    double xfadeMs = 10;    ///< EngineOptions::xfadeMs (its default): 0 = hard swaps
    std::function<void(double fraction)> progress; ///< called now and then, may be empty
    std::string source;      ///< the file's name in errors (`FILE:LINE: reason`); empty: `line N:`
    GraphLimits limits = {}; ///< the engine's (its sampleRate is set to `sampleRate`)
    /// Channels rendered. 0: the patch's, the most any of its commits has (patchChannels), so
    /// a mono patch renders mono; more: AudioCore's mapping (a mono patch on every channel).
    uint32_t channels = 0;
    /// Audio in for the patch's `input` modules, from sample 0 (silence after its end).
    std::shared_ptr<const InputAudio> input;
};

/// The most channels any commit of `script` plays (compiler/schedule.h's rule): 1 for a mono
/// patch, 2 for one with a stereo output.
/// `limits`: what the script was checked against.
uint32_t patchChannels(const PatchScript& script, const GraphLimits& limits = {});
/// The highest channel of audio in any commit of `script` reads (an `input` module's creation
/// argument); 0: it has none.
uint32_t patchInputChannels(const PatchScript& script, const GraphLimits& limits = {});

/// Where a streaming render puts its samples, in order, as it renders them, in runs of whole
/// blocks of at least 4096 frames (the last may be shorter): `count` frames of the render's
/// channels, interleaved. An error stops the render and is what renderPatchTo returns.
using RenderSink = std::function<Status(const float* samples, std::size_t count)>;

/// Renders seconds * rate frames into `sink` as they are made: memory stays bounded by a run
/// whatever the length (`chronus render` writes its file so).
Status renderPatchTo(PatchScript script, const OfflineRenderOptions& options,
                     const RenderSink& sink);

/// The frames, seconds * rate of them (interleaved, options.channels or the patch's), held in
/// memory (short renders; tests).
Expected<std::vector<float>> renderPatch(const std::vector<PatchLine>& lines,
                                         const OfflineRenderOptions& options);
/// The same for a script already checked (checkPatch, loadPatchFile).
Expected<std::vector<float>> renderPatch(PatchScript script, const OfflineRenderOptions& options);

} // namespace chronus

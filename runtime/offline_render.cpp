#include "runtime/offline_render.h"

#include "runtime/backend_offline.h"
#include "runtime/engine.h"
#include "runtime/patch_dry_run.h"
#include "runtime/patch_player.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

namespace chronus {

Expected<std::vector<float>> renderPatch(const std::vector<PatchLine>& lines,
                                         const OfflineRenderOptions& options) {
    GraphLimits limits = options.limits;
    limits.sampleRate = options.sampleRate;
    auto script = checkPatch(lines, options.source, limits);
    if (!script) return script.error();
    return renderPatch(script.take(), options);
}

namespace {
/// Calls `seen` with the patch of every commit in `script`, in order.
template <class Seen>
void forEachCommit(const PatchScript& script, const GraphLimits& limits, Seen seen) {
    PatchDryRun dry(limits);
    for (const PatchScript::Step& step : script.steps) {
        if (!dry.apply(step.command)) continue; // checked already: cannot happen
        if (commandKind(step.command) == CommandKind::commit && dry.committed())
            seen(*dry.committed());
    }
}
} // namespace

uint32_t patchChannels(const PatchScript& script, const GraphLimits& limits) {
    uint32_t channels = 1;
    forEachCommit(script, limits, [&](const PatchGraph& g) {
        channels = std::max(channels, outputChannelCount(g));
    });
    return channels;
}

uint32_t patchInputChannels(const PatchScript& script, const GraphLimits& limits) {
    uint32_t channels = 0;
    forEachCommit(script, limits, [&](const PatchGraph& g) {
        for (const Module& m : g.modules())
            if (m.desc->isAudioInput)
                channels = std::max(channels, static_cast<uint32_t>(m.createArg));
    });
    return channels;
}

Status renderPatchTo(PatchScript script, const OfflineRenderOptions& options,
                     const RenderSink& sink) {
    if (!(options.seconds > 0) || !(options.sampleRate > 0) || options.frames == 0)
        return makeError("render needs seconds > 0, rate > 0 and frames > 0");
    EngineOptions eo;
    eo.sampleRate = options.sampleRate;
    eo.frames = options.frames;
    eo.factory = options.factory;
    eo.xfadeMs = options.xfadeMs;
    eo.prewarm = false; // its first commit comes at once: a warm-up would only delay it
    eo.limits = options.limits;
    auto engine = Engine::create(eo);
    if (!engine) return engine.error();
    BackendOptions bo;
    GraphLimits limits = options.limits;
    limits.sampleRate = options.sampleRate;
    bo.channels = options.channels > 0 ? options.channels : patchChannels(script, limits);
    bo.input = options.input;
    OfflineBackend backend(**engine, bo);
    std::optional<Error> sinkError;
    // Blocks are handed on in runs of at least kSinkRun frames: a WAV file's writer makes one
    // system call per write, and at 64-frame blocks that was 45,000 calls a minute of audio, a
    // third of a one-voice render's CPU. A failed write still stops the render within one run.
    constexpr std::size_t kSinkRun = 4096;
    const std::size_t channels = std::max<std::size_t>(bo.channels, 1);
    std::vector<float> run;
    run.reserve(2 * kSinkRun * channels);
    auto flush = [&] {
        if (run.empty() || sinkError) return;
        if (Status s = sink(run.data(), run.size() / channels); !s) sinkError = s.error();
        run.clear();
    };
    backend.setSink([&](const float* samples, uint32_t frames) {
        run.insert(run.end(), samples, samples + std::size_t{frames} * channels);
        if (run.size() >= kSinkRun * channels) flush();
        return !sinkError;
    });

    const auto total = static_cast<uint64_t>(std::llround(options.seconds * options.sampleRate));
    PatchPlayer player(**engine, std::move(script));
    Status played = player.playOffline(backend, nullptr, total, options.progress);
    flush();
    if (sinkError) return *sinkError; // what stopped it, not what came of the skipped rest
    return played;
}

Expected<std::vector<float>> renderPatch(PatchScript script, const OfflineRenderOptions& options) {
    std::vector<float> out;
    GraphLimits limits = options.limits;
    limits.sampleRate = options.sampleRate;
    const uint32_t channels =
        options.channels > 0 ? options.channels : patchChannels(script, limits);
    if (options.seconds > 0 && options.sampleRate > 0)
        out.reserve(static_cast<std::size_t>(std::llround(options.seconds * options.sampleRate)) *
                    channels);
    Status s = renderPatchTo(std::move(script), options, [&](const float* p, std::size_t n) {
        out.insert(out.end(), p, p + n * channels);
        return Status{};
    });
    if (!s) return s.error();
    return out;
}

} // namespace chronus

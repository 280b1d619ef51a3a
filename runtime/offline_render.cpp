#include "runtime/offline_render.h"

#include "runtime/backend_offline.h"
#include "runtime/engine.h"
#include "runtime/patch_player.h"

#include <cmath>

namespace chronus {

Expected<std::vector<float>> renderPatch(const std::vector<PatchLine>& lines,
                                         const OfflineRenderOptions& options) {
    GraphLimits limits = options.limits;
    limits.sampleRate = options.sampleRate;
    auto script = checkPatch(lines, options.source, limits);
    if (!script) return script.error();
    return renderPatch(script.take(), options);
}

Expected<std::vector<float>> renderPatch(PatchScript script, const OfflineRenderOptions& options) {
    if (!(options.seconds > 0) || !(options.sampleRate > 0) || options.frames == 0)
        return makeError("render needs seconds > 0, rate > 0 and frames > 0");
    EngineOptions eo;
    eo.sampleRate = options.sampleRate;
    eo.frames = options.frames;
    eo.factory = options.factory;
    eo.xfadeMs = options.xfadeMs;
    eo.limits = options.limits;
    auto engine = Engine::create(eo);
    if (!engine) return engine.error();
    OfflineBackend backend(**engine, {});

    const auto total = static_cast<uint64_t>(std::llround(options.seconds * options.sampleRate));
    std::vector<float> out(total, 0.0f);
    PatchPlayer player(**engine, std::move(script));
    if (Status s = player.playOffline(backend, out.data(), total, options.progress); !s)
        return s.error();
    return out;
}

} // namespace chronus

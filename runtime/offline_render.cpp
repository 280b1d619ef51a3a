#include "runtime/offline_render.h"

#include "runtime/backend_offline.h"
#include "runtime/control_command.h"
#include "runtime/engine.h"

#include <algorithm>
#include <cmath>

namespace chronus {

Expected<std::vector<float>> renderPatch(const std::vector<PatchLine>& lines,
                                         const OfflineRenderOptions& options) {
    if (!(options.seconds > 0) || !(options.sampleRate > 0) || options.frames == 0)
        return makeError("render needs seconds > 0, rate > 0 and frames > 0");
    EngineOptions eo;
    eo.sampleRate = options.sampleRate;
    eo.frames = options.frames;
    eo.factory = options.factory;
    eo.xfadeMs = options.xfadeMs;
    auto engine = Engine::create(eo);
    if (!engine) return engine.error();
    OfflineBackend backend(**engine, {});

    const auto total = static_cast<uint64_t>(std::llround(options.seconds * options.sampleRate));
    std::vector<float> out(total, 0.0f);
    const uint64_t progressStep = std::max<uint64_t>(total / 20, options.frames);
    auto renderTo = [&](uint64_t end) {
        end = std::min(end, total);
        while (backend.position() < end) {
            const uint64_t from = backend.position();
            const uint64_t to =
                options.progress ? std::min(end, (from / progressStep + 1) * progressStep) : end;
            backend.render(out.data() + from, to - from);
            if (options.progress && to % progressStep == 0)
                options.progress(static_cast<double>(to) / static_cast<double>(total));
        }
    };

    double lastTime = 0;
    for (const PatchLine& line : lines) {
        if (line.time) {
            if (*line.time < lastTime)
                return makeError("line {}: time {} is earlier than the line before ({})", line.line,
                                 *line.time, lastTime);
            lastTime = *line.time;
        }
        renderTo(static_cast<uint64_t>(std::llround(lastTime * options.sampleRate)));
        auto cmd = decodeCommand(line.address, line.args);
        if (!cmd) return lineError(line, cmd.error());
        if (std::holds_alternative<CommitCommand>(*cmd)) {
            CommitReport report;
            const uint64_t seq =
                (*engine)->commit([&report](const CommitReport& r) { report = r; });
            if (!backend.waitForCommit(seq))
                return lineError(line, makeError("commit {} never finished", seq));
            if (!report.ok) return lineError(line, makeError("commit failed: {}", report.reason));
            continue;
        }
        if (std::holds_alternative<DumpCommand>(*cmd) || std::holds_alternative<IrCommand>(*cmd) ||
            std::holds_alternative<StatusCommand>(*cmd) ||
            std::holds_alternative<QuitCommand>(*cmd))
            continue; // nothing to do offline
        if (Status s = (*engine)->apply(*cmd); !s) return lineError(line, s.error());
    }
    renderTo(total);
    if (options.progress) options.progress(1.0);
    return out;
}

} // namespace chronus

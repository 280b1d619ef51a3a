#include "runtime/patch_player.h"

#include "runtime/backend_offline.h"
#include "runtime/patch_dry_run.h"

#include <algorithm>
#include <cmath>
#include <memory>

namespace chronus {

Error PatchScript::error(const Step& step, const Error& e) const {
    return lineError(source, step.line, e);
}

Expected<PatchScript> checkPatch(const std::vector<PatchLine>& lines, std::string source,
                                 const GraphLimits& limits) {
    PatchScript script;
    script.source = std::move(source);
    script.steps.reserve(lines.size());
    PatchDryRun dry(limits);
    double time = 0;
    int timeLine = 0; ///< the line `time` was written on; 0: the start
    for (const PatchLine& line : lines) {
        if (line.time) {
            if (*line.time < time)
                return lineError(script.source, line.line,
                                 makeError("@{:g} is earlier than @{:g} on line {}: lines run in "
                                           "file order, so a time may not go back",
                                           *line.time, time, timeLine));
            time = *line.time;
            timeLine = line.line;
        }
        auto cmd = decodeCommand(line.address, line.args);
        if (!cmd) return lineError(script.source, line.line, cmd.error());
        if (Status s = dry.apply(*cmd); !s) return lineError(script.source, line.line, s.error());
        script.steps.push_back({line.line, time, cmd.take()});
    }
    script.committed = dry.committed();
    return script;
}

Expected<PatchScript> loadPatchFile(const std::string& path, const GraphLimits& limits) {
    auto lines = readPatchFile(path);
    if (!lines) return lines.error();
    return checkPatch(*lines, path, limits);
}

namespace {

/// The live clock's lines straight into an engine.
class EngineTarget final : public PatchTarget {
public:
    explicit EngineTarget(Engine& engine) : engine_(engine) {}
    float sampleRate() const override { return engine_.options().sampleRate; }
    Status apply(const ControlCommand& cmd) override { return engine_.apply(cmd); }
    Status applyAt(uint64_t atSample, const ControlCommand& cmd) override {
        return engine_.applyAt(atSample, cmd);
    }
    uint64_t commit(CommitCallback done) override { return engine_.commit(std::move(done)); }

private:
    Engine& engine_;
};

} // namespace

PatchPlayer::PatchPlayer(Engine& engine, PatchScript script, PatchPlayerOptions options)
    : engine_(&engine), engineTarget_(std::make_unique<EngineTarget>(engine)),
      target_(engineTarget_.get()), script_(std::move(script)), opts_(std::move(options)) {}

PatchPlayer::PatchPlayer(PatchTarget& target, PatchScript script, PatchPlayerOptions options)
    : target_(&target), script_(std::move(script)), opts_(std::move(options)) {}

PatchPlayer::~PatchPlayer() = default;
PatchPlayer::PatchPlayer(PatchPlayer&&) noexcept = default;

uint64_t PatchPlayer::dueSample(const PatchScript::Step& step) const {
    return *origin_ + static_cast<uint64_t>(std::llround(step.time * target_->sampleRate()));
}

Status PatchPlayer::run(const PatchScript::Step& step, OfflineBackend* backend) {
    switch (commandKind(step.command)) {
    case CommandKind::query:
    case CommandKind::quit:
        return {}; // nothing to do in a file
    case CommandKind::commit: {
        if (backend == nullptr) {
            lastCommit_ = target_->commit(opts_.onCommit);
            return {};
        }
        // Offline: wait for it, so that its swap lands at this sample. Shared: a commit that
        // never finishes may still report after this returns.
        auto report = std::make_shared<CommitReport>();
        lastCommit_ = engine_->commit([report, done = opts_.onCommit](const CommitReport& r) {
            *report = r;
            if (done) done(r);
        });
        if (!backend->waitForCommit(lastCommit_))
            return script_.error(step, makeError("commit {} never finished", lastCommit_));
        if (!report->ok) return script_.error(step, makeError("commit failed: {}", report->reason));
        return {};
    }
    case CommandKind::edit:
    case CommandKind::abort:
    case CommandKind::write:
        if (Status s = target_->apply(step.command); !s) return script_.error(step, s.error());
        return {};
    }
    return {};
}

Status PatchPlayer::playOffline(OfflineBackend& backend, float* out, uint64_t frames,
                                const std::function<void(double)>& progress) {
    if (engine_ == nullptr) return makeError("the offline clock plays into an engine only");
    const uint64_t start = backend.position();
    if (!origin_) origin_ = start;
    const uint64_t end = start + frames;
    const uint64_t progressStep = std::max<uint64_t>(frames / 20, engine_->options().frames);
    auto renderTo = [&](uint64_t to) {
        to = std::min(to, end);
        while (backend.position() < to) {
            const uint64_t from = backend.position();
            const uint64_t until =
                progress ? std::min(to, start + ((from - start) / progressStep + 1) * progressStep)
                         : to;
            backend.render(out != nullptr ? out + (from - start) : nullptr, until - from);
            if (progress && (until - start) % progressStep == 0)
                progress(static_cast<double>(until - start) / static_cast<double>(frames));
        }
    };
    for (; next_ < script_.steps.size(); ++next_) {
        const PatchScript::Step& step = script_.steps[next_];
        renderTo(dueSample(step));
        if (Status s = run(step, &backend); !s) return s;
    }
    renderTo(end);
    if (progress) progress(1.0);
    return {};
}

Status PatchPlayer::advance(uint64_t now) {
    if (!origin_) origin_ = now;
    const auto lookahead = static_cast<uint64_t>(
        std::llround(std::max(0.0, opts_.lookaheadSeconds) * target_->sampleRate()));
    std::optional<Error> refused;
    for (; next_ < script_.steps.size(); ++next_) {
        const PatchScript::Step& step = script_.steps[next_];
        const uint64_t due = dueSample(step);
        if (due <= now) {
            if (Status s = run(step, nullptr); !s && !refused) refused = s.error();
            continue;
        }
        // Not due yet: only a write may go ahead of its time, and only what follows nothing that
        // must wait (file order).
        if (!isSchedulable(step.command) || due > now + lookahead) break;
        // Refused (the timed-event queue is full, say): tried again at the next advance, and
        // applied at once when it is due.
        if (!target_->applyAt(due, step.command).ok()) break;
    }
    if (refused) return *refused;
    return {};
}

Status PatchPlayer::start(uint64_t now) {
    const uint64_t before = lastCommit_;
    Status s = advance(now);
    if (lastCommit_ == before) lastCommit_ = target_->commit(opts_.onCommit);
    return s;
}

} // namespace chronus

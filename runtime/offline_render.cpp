#include "offline_render.h"

#include "control_command.h"
#include "interpreter.h"
#include "param_block.h"
#include "patch_graph.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace chronus {

namespace {

struct AlignedDelete {
    void operator()(std::byte* p) const { ::operator delete[](p, std::align_val_t{64}); }
};
using StateBuffer = std::unique_ptr<std::byte[], AlignedDelete>;

StateBuffer allocState(size_t bytes) {
    auto* p = static_cast<std::byte*>(::operator new[](std::max<size_t>(bytes, 64), std::align_val_t{64}));
    return StateBuffer(p);
}

/// The committed program with its parameters and state, and the pending graph being edited.
class OfflineSession {
public:
    explicit OfflineSession(const OfflineRenderOptions& o) : opts_(o) {}

    Status apply(const ControlCommand& cmd) {
        return std::visit([this](const auto& c) { return on(c); }, cmd);
    }

    void render(float* out, uint32_t frames) {
        if (!program_) {
            std::fill(out, out + frames, 0.0f);
            return;
        }
        program_->render(params_->data(), state_.get(), out, frames);
    }

private:
    Status on(const CreateCommand& c) { return pending_.create(c.id, c.type, c.createArg); }
    Status on(const DeleteCommand& c) { return pending_.remove(c.id); }
    Status on(const ConnectCommand& c) { return pending_.connect(c.src, c.dst); }
    Status on(const DisconnectCommand& c) { return pending_.disconnect(c.src, c.dst); }
    Status on(const AbortCommand&) {
        pending_ = committed_;
        return {};
    }
    Status on(const GateCommand& c) { return setParam(SetParamCommand{c.id, "gate", c.value, {}}); }
    Status on(const SetParamCommand& c) { return setParam(c); }
    template <class T>
    Status on(const T&) {
        return {}; // dump, ir, status, quit: nothing to do offline
    }

    Status setParam(const SetParamCommand& c) {
        Status s = c.choice ? pending_.setParamChoice(c.id, c.param, *c.choice)
                            : pending_.setParam(c.id, c.param, c.value);
        if (!s) return s;
        // Live too, if the committed patch has this module.
        auto idx = pending_.paramIndex(c.id, c.param);
        float value = pending_.find(c.id)->params[*idx];
        if (committed_.find(c.id) != nullptr && committed_.setParam(c.id, c.param, value).ok()) {
            if (const ScheduledNode* n = program_->schedule().find(c.id))
                params_->store(n->paramIndex + *idx, value);
        }
        return {};
    }

    Status on(const CommitCommand&) {
        auto sched = buildSchedule(pending_, {opts_.sampleRate});
        if (!sched) return sched.error();
        auto program = opts_.factory ? opts_.factory(*sched) : Expected<std::unique_ptr<Program>>(
                                                                   makeInterpreter(*sched));
        if (!program) return program.error();
        const Schedule& ns = (*program)->schedule();
        auto params = std::make_unique<ParamBlock>(ns.paramCount);
        for (const auto& n : ns.nodes)
            for (uint32_t p = 0; p < n.paramCount(); ++p) params->store(n.paramIndex + p, n.initialParams[p]);
        StateBuffer state = allocState(ns.stateBytes);
        initState(ns, state.get());
        if (program_) {
            for (const auto& n : ns.nodes) {
                const ScheduledNode* old = program_->schedule().find(n.id);
                if (old && old->desc == n.desc && old->stateBytes == n.stateBytes)
                    std::memcpy(state.get() + n.stateOffset, state_.get() + old->stateOffset, n.stateBytes);
            }
        }
        program_ = program.take();
        params_ = std::move(params);
        state_ = std::move(state);
        committed_ = pending_;
        return {};
    }

    OfflineRenderOptions opts_;
    PatchGraph pending_, committed_;
    std::unique_ptr<Program> program_;
    std::unique_ptr<ParamBlock> params_;
    StateBuffer state_;
};

} // namespace

Expected<std::vector<float>> renderPatch(const std::vector<PatchLine>& lines,
                                         const OfflineRenderOptions& options) {
    if (!(options.seconds > 0) || !(options.sampleRate > 0) || options.frames == 0)
        return makeError("render needs seconds > 0, rate > 0 and frames > 0");
    const auto total = static_cast<uint64_t>(std::llround(options.seconds * options.sampleRate));
    std::vector<float> out(total, 0.0f);
    OfflineSession session(options);
    uint64_t cursor = 0;
    double lastTime = 0;
    uint64_t lastReport = 0;
    auto renderTo = [&](uint64_t end) {
        end = std::min(end, total);
        while (cursor < end) {
            auto n = static_cast<uint32_t>(std::min<uint64_t>(options.frames, end - cursor));
            session.render(out.data() + cursor, n);
            cursor += n;
            if (options.progress && cursor - lastReport >= total / 20) {
                lastReport = cursor;
                options.progress(static_cast<double>(cursor) / static_cast<double>(total));
            }
        }
    };
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
        if (Status s = session.apply(*cmd); !s) return lineError(line, s.error());
    }
    renderTo(total);
    if (options.progress) options.progress(1.0);
    return out;
}

} // namespace chronus

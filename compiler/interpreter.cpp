#include "compiler/interpreter.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace chronus {

namespace {

class Interpreter final : public Program {
public:
    Interpreter(Schedule schedule, uint32_t block) : sched_(std::move(schedule)), block_(block) {
        ctx_ = sched_.context();
        const auto& nodes = sched_.nodes;
        // One pool for every buffer, carved up below; nothing is allocated after this.
        size_t buffers = 0;
        for (const auto& n : nodes) buffers += n.outputCount() + n.layout->kernelInCount();
        pool_.assign(buffers * block_, 0.0f);
        float* cursor = pool_.data();
        auto take = [&] {
            float* b = cursor;
            cursor += block_;
            return b;
        };
        rt_.resize(nodes.size());
        for (size_t i = 0; i < nodes.size(); ++i) {
            auto& r = rt_[i];
            for (uint32_t o = 0; o < nodes[i].outputCount(); ++o) r.out.push_back(take());
        }
        for (size_t i = 0; i < nodes.size(); ++i) {
            const auto& n = nodes[i];
            auto& r = rt_[i];
            r.targets.assign(n.paramCount(), 0.0f);
            r.canPrepare = n.canPrepare();
            for (uint32_t s = 0; s < n.layout->kernelInCount(); ++s) {
                float* own = take();
                r.slot.push_back(own);
                const auto& src = n.sources[s];
                if (s < n.inputCount()) {
                    if (src.empty())
                        std::fill(own, own + block_, n.layout->inputs[s].unconnectedValue);
                    r.in.push_back(src.size() == 1 ? rt_[src[0].node].out[src[0].output] : own);
                } else {
                    r.in.push_back(own);
                }
            }
        }
    }

    const Schedule& schedule() const override { return sched_; }
    std::string_view kind() const override { return "interp"; }

    void render(const std::atomic<float>* params, std::byte* state, float* out,
                uint32_t frames) noexcept override {
        float* const outs[1] = {out};
        renderAll(params, state, outs, 1, nullptr, 0, frames);
    }

    void renderChannels(const std::atomic<float>* params, std::byte* state, const AudioIo& io,
                        uint32_t frames) noexcept override {
        renderAll(params, state, io.out, sched_.channelCount(), io.in, io.inputs, frames);
    }

private:
    struct NodeRuntime {
        std::vector<float*> out;      ///< one buffer per output
        std::vector<float*> slot;     ///< own buffer per kernel slot (sums, parameters)
        std::vector<const float*> in; ///< what the kernel reads per slot
        std::vector<float> targets;   ///< parameter targets loaded for this block
        bool canPrepare = false; ///< has prepare/process, and no prepared parameter is modulated
    };

    float sumAt(const SignalRef* src, size_t count, uint32_t f) const {
        float v = rt_[src[0].node].out[src[0].output][f];
        for (size_t k = 1; k < count; ++k) v += rt_[src[k].node].out[src[k].output][f];
        return v;
    }
    float sumAt(const std::vector<SignalRef>& src, uint32_t f) const {
        return sumAt(src.data(), src.size(), f);
    }

    /// `channels` of the patch's (the first ones) into `out`, in blocks of block_.
    void renderAll(const std::atomic<float>* params, std::byte* state, float* const* out,
                   uint32_t channels, const float* const* in, uint32_t inputs,
                   uint32_t frames) noexcept {
        for (uint32_t done = 0; done < frames;) {
            const uint32_t n = std::min(frames - done, block_);
            audioThreadPointInputs(sched_, state, in, inputs, done);
            renderBlock(params, state, n);
            for (uint32_t c = 0; c < channels; ++c) {
                const uint32_t first = sched_.channelTapBegin(c), end = sched_.channelTapEnd(c);
                float* dst = out[c] + done;
                if (first == end)
                    std::fill(dst, dst + n, 0.0f);
                else
                    for (uint32_t f = 0; f < n; ++f)
                        dst[f] = sumAt(sched_.outputTaps.data() + first, end - first, f);
            }
            done += n;
        }
    }

    /// One parameter, one sample: the smoothing step, modulation, clamp (see schedule.h).
    float paramAt(const ScheduledNode& n, uint32_t p, float& smoother, float target,
                  uint32_t f) const {
        const ParamDesc& d = n.layout->params[p].desc;
        smoother = d.smoothed ? smoother + sched_.smoothingCoef * (target - smoother) : target;
        const auto& src = n.sources[n.inputCount() + p];
        float v = src.empty() ? smoother : smoother + sumAt(src, f);
        return std::fmin(std::fmax(v, d.minValue), d.maxValue);
    }

    /// True if every smoothed parameter of `n` is at its smoother's fixed point for this block
    /// (s + coef * (target - s) == s, the very step paramAt takes): then each parameter's
    /// smoothed value is the same for every sample of the block.
    bool settled(const ScheduledNode& n, const NodeRuntime& r, const float* smoothers) const {
        for (uint32_t p = 0; p < n.paramCount(); ++p) {
            if (!n.layout->params[p].desc.smoothed) continue;
            const float s = smoothers[p];
            if (s + sched_.smoothingCoef * (r.targets[p] - s) != s) return false;
        }
        return true;
    }

    void runBlockNode(uint32_t i, std::byte* state, uint32_t frames) noexcept {
        const ScheduledNode& n = sched_.nodes[i];
        NodeRuntime& r = rt_[i];
        for (uint32_t s = 0; s < n.inputCount(); ++s) {
            const auto& src = n.sources[s];
            if (src.size() < 2) continue; // constant or a direct pointer, set up at build
            for (uint32_t f = 0; f < frames; ++f) r.slot[s][f] = sumAt(src, f);
        }
        auto* smoothers = reinterpret_cast<float*>(state + n.stateOffset);
        std::byte* kernelState = state + n.kernelStateOffset;
        const auto slots = static_cast<uint32_t>(n.layout->kernelInCount());
        if (!settled(n, r, smoothers)) {
            for (uint32_t p = 0; p < n.paramCount(); ++p) {
                float* eff = r.slot[n.inputCount() + p];
                float s = smoothers[p];
                for (uint32_t f = 0; f < frames; ++f) eff[f] = paramAt(n, p, s, r.targets[p], f);
                smoothers[p] = s;
            }
            n.desc->block(kernelState, r.in.data(), r.out.data(), slots, n.outputCount(), frames,
                          &ctx_);
            return;
        }
        // Settled: every step of paramAt gives the same smoothed value, so an unmodulated
        // parameter is one value for the block. The results are the same bit for bit.
        float prepared[kMaxKernelValues] = {};
        for (uint32_t p = 0; p < n.paramCount(); ++p) {
            const ParamDesc& d = n.layout->params[p].desc;
            const float s = d.smoothed ? smoothers[p] : r.targets[p];
            smoothers[p] = s;
            float* eff = r.slot[n.inputCount() + p];
            const auto& src = n.sources[n.inputCount() + p];
            if (src.empty()) {
                const float v = std::fmin(std::fmax(s, d.minValue), d.maxValue);
                std::fill(eff, eff + frames, v);
                prepared[n.inputCount() + p] = v;
            } else {
                for (uint32_t f = 0; f < frames; ++f)
                    eff[f] = std::fmin(std::fmax(s + sumAt(src, f), d.minValue), d.maxValue);
            }
        }
        if (r.canPrepare) {
            n.desc->prepare(kernelState, prepared, &ctx_);
            n.desc->processBlock(kernelState, r.in.data(), r.out.data(), slots, n.outputCount(),
                                 frames, &ctx_);
        } else {
            n.desc->block(kernelState, r.in.data(), r.out.data(), slots, n.outputCount(), frames,
                          &ctx_);
        }
    }

    void runFeedbackStage(const Stage& st, std::byte* state, uint32_t frames) noexcept {
        float inS[kMaxKernelValues];
        float outS[kMaxKernelValues];
        for (uint32_t f = 0; f < frames; ++f) {
            for (uint32_t i = st.first; i < st.first + st.count; ++i) {
                const ScheduledNode& n = sched_.nodes[i];
                if (!n.hasDelayedOutput()) continue;
                n.desc->emit(state + n.kernelStateOffset, outS, &ctx_);
                for (uint32_t o = 0; o < n.outputCount(); ++o)
                    if (n.layout->outputs[o].delayed) rt_[i].out[o][f] = outS[o];
            }
            for (uint32_t i = st.first; i < st.first + st.count; ++i) {
                const ScheduledNode& n = sched_.nodes[i];
                NodeRuntime& r = rt_[i];
                for (uint32_t s = 0; s < n.inputCount(); ++s)
                    inS[s] = n.sources[s].empty() ? n.layout->inputs[s].unconnectedValue
                                                  : sumAt(n.sources[s], f);
                auto* smoothers = reinterpret_cast<float*>(state + n.stateOffset);
                for (uint32_t p = 0; p < n.paramCount(); ++p)
                    inS[n.inputCount() + p] = paramAt(n, p, smoothers[p], r.targets[p], f);
                n.desc->tick(state + n.kernelStateOffset, inS, outS, &ctx_);
                for (uint32_t o = 0; o < n.outputCount(); ++o)
                    if (!n.layout->outputs[o].delayed) r.out[o][f] = outS[o];
            }
        }
    }

    void renderBlock(const std::atomic<float>* params, std::byte* state, uint32_t frames) noexcept {
        for (size_t i = 0; i < rt_.size(); ++i) {
            const ScheduledNode& n = sched_.nodes[i];
            for (uint32_t p = 0; p < n.paramCount(); ++p)
                rt_[i].targets[p] = params[n.paramIndex + p].load(std::memory_order_relaxed);
        }
        for (const Stage& st : sched_.stages) {
            if (st.feedback)
                runFeedbackStage(st, state, frames);
            else
                runBlockNode(st.first, state, frames);
        }
    }

    Schedule sched_;
    uint32_t block_;
    KernelContext ctx_{};
    std::vector<float> pool_;
    std::vector<NodeRuntime> rt_;
};

} // namespace

std::unique_ptr<Program> makeInterpreter(Schedule schedule, uint32_t blockFrames) {
    return std::make_unique<Interpreter>(std::move(schedule), std::max<uint32_t>(blockFrames, 1));
}

} // namespace chronus

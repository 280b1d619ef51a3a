#include "compiler/sample_interpreter.h"

#include "compiler/interpreter.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace chronus {

namespace {

class SampleInterpreter final : public Program {
public:
    explicit SampleInterpreter(Schedule schedule) : sched_(std::move(schedule)) {
        ctx_ = sched_.context();
        const auto& nodes = sched_.nodes;
        // Every output of every node is one float holding its value at the current sample.
        std::vector<uint32_t> valueBase(nodes.size());
        uint32_t values = 0;
        for (size_t i = 0; i < nodes.size(); ++i) {
            valueBase[i] = values;
            values += nodes[i].outputCount();
        }
        values_.assign(values, 0.0f);
        auto valueOf = [&](const SignalRef& r) { return valueBase[r.node] + r.output; };

        nodes_.resize(nodes.size());
        for (size_t i = 0; i < nodes.size(); ++i) {
            const ScheduledNode& n = nodes[i];
            NodeRun& r = nodes_[i];
            r.tick = n.desc->tick;
            r.emit = n.desc->emit;
            r.kernelStateOffset = n.kernelStateOffset;
            r.stateOffset = n.stateOffset;
            r.inputs = n.inputCount();
            r.params = n.paramCount();
            r.paramIndex = n.paramIndex;
            r.firstValue = valueBase[i];
            r.outputs = n.outputCount();
            r.firstFeed = static_cast<uint32_t>(feeds_.size());
            for (uint32_t k = 0; k < n.layout->kernelInCount(); ++k) {
                InFeed feed;
                feed.firstSource = static_cast<uint32_t>(sources_.size());
                for (const SignalRef& src : n.sources[k]) sources_.push_back(valueOf(src));
                feed.sourceCount = static_cast<uint32_t>(n.sources[k].size());
                if (k < n.inputCount()) {
                    feed.unconnected = n.layout->inputs[k].unconnectedValue;
                } else {
                    const ParamDesc& d = n.layout->params[k - n.inputCount()].desc;
                    feed.smoothed = d.smoothed;
                    feed.minValue = d.minValue;
                    feed.maxValue = d.maxValue;
                }
                feeds_.push_back(feed);
            }
            r.firstDelayed = static_cast<uint32_t>(delayed_.size());
            for (uint32_t o = 0; o < n.outputCount(); ++o)
                if (n.layout->outputs[o].delayed) delayed_.push_back(o);
            r.delayedCount = static_cast<uint32_t>(delayed_.size()) - r.firstDelayed;
            r.firstImmediate = static_cast<uint32_t>(immediate_.size());
            for (uint32_t o = 0; o < n.outputCount(); ++o)
                if (!n.layout->outputs[o].delayed) immediate_.push_back(o);
            r.immediateCount = static_cast<uint32_t>(immediate_.size()) - r.firstImmediate;
            if (r.emit != nullptr) emitters_.push_back(static_cast<uint32_t>(i));
        }
        for (const SignalRef& t : sched_.outputTaps) taps_.push_back(valueOf(t));
        targets_.assign(sched_.paramCount, 0.0f);
    }

    const Schedule& schedule() const override { return sched_; }
    std::string_view kind() const override { return "interp-sample"; }

    void render(const std::atomic<float>* params, std::byte* state, float* out,
                uint32_t frames) noexcept override {
        // Targets are read once per block of the block interpreter's size, as both other engines
        // do, so a parameter change lands on the same sample in all three.
        audioThreadPointInputs(sched_, state, nullptr, 0, 0);
        while (frames > 0) {
            const uint32_t n = std::min(frames, kInterpreterBlock);
            for (size_t p = 0; p < targets_.size(); ++p)
                targets_[p] = params[p].load(std::memory_order_relaxed);
            for (uint32_t f = 0; f < n; ++f) out[f] = tickSample(state);
            out += n;
            frames -= n;
        }
    }

    void renderChannels(const std::atomic<float>* params, std::byte* state, const AudioIo& io,
                        uint32_t frames) noexcept override {
        const uint32_t channels = sched_.channelCount();
        for (uint32_t done = 0; done < frames;) {
            const uint32_t n = std::min(frames - done, kInterpreterBlock);
            for (size_t p = 0; p < targets_.size(); ++p)
                targets_[p] = params[p].load(std::memory_order_relaxed);
            audioThreadPointInputs(sched_, state, io.in, io.inputs, done);
            for (uint32_t f = 0; f < n; ++f) {
                tickGraph(state);
                for (uint32_t c = 0; c < channels; ++c)
                    io.out[c][done + f] =
                        tapSum(sched_.channelTapBegin(c), sched_.channelTapEnd(c));
            }
            done += n;
        }
    }

private:
    /// What feeds one value of a kernel's `in` array (an audio input or a parameter): the
    /// signals summed into it, and its value with none or its smoothing and range.
    struct InFeed {
        uint32_t firstSource = 0, sourceCount = 0; ///< into sources_
        float unconnected = 0;                     ///< inputs: the value with no source
        bool smoothed = false;                     ///< parameters: smoothing and clamp range
        float minValue = 0, maxValue = 0;
    };
    struct NodeRun {
        TickFn tick = nullptr;
        EmitFn emit = nullptr;
        uint32_t stateOffset = 0, kernelStateOffset = 0;
        uint32_t inputs = 0, params = 0, paramIndex = 0;
        uint32_t firstFeed = 0; ///< into feeds_
        uint32_t firstValue = 0, outputs = 0;
        uint32_t firstDelayed = 0, delayedCount = 0;     ///< into delayed_
        uint32_t firstImmediate = 0, immediateCount = 0; ///< into immediate_
    };

    float sum(const InFeed& s) const {
        float v = values_[sources_[s.firstSource]];
        for (uint32_t k = 1; k < s.sourceCount; ++k) v += values_[sources_[s.firstSource + k]];
        return v;
    }

    /// Audio thread: the whole graph, one sample. Returns the first channel's sample.
    float tickSample(std::byte* state) noexcept {
        tickGraph(state);
        return tapSum(0, sched_.channelTapEnd(0));
    }

    /// The sum of taps_[first, end) (0 with none), in order.
    float tapSum(uint32_t first, uint32_t end) const noexcept {
        if (first == end) return 0.0f;
        float v = values_[taps_[first]];
        for (uint32_t k = first + 1; k < end; ++k) v += values_[taps_[k]];
        return v;
    }

    /// Audio thread: the whole graph, one sample.
    void tickGraph(std::byte* state) noexcept {
        float inS[kMaxKernelValues];
        float outS[kMaxKernelValues];
        // Delayed outputs depend on state only: all are emitted before any module ticks.
        for (uint32_t i : emitters_) {
            const NodeRun& r = nodes_[i];
            r.emit(state + r.kernelStateOffset, outS, &ctx_);
            for (uint32_t k = 0; k < r.delayedCount; ++k) {
                const uint32_t o = delayed_[r.firstDelayed + k];
                values_[r.firstValue + o] = outS[o];
            }
        }
        const float coef = sched_.smoothingCoef;
        for (const NodeRun& r : nodes_) {
            const InFeed* feeds = feeds_.data() + r.firstFeed;
            for (uint32_t k = 0; k < r.inputs; ++k)
                inS[k] = feeds[k].sourceCount == 0 ? feeds[k].unconnected : sum(feeds[k]);
            auto* smoothers = reinterpret_cast<float*>(state + r.stateOffset);
            for (uint32_t p = 0; p < r.params; ++p) {
                const InFeed& s = feeds[r.inputs + p];
                const float target = targets_[r.paramIndex + p];
                float& sm = smoothers[p];
                sm = s.smoothed ? sm + coef * (target - sm) : target;
                const float v = s.sourceCount == 0 ? sm : sm + sum(s);
                inS[r.inputs + p] = std::fmin(std::fmax(v, s.minValue), s.maxValue);
            }
            r.tick(state + r.kernelStateOffset, inS, outS, &ctx_);
            for (uint32_t k = 0; k < r.immediateCount; ++k) {
                const uint32_t o = immediate_[r.firstImmediate + k];
                values_[r.firstValue + o] = outS[o];
            }
        }
    }

    Schedule sched_;
    KernelContext ctx_{};
    std::vector<NodeRun> nodes_;    ///< schedule order
    std::vector<InFeed> feeds_;     ///< every node's kernel `in` values, in order
    std::vector<uint32_t> sources_; ///< value indices summed into feeds
    std::vector<uint32_t> delayed_; ///< output indices, per node
    std::vector<uint32_t> immediate_;
    std::vector<uint32_t> emitters_; ///< nodes with delayed outputs
    std::vector<uint32_t> taps_;     ///< value indices summed into the output
    std::vector<float> values_;      ///< every output's value at the current sample
    std::vector<float> targets_;     ///< parameter targets loaded for this block
};

} // namespace

std::unique_ptr<Program> makeSampleInterpreter(Schedule schedule) {
    return std::make_unique<SampleInterpreter>(std::move(schedule));
}

} // namespace chronus

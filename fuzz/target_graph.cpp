// Fuzz target: random sequences of graph edits and commits, rendered as the engine would (see
// targets.h).
#include "compiler/interpreter.h"
#include "compiler/jit/jit.h"
#include "compiler/patch_graph.h"
#include "compiler/program.h"
#include "compiler/schedule.h"
#include "fuzz/targets.h"
#include "modules/registry.h"
#include "runtime/denormals.h"
#include "runtime/param_keys.h"
#include "runtime/slot.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <fuzzer/FuzzedDataProvider.h>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

namespace chronus::fuzz {

namespace {

constexpr const char* kIds[] = {"a", "b", "c", "d", "e", "f"};
constexpr int kMaxSteps = 96;
constexpr int kMaxCommits = 6;
constexpr uint32_t kFramesPerCommit = 600;

std::string pickId(FuzzedDataProvider& in) {
    if (in.ConsumeIntegralInRange<int>(0, 15) == 0) return in.ConsumeRandomLengthString(12);
    return kIds[in.ConsumeIntegralInRange<std::size_t>(0, std::size(kIds) - 1)];
}

const Module* pickModule(FuzzedDataProvider& in, const PatchGraph& g) {
    if (g.modules().empty()) return nullptr;
    return &*std::next(g.modules().begin(),
                       in.ConsumeIntegralInRange<std::ptrdiff_t>(
                           0, static_cast<std::ptrdiff_t>(g.modules().size()) - 1));
}

/// `id`, `id:output` or something random.
std::string sourceRef(FuzzedDataProvider& in, const PatchGraph& g) {
    const Module* m = pickModule(in, g);
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
        return m ? m->id : pickId(in);
    case 1:
        if (m && !m->layout->outputs.empty())
            return m->id + ":" +
                   m->layout
                       ->outputs[in.ConsumeIntegralInRange<std::size_t>(
                           0, m->layout->outputs.size() - 1)]
                       .name;
        return pickId(in);
    case 2:
        return pickId(in) + ":" + in.ConsumeRandomLengthString(8);
    default:
        return in.ConsumeRandomLengthString(16);
    }
}

/// `id`, `id:input`, `id:param` (a modulation) or something random.
std::string destinationRef(FuzzedDataProvider& in, const PatchGraph& g) {
    const Module* m = pickModule(in, g);
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
        return m ? m->id : pickId(in);
    case 1:
    case 2:
        if (m && m->layout->kernelInCount() > 0)
            return PatchGraph::slotName(
                *m, in.ConsumeIntegralInRange<uint32_t>(
                        0, static_cast<uint32_t>(m->layout->kernelInCount()) - 1));
        return pickId(in);
    default:
        return in.ConsumeRandomLengthString(16);
    }
}

float anyValue(FuzzedDataProvider& in, float lo, float hi) {
    switch (in.ConsumeIntegralInRange<int>(0, 7)) {
    case 0:
        return in.ConsumeFloatingPoint<float>(); // anything: NaN, infinities, out of range
    case 1:
        return lo;
    case 2:
        return hi;
    default:
        return in.ConsumeFloatingPointInRange<float>(lo, hi);
    }
}

/// Renders `frames` samples of `program` on `state` in the block sizes the input picks (shared
/// by both engines through `chunks`), changing parameter `change` to `value` halfway. With `next`
/// (a later tier of `program`), it takes over on the same state at the first block boundary after
/// a third, as the engine's tier upgrade does.
std::vector<float> render(Program& program, const ParamBlock& init, std::byte* state,
                          const std::vector<uint32_t>& chunks, int64_t change, float value,
                          Program* next = nullptr) {
    const Schedule& s = program.schedule();
    Program* playing = &program;
    ParamBlock params(init.size());
    for (std::size_t i = 0; i < init.size(); ++i) params.store(i, init.load(i));
    std::vector<float> out(kFramesPerCommit, -12345.0f);
    ScopedFlushDenormals ftz; // as in the audio callback
    uint32_t done = 0;
    bool changed = false;
    for (std::size_t c = 0; done < kFramesPerCommit; ++c) {
        if (!changed && done >= kFramesPerCommit / 2 && change >= 0 &&
            static_cast<uint64_t>(change) < s.paramCount) {
            params.store(static_cast<std::size_t>(change), value);
            changed = true;
        }
        if (next != nullptr && done >= kFramesPerCommit / 3) playing = next;
        const uint32_t n = std::min(chunks[c % chunks.size()], kFramesPerCommit - done);
        playing->render(params.data(), state, out.data() + done, n);
        done += n;
    }
    return out;
}

/// JIT against interpreter, with the tolerance of tests/test_jit_differential.cpp.
void compare(const std::vector<float>& ref, const std::vector<float>& got) {
    double acc = 0, maxAbs = 0;
    std::size_t finite = 0;
    for (std::size_t i = 0; i < ref.size(); ++i) {
        const bool a = std::isfinite(ref[i]), b = std::isfinite(got[i]);
        if (a != b)
            fuzzFailure(
                "graph",
                fmt::format("sample {}: interpreter {} but JIT {}", i, ref[i], got[i]).c_str());
        if (!a) continue;
        acc += double(ref[i]) * ref[i];
        ++finite;
        maxAbs = std::max(maxAbs, std::fabs(double(ref[i]) - got[i]));
    }
    const double scale = std::max(finite ? std::sqrt(acc / double(finite)) : 0.0, 1e-3);
    if (maxAbs > 1e-6 * scale)
        fuzzFailure(
            "graph",
            fmt::format("JIT differs from the interpreter by {} (rms {})", maxAbs, scale).c_str());
}

void commit(FuzzedDataProvider& in, const PatchGraph& g, bool jit, uint64_t seq, ParamKeys& keys,
            std::unique_ptr<Slot>& previous) {
    auto schedule = buildSchedule(g);
    if (!schedule)
        fuzzFailure("graph",
                    ("an accepted graph does not schedule: " + schedule.error().message).c_str());
    std::unique_ptr<Program> interp = makeInterpreter(*schedule);
    if (interp == nullptr) fuzzFailure("graph", "no interpreter");
    // The slot as the engine makes it: values, fresh state, then the survivors' state carried
    // over from the slot that played before (as the swap does).
    auto slot = std::make_unique<Slot>(seq, std::move(interp));
    slot->prepare(keys);
    slot->planCarry(previous.get());
    if (previous) slot->audioThreadCarryFrom(*previous);

    std::vector<uint32_t> chunks;
    for (int i = 0; i < 4; ++i) chunks.push_back(in.ConsumeIntegralInRange<uint32_t>(1, 300));
    const int64_t change =
        schedule->paramCount > 0
            ? in.ConsumeIntegralInRange<int64_t>(0, int64_t{schedule->paramCount} - 1)
            : -1;
    const float value = in.ConsumeFloatingPointInRange<float>(-1000, 1000); // clamped per param

    StateBuffer before(slot->state.size());
    std::memcpy(before.data(), slot->state.data(), slot->state.size());
    const auto ref =
        render(*slot->program, slot->params, slot->state.data(), chunks, change, value);
    if (jit) {
        // Every other commit is tiered as the engine's are (a quick first tier, then O1 taking
        // over mid-render on the same state); the others are O0. Chosen by the commit's number,
        // not the input, so earlier crashers still decode to the same edits.
        const bool tiered = seq % 2 == 0;
        JitOptions jo;
        jo.optLevel = tiered ? 1 : 0;
        jo.quickFirst = tiered;
        jo.keepIr = false;
        auto program = compileJit(*schedule, jo);
        if (!program)
            fuzzFailure("graph",
                        ("the JIT refused a valid schedule: " + program.error().message).c_str());
        std::unique_ptr<Program> next;
        if (TierCompile upgrade = (*program)->nextTier()) {
            auto made = upgrade();
            if (!made)
                fuzzFailure("graph", ("the next tier failed: " + made.error().message).c_str());
            if ((*made)->schedule().stateBytes != (*program)->schedule().stateBytes)
                fuzzFailure("graph", "the next tier has another state layout");
            next = std::move(*made);
        }
        compare(ref,
                render(**program, slot->params, before.data(), chunks, change, value, next.get()));
    }
    previous = std::move(slot);
}

} // namespace

int graphEdits(const uint8_t* data, std::size_t size, bool jit) {
    FuzzedDataProvider in(data, size);
    const auto modules = allModules();
    PatchGraph g;
    ParamKeys keys;
    std::unique_ptr<Slot> previous;
    uint64_t seq = 0;
    for (int step = 0; step < kMaxSteps && in.remaining_bytes() > 0; ++step) {
        switch (in.ConsumeIntegralInRange<int>(0, 7)) {
        case 0:
        case 1: { // create
            const ModuleDescriptor* d =
                modules[in.ConsumeIntegralInRange<std::size_t>(0, modules.size() - 1)];
            std::string type(d->type);
            if (in.ConsumeIntegralInRange<int>(0, 15) == 0) type = in.ConsumeRandomLengthString(16);
            std::optional<float> arg;
            if (!d->createArg.name.empty() || in.ConsumeBool())
                arg = anyValue(in, d->createArg.minValue,
                               std::min(d->createArg.maxValue, d->createArg.minValue + 64));
            (void)g.create(pickId(in), type, arg);
            break;
        }
        case 2:
            (void)g.remove(pickId(in));
            break;
        case 3:
        case 4: {
            const std::string src = sourceRef(in, g);
            (void)g.connect(src, destinationRef(in, g));
            break;
        }
        case 5: {
            const std::string src = sourceRef(in, g);
            (void)g.disconnect(src, destinationRef(in, g));
            break;
        }
        case 6: {
            const Module* m = pickModule(in, g);
            if (m == nullptr || m->layout->params.empty()) {
                (void)g.setParam(pickId(in), in.ConsumeRandomLengthString(8), 0);
                break;
            }
            const auto& p = m->layout->params[in.ConsumeIntegralInRange<std::size_t>(
                0, m->layout->params.size() - 1)];
            if (!p.desc.choices.empty() && in.ConsumeBool())
                (void)g.setParamChoice(m->id, p.name, in.ConsumeRandomLengthString(8));
            else
                (void)g.setParam(m->id, p.name, anyValue(in, p.desc.minValue, p.desc.maxValue));
            break;
        }
        default:
            if (seq >= kMaxCommits) return 0;
            commit(in, g, jit, ++seq, keys, previous);
            break;
        }
    }
    if (seq < kMaxCommits) commit(in, g, jit, ++seq, keys, previous);
    return 0;
}

} // namespace chronus::fuzz

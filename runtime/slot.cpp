#include "runtime/slot.h"

#include "runtime/denormals.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <new>

namespace chronus {

StateBuffer::StateBuffer(std::size_t bytes) : size_(bytes) {
    auto* p = static_cast<std::byte*>(
        ::operator new[](std::max<std::size_t>(bytes, 64), std::align_val_t{64}));
    std::memset(p, 0, std::max<std::size_t>(bytes, 64));
    data_.reset(p);
}

void StateBuffer::Free::operator()(std::byte* p) const {
    ::operator delete[](p, std::align_val_t{64});
}

Slot::Slot(uint64_t s, std::unique_ptr<Program> p)
    : seq(s), program(std::move(p)), params(std::max<uint32_t>(program->schedule().paramCount, 1)),
      state(program->schedule().stateBytes) {}

void Slot::prepare(ParamKeys& keys) {
    const Schedule& sched = program->schedule();
    initParams(sched, params);
    std::vector<std::pair<uint32_t, int32_t>> entries;
    for (const ScheduledNode& n : sched.nodes)
        for (uint32_t p = 0; p < n.paramCount(); ++p)
            entries.emplace_back(keys.intern(n.id, n.layout->params[p].name),
                                 static_cast<int32_t>(n.paramIndex + p));
    keyParam.assign(keys.size(), -1);
    for (auto [key, index] : entries) keyParam[key] = index;
    initState(sched, state.data());
}

void Slot::planCarry(const Slot* from) {
    carryFrom = from;
    carry.clear();
    if (from == nullptr) return;
    const Schedule& old = from->program->schedule();
    for (const ScheduledNode& n : program->schedule().nodes) {
        const ScheduledNode* o = old.find(n.id);
        if (o != nullptr && o->desc == n.desc && o->stateBytes == n.stateBytes && n.stateBytes > 0)
            carry.push_back({o->stateOffset, n.stateOffset, n.stateBytes});
    }
}

void Slot::audioThreadCarryFrom(const Slot& from) noexcept {
    for (const StateCopy& c : carry)
        std::memcpy(state.data() + c.dst, from.state.data() + c.src, c.bytes);
}

bool rendersAlike(const Schedule& a, const Schedule& b) {
    if (a.nodes.size() != b.nodes.size() || a.outputTaps != b.outputTaps ||
        a.sampleRate != b.sampleRate || a.smoothingCoef != b.smoothingCoef)
        return false;
    for (std::size_t i = 0; i < a.nodes.size(); ++i) {
        const ScheduledNode& x = a.nodes[i];
        const ScheduledNode& y = b.nodes[i];
        if (x.id != y.id || x.desc != y.desc || x.config.createArg != y.config.createArg ||
            x.stateBytes != y.stateBytes || x.sources != y.sources)
            return false;
    }
    return true;
}

PrimeCheck warmUp(Slot& slot, uint32_t blocks, uint32_t frames) {
    ScopedFlushDenormals ftz; // as on the audio thread
    StateBuffer scratch(slot.state.size());
    std::memcpy(scratch.data(), slot.state.data(), slot.state.size());
    std::vector<float> out(frames);
    PrimeCheck check;
    double sumSquares = 0;
    for (uint32_t b = 0; b < blocks; ++b) {
        slot.program->render(slot.params.data(), scratch.data(), out.data(), frames);
        for (float v : out) {
            if (!std::isfinite(v)) {
                check.ok = false;
                check.reason =
                    fmt::format("warm-up block {} produced a non-finite sample ({}); the "
                                "patch would blow up, so it was not swapped in",
                                b + 1, v);
                return check;
            }
            check.peak = std::max(check.peak, double(std::fabs(v)));
            sumSquares += double(v) * v;
        }
    }
    const auto n = double(blocks) * frames;
    check.rms = n > 0 ? std::sqrt(sumSquares / n) : 0.0;
    if (check.peak > kRunawayPeak) {
        check.ok = false;
        check.reason =
            fmt::format("runaway output in warm-up: peak {:.3g} (limit {:g}); not swapped in",
                        check.peak, kRunawayPeak);
    }
    return check;
}

} // namespace chronus

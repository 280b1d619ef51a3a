#include "runtime/slot.h"

#include "runtime/denormals.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fmt/format.h>
#include <new>
#include <optional>
#include <sys/mman.h>

namespace chronus {

namespace {

constexpr std::size_t kPage = 4096;
/// Room reserved behind a state buffer for later commits' new modules: address space only (a
/// page is backed once touched).
constexpr std::size_t kHeadroomBytes = std::size_t{64} << 20;

std::size_t pageUp(std::size_t v) {
    return (v + kPage - 1) / kPage * kPage;
}

/// The calling thread's CPU time, in seconds: the warm-up's measure, which a busy machine's other
/// processes do not inflate.
double threadCpuSeconds() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

} // namespace

namespace {
/// Anonymous memory comes zero-filled. Reserved, not committed: the headroom costs address space
/// only. A system that refuses that (strict overcommit) gets the exact size.
std::pair<std::byte*, std::size_t> mapState(std::size_t bytes, bool exact) {
    std::size_t length = pageUp(std::max<std::size_t>(bytes, 64));
    if (!exact) length = pageUp(length * 2 + kHeadroomBytes);
    void* p = ::mmap(nullptr, length, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED && !exact) {
        length = pageUp(std::max<std::size_t>(bytes, 64));
        p = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    }
    if (p == MAP_FAILED) throw std::bad_alloc();
    return {static_cast<std::byte*>(p), length};
}
} // namespace

StateBuffer::StateBuffer(std::size_t bytes, bool exact)
    : data_(nullptr, Free{}), size_(bytes), exact_(exact) {
    auto [p, length] = mapState(bytes, exact);
    data_ = std::unique_ptr<std::byte[], Free>(p, Free{length});
}

void StateBuffer::Free::operator()(std::byte* p) const {
    if (p != nullptr) ::munmap(p, bytes);
}

Slot::Slot(uint64_t s, std::unique_ptr<Program> p)
    : seq(s), program(std::move(p)), params(std::max<uint32_t>(program->schedule().paramCount, 1)),
      state(program->schedule().stateBytes) {}

Slot::Slot(uint64_t s, const Schedule& layout, StateBuffer b)
    : seq(s), params(std::max<uint32_t>(layout.paramCount, 1)), state(std::move(b)) {}

Slot::Slot(uint64_t s, std::unique_ptr<Program> p, StateBuffer b)
    : Slot(s, p->schedule(), std::move(b)) {
    program = std::move(p);
}

void Slot::prepare(ParamKeys& keys, const Slot* like) {
    const Schedule& sched = program->schedule();
    initParams(sched, params);
    const Schedule* old = like != nullptr && like->program ? &like->program->schedule() : nullptr;
    paramKey.assign(sched.paramCount, 0);
    for (const ScheduledNode& n : sched.nodes) {
        const ScheduledNode* o = old != nullptr ? old->find(n.id) : nullptr;
        const bool same = o != nullptr && o->layout == n.layout &&
                          o->paramIndex + o->paramCount() <= like->paramKey.size();
        for (uint32_t p = 0; p < n.paramCount(); ++p)
            paramKey[n.paramIndex + p] = same ? like->paramKey[o->paramIndex + p]
                                              : keys.intern(n.id, n.layout->params[p].name);
    }
    keyParam.assign(keys.size(), -1);
    for (uint32_t i = 0; i < sched.paramCount; ++i) keyParam[paramKey[i]] = static_cast<int32_t>(i);
    if (!stateReady) initState(sched, state.data());
    stateReady = true;
    polys.clear();
    for (const SchedulePoly& sp : sched.polys) {
        SlotPoly p;
        p.key = keys.intern(sp.id, kNoteKey);
        for (const ScheduledVoice& v : sp.voices) {
            SlotVoice sv;
            auto resolve = [&](const std::vector<VoiceTarget>& from, std::vector<VoiceWrite>& to) {
                for (const VoiceTarget& t : from) {
                    const ScheduledNode& n = sched.nodes[t.node];
                    to.push_back({n.paramIndex + t.param,
                                  n.stateOffset + uint32_t(sizeof(float)) * t.param, t.lo, t.hi});
                }
            };
            resolve(v.pitch, sv.pitch);
            resolve(v.gate, sv.gate);
            resolve(v.velocity, sv.velocity);
            const ScheduledNode& fader = sched.nodes[v.fader];
            for (uint32_t i = 0; i < fader.paramCount(); ++i)
                if (fader.layout->params[i].name == "gate") sv.faderGate = fader.paramIndex + i;
            for (uint32_t n : v.idle)
                sv.idle.push_back({sched.nodes[n].kernelStateOffset, sched.nodes[n].desc->idle});
            p.voices.push_back(std::move(sv));
        }
        polys.push_back(std::move(p));
    }
    buildTemplateParams(sched, keys, polys);
}

void Slot::audioThreadCarryVoicesFrom(const Slot& from) noexcept {
    for (SlotPoly& p : polys) {
        const SlotPoly* old = nullptr;
        for (const SlotPoly& q : from.polys)
            if (q.key == p.key) old = &q;
        if (old == nullptr) continue;
        p.state = old->state;
        const std::size_t voices = std::min(p.voices.size(), old->voices.size());
        for (std::size_t v = 0; v < voices; ++v) {
            SlotVoice& mine = p.voices[v];
            const SlotVoice& theirs = old->voices[v];
            mine.state = theirs.state;
            auto copy = [&](std::vector<VoiceWrite>& to, const std::vector<VoiceWrite>& src) {
                for (std::size_t j = 0; j < to.size() && j < src.size(); ++j)
                    params.store(to[j].param, from.params.load(src[j].param));
            };
            copy(mine.pitch, theirs.pitch);
            copy(mine.gate, theirs.gate);
            copy(mine.velocity, theirs.velocity);
            params.store(mine.faderGate, from.params.load(theirs.faderGate));
        }
    }
}

void Slot::planCarry(Slot* from) {
    planCarry(from, program->schedule());
}

void Slot::planCarry(Slot* from, const Schedule& now) {
    carryFrom = from;
    adopt = fadeCopy = false;
    carry.clear();
    snapshot.clear();
    if (from == nullptr) return;
    const Schedule& old = from->program->schedule();
    bool inPlace = now.stateBytes <= from->state.capacity();
    std::vector<const ScheduledNode*> fresh;
    for (const ScheduledNode& n : now.nodes) {
        const ScheduledNode* o = old.find(n.id);
        if (o != nullptr && o->desc == n.desc && o->stateBytes == n.stateBytes &&
            n.stateBytes > 0) {
            carry.push_back({o->stateOffset, n.stateOffset, n.stateBytes});
            inPlace = inPlace && o->stateOffset == n.stateOffset;
        } else if (n.stateBytes > 0) {
            fresh.push_back(&n);
        }
    }
    // A new module where the playing layout has one would be overwritten by it: not in place.
    for (const ScheduledNode* n : fresh) {
        for (const ScheduledNode& o : old.nodes)
            if (n->stateOffset < o.stateOffset + o.stateBytes &&
                o.stateOffset < n->stateOffset + n->stateBytes)
                inPlace = false;
        if (!inPlace) break;
    }

    std::vector<StateCopy> bySize = carry;
    std::sort(bySize.begin(), bySize.end(), [](const StateCopy& a, const StateCopy& b) {
        return a.bytes != b.bytes ? a.bytes < b.bytes : a.dst < b.dst;
    });
    std::size_t budget = kSnapshotBytes;
    for (const StateCopy& c : bySize) {
        if (c.bytes > budget) break;
        snapshot.push_back(c);
        budget -= c.bytes;
    }

    if (!inPlace || carry.empty()) return;
    adopt = true;
    // The free space of `from`'s buffer is never touched by `from`: the new modules' initial state
    // can go there now, while it plays.
    for (const ScheduledNode* n : fresh)
        std::memcpy(from->state.data() + n->stateOffset, state.data() + n->stateOffset,
                    n->stateBytes);
    const std::size_t oldBytes = old.stateBytes;
    fadeCopy = oldBytes <= kFadeCopyBytes && oldBytes <= state.capacity();
    // Touch the pages the copy will land on here, not on the audio thread.
    if (fadeCopy && oldBytes > state.size())
        std::memset(state.data() + state.size(), 0, oldBytes - state.size());
}

std::size_t Slot::audioThreadSnapshotFrom(const Slot& from) noexcept {
    if (from.audioThreadPoisoned) return 0;
    std::size_t copied = 0;
    for (const StateCopy& c : snapshot) {
        std::memcpy(state.data() + c.dst, from.state.data() + c.src, c.bytes);
        copied += c.bytes;
    }
    return copied;
}

Slot::Carried Slot::audioThreadCarryFrom(Slot& from, bool fromWillFade) noexcept {
    if (from.audioThreadPoisoned) return {false, 0};
    if (!adopt) {
        std::size_t copied = 0;
        for (const StateCopy& c : carry) {
            std::memcpy(state.data() + c.dst, from.state.data() + c.src, c.bytes);
            copied += c.bytes;
        }
        return {true, copied};
    }
    const std::size_t mine = program->schedule().stateBytes;
    const std::size_t theirs = from.program->schedule().stateBytes;
    std::swap(state, from.state);
    state.setSize(mine);
    from.state.setSize(theirs);
    if (!fadeCopy || !fromWillFade) return {false, 0};
    std::memcpy(from.state.data(), state.data(), theirs);
    return {true, theirs};
}

void Slot::audioThreadResetState() noexcept {
    const Schedule& sched = program->schedule();
    constexpr uint32_t kMaxParams = 256;
    float targets[kMaxParams];
    for (const ScheduledNode& n : sched.nodes) {
        std::byte* base = state.data() + n.stateOffset;
        std::memset(base, 0, n.stateBytes);
        const uint32_t count = n.paramCount();
        const float* init = n.initialParams.data();
        if (count <= kMaxParams) {
            for (uint32_t p = 0; p < count; ++p) targets[p] = params.load(n.paramIndex + p);
            init = targets;
        }
        if (count > 0) std::memcpy(base, init, sizeof(float) * count); // the smoothers
        n.desc->init(state.data() + n.kernelStateOffset, n.config, init);
    }
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

PrimeCheck warmUp(Slot& slot, uint32_t blocks, uint32_t frames, StateBuffer* given) {
    ScopedFlushDenormals ftz; // as on the audio thread
    std::optional<StateBuffer> made;
    if (given == nullptr || given->capacity() < slot.state.size())
        given = &made.emplace(slot.state.size(), true);
    StateBuffer& scratch = *given;
    std::memcpy(scratch.data(), slot.state.data(), slot.state.size());
    // Every channel of the patch: a runaway or the only sound may be on any of them.
    const uint32_t channels = slot.program->schedule().channelCount();
    std::vector<float> out(std::size_t{frames} * channels);
    std::vector<float*> outs;
    for (uint32_t c = 0; c < channels; ++c) outs.push_back(out.data() + std::size_t{c} * frames);
    std::vector<double> took;
    took.reserve(blocks);
    PrimeCheck check;
    double sumSquares = 0;
    for (uint32_t b = 0; b < blocks; ++b) {
        const double t0 = threadCpuSeconds();
        if (channels == 1)
            slot.program->render(slot.params.data(), scratch.data(), out.data(), frames);
        else
            slot.program->renderChannels(slot.params.data(), scratch.data(), {outs.data()}, frames);
        took.push_back(threadCpuSeconds() - t0);
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
    const auto n = double(blocks) * frames * channels;
    check.rms = n > 0 ? std::sqrt(sumSquares / n) : 0.0;
    std::nth_element(took.begin(), took.begin() + took.size() / 2, took.end());
    const double blockSeconds = double(frames) / double(slot.program->schedule().sampleRate);
    check.load = took.empty() ? 0.0 : took[took.size() / 2] / blockSeconds;
    if (check.peak > kRunawayPeak) {
        check.ok = false;
        check.reason =
            fmt::format("runaway output in warm-up: peak {:.3g} (limit {:g}); not swapped in",
                        check.peak, kRunawayPeak);
    }
    return check;
}

} // namespace chronus

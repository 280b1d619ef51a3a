#include "runtime/output_guard.h"

#include "runtime/slot.h"

#include <algorithm>
#include <cmath>

namespace chronus {

namespace {
constexpr auto kLimit = static_cast<float>(kRunawayPeak);
} // namespace

const char* guardCauseName(GuardCause cause) {
    switch (cause) {
    case GuardCause::nonFinite:
        return "non-finite";
    case GuardCause::runaway:
        return "runaway";
    case GuardCause::none:
        break;
    }
    return "";
}

OutputGuard::OutputGuard(float sampleRate)
    : minHoldoff_(static_cast<uint64_t>(0.05 * sampleRate)),
      maxHoldoff_(static_cast<uint64_t>(1.0 * sampleRate)),
      calm_(static_cast<uint64_t>(1.0 * sampleRate)), backoff_(minHoldoff_) {}

void OutputGuard::audioThreadFreshSlot() noexcept {
    if (holdoff_ == 0) return;
    holdoff_ = 0;
    fadeIn_ = true;
}

OutputGuard::Verdict OutputGuard::audioThreadCheck(float* const* outs, uint32_t channels,
                                                   uint32_t frames, uint64_t sample, uint64_t seq,
                                                   uint64_t writes) noexcept {
    Verdict v;
    // One comparison per sample: NaN and both infinities fail `<=` as a runaway does.
    bool bad = false;
    for (uint32_t c = 0; c < channels; ++c)
        for (uint32_t i = 0; i < frames; ++i) bad |= !(std::fabs(outs[c][i]) <= kLimit);
    auto silence = [&] {
        for (uint32_t c = 0; c < channels; ++c) std::fill(outs[c], outs[c] + frames, 0.0f);
    };

    if (holdoff_ > 0) {
        silence();
        v.poison = bad;
        holdoff_ -= std::min<uint64_t>(holdoff_, frames);
        held_ += frames;
        if (held_ >= minHoldoff_ && writes != writesAtTrip_) holdoff_ = 0; // maybe the fix
        if (holdoff_ == 0) {
            v.reset = true;
            fadeIn_ = true;
            clean_ = 0;
        }
        return v;
    }
    if (bad) {
        bool finite = true;
        for (uint32_t c = 0; c < channels; ++c)
            for (uint32_t i = 0; i < frames; ++i) finite = finite && std::isfinite(outs[c][i]);
        silence();
        lastCause_.store(
            static_cast<uint32_t>(finite ? GuardCause::runaway : GuardCause::nonFinite),
            std::memory_order_relaxed);
        lastSeq_.store(seq, std::memory_order_relaxed);
        lastSample_.store(sample, std::memory_order_relaxed);
        trips_.store(trips_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
        holdoff_ = std::max<uint64_t>(backoff_, 1);
        held_ = 0;
        writesAtTrip_ = writes;
        backoff_ = std::min(backoff_ * 2, maxHoldoff_);
        fadeIn_ = false;
        v.poison = true;
        return v;
    }
    if (fadeIn_) {
        const float step = 1.0f / static_cast<float>(std::max<uint32_t>(frames, 1));
        for (uint32_t c = 0; c < channels; ++c)
            for (uint32_t i = 0; i < frames; ++i) outs[c][i] *= static_cast<float>(i + 1) * step;
        fadeIn_ = false;
    }
    clean_ += frames;
    if (clean_ >= calm_) backoff_ = minHoldoff_;
    return v;
}

} // namespace chronus

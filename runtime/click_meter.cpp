#include "runtime/click_meter.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace chronus {

double EventClick::ratio() const {
    const double steady = std::max(steadyBefore, steadyAfter);
    return steady > 0 ? peak / steady : (peak > 0 ? std::numeric_limits<double>::infinity() : 0.0);
}

EventClick measureClickAt(std::span<const float> x, uint64_t at, const ClickWindows& w) {
    // Largest second difference at i in [from, to), clipped to where it is defined.
    auto largest = [&x](uint64_t from, uint64_t to) {
        double m = 0;
        for (uint64_t i = std::max<uint64_t>(from, 2); i < std::min<uint64_t>(to, x.size()); ++i)
            m = std::max(m, secondDifference(x, i));
        return m;
    };
    const uint64_t begin = at > w.before ? at - w.before : 0;
    const uint64_t end = at + w.after;
    EventClick c;
    c.at = at;
    c.peak = largest(begin, end);
    c.steadyBefore = largest(begin > w.steady ? begin - w.steady : 0, begin);
    c.steadyAfter = largest(end, end + w.steady);
    return c;
}

ClickMeter::ClickMeter(float sampleRate, const ClickMeterOptions& options)
    : opts_(options),
      ringSize_(std::max<std::size_t>(
          64, static_cast<std::size_t>(double(sampleRate) * double(options.historySeconds)) /
                  kSegment)) {
    ring_ = std::make_unique<float[]>(ringSize_);
    std::fill(ring_.get(), ring_.get() + ringSize_, 0.0f); // resident now, not mid-run
    // Room for the swaps' results, touched now so that filling it does not grow the resident
    // memory the soak measures.
    swapPeaks_.resize(options.expectedSwaps);
    swapPeaks_.clear();
    swapAt_.resize(options.expectedSwaps);
    swapAt_.clear();
    report_.clickSamples.reserve(16);
}

void ClickMeter::addSwap(uint64_t sample) {
    std::lock_guard lock(mutex_);
    pending_.push_back({sample, 0.0});
    // A window that has already been judged as steady state cannot be re-judged.
    if (sample + opts_.after <= judged_ * kSegment) report_.overflowed += opts_.after;
}

void ClickMeter::knownUpTo(uint64_t position) {
    std::lock_guard lock(mutex_);
    known_ = std::max(known_, position);
}

void ClickMeter::audio(const float* x, std::size_t n) {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < n; ++i) {
        float v = x[i];
        if (!std::isfinite(v)) {
            ++report_.nonFinite;
            v = last_;
        }
        if (received_ >= 2) // defined from the third sample on
            segMax_ = std::max(segMax_, std::fabs(v - 2.0f * last_ + beforeLast_));
        beforeLast_ = last_;
        last_ = v;
        if (std::fabs(v) < opts_.silence) {
            if (sounded_ && ++silentRun_ == opts_.dropoutSamples) ++report_.dropouts;
        } else {
            if (!sounded_) firstSound_ = received_;
            sounded_ = true;
            silentRun_ = 0;
        }
        if (++received_ % kSegment == 0) {
            const uint64_t seg = received_ / kSegment - 1;
            if (seg - judged_ >= ringSize_) { // the swaps are far behind: judge without them
                report_.overflowed += kSegment;
                judge((judged_ + 1) * kSegment);
            }
            ring_[seg % ringSize_] = segMax_;
            segMax_ = 0;
        }
    }
    const uint64_t ready = known_ > opts_.before ? known_ - opts_.before : 0;
    judge(std::min(received_, ready));
}

void ClickMeter::close(const PendingSwap& p) {
    // Closed once its window has passed, so the audio up to it is in: silence before the swap
    // means it brought the first sound.
    if (firstSound_ >= p.at) {
        ++report_.onsets;
        return;
    }
    swapAt_.push_back(p.at);
    swapPeaks_.push_back(p.max);
}

void ClickMeter::judge(uint64_t limit) {
    while ((judged_ + 1) * kSegment <= limit && judged_ * kSegment < received_) {
        const uint64_t s0 = judged_ * kSegment, s1 = s0 + kSegment;
        const float peak = ring_[judged_ % ringSize_];
        // Swaps whose window has passed are final.
        while (!pending_.empty() && pending_.front().at + opts_.after <= s0) {
            close(pending_.front());
            pending_.pop_front();
        }
        bool inWindow = false;
        for (PendingSwap& p : pending_) {
            if (s1 + opts_.before > p.at && s0 < p.at + opts_.after) {
                inWindow = true;
                p.max = std::max(p.max, double(peak));
            }
        }
        if (!inWindow) {
            report_.steadyMax = std::max(report_.steadyMax, double(peak));
            report_.steadySamples += kSegment;
        }
        ++judged_;
    }
}

ClickReport ClickMeter::finish() {
    std::lock_guard lock(mutex_);
    if (received_ % kSegment != 0) { // the last, partial segment
        const uint64_t seg = received_ / kSegment;
        ring_[seg % ringSize_] = segMax_;
        received_ = (seg + 1) * kSegment;
    }
    judge(std::numeric_limits<uint64_t>::max());
    for (const PendingSwap& p : pending_) close(p);
    pending_.clear();
    ClickReport r = report_;
    r.samples = received_;
    r.swaps = swapAt_.size();
    const double threshold = opts_.clickRatio * r.steadyMax;
    for (std::size_t i = 0; i < swapAt_.size(); ++i) {
        if (swapPeaks_[i] > r.worstSwapPeak) {
            r.worstSwapPeak = swapPeaks_[i];
            r.worstSwapSample = swapAt_[i];
        }
        if (swapPeaks_[i] > threshold) {
            ++r.clicks;
            if (r.clickSamples.size() < 16) r.clickSamples.push_back(swapAt_[i]);
        }
    }
    return r;
}

} // namespace chronus

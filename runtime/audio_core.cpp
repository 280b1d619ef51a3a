#include "runtime/audio_core.h"

#include "runtime/denormals.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace chronus {

namespace {
/// How often a control-side handshake looks at the audio thread's progress.
constexpr auto kPollInterval = std::chrono::microseconds(100);

/// Heap order: the earliest sample (then the earliest arrival) on top.
bool later(const TimedEvent& a, const TimedEvent& b) noexcept {
    return a.sample != b.sample ? a.sample > b.sample : a.order > b.order;
}
} // namespace

AudioCore::AudioCore(float sampleRate, uint32_t maxFrames, uint32_t fadeFrames,
                     std::size_t eventCapacity)
    : sampleRate_(sampleRate), maxFrames_(maxFrames), fadeFrames_(fadeFrames),
      eventCapacity_(eventCapacity), events_(eventCapacity), acks_(eventCapacity),
      guard_(sampleRate), scratch_(std::make_unique<float[]>(maxFrames)),
      heap_(std::make_unique<TimedEvent[]>(eventCapacity)) {}

// ---- control side -------------------------------------------------------------------------------

AudioCore::Handshake AudioCore::requestSnapshotAndWait(Slot& to, Clock::time_point deadline,
                                                       const std::atomic<bool>& stop) {
    SnapshotRequest req;
    req.from = to.carryFrom;
    req.to = &to;
    snapshot_.store(&req, std::memory_order_release);
    while (req.result.load(std::memory_order_acquire) == SnapshotRequest::kWaiting) {
        if (Clock::now() > deadline || stop.load()) {
            SnapshotRequest* expected = &req;
            if (snapshot_.compare_exchange_strong(expected, nullptr, std::memory_order_acq_rel))
                return Handshake::kTimedOut; // never started, never will be
            while (req.result.load(std::memory_order_acquire) == SnapshotRequest::kWaiting)
                std::this_thread::yield(); // the audio thread is copying: microseconds
            break;
        }
        std::this_thread::sleep_for(kPollInterval);
    }
    return req.result.load(std::memory_order_acquire) == SnapshotRequest::kDone
               ? Handshake::kDone
               : Handshake::kActiveChanged;
}

AudioCore::Handshake AudioCore::publishAndWaitForSwap(Slot& slot, Clock::time_point deadline,
                                                      const std::atomic<bool>& stop,
                                                      const std::function<void(Slot*)>& reclaim) {
    published_.store(&slot, std::memory_order_release);
    while (published_.load(std::memory_order_acquire) != nullptr) {
        reclaimRetired(reclaim);
        if (Clock::now() > deadline || stop.load()) {
            Slot* expected = &slot;
            if (published_.compare_exchange_strong(expected, nullptr, std::memory_order_acq_rel))
                return Handshake::kTimedOut;
            break; // taken just now
        }
        std::this_thread::sleep_for(kPollInterval);
    }
    return Handshake::kDone;
}

void AudioCore::reclaimRetired(const std::function<void(Slot*)>& reclaim) {
    Slot* s = nullptr;
    while (retired_.tryPop(s)) reclaim(s);
}

bool AudioCore::requestDrop(std::vector<uint32_t> keys) {
    if (dropOwned_ && !dropOwned_->done.load(std::memory_order_acquire)) return false;
    std::sort(keys.begin(), keys.end());
    dropOwned_ = std::make_unique<DropRequest>();
    dropOwned_->keys = std::move(keys);
    drop_.store(dropOwned_.get(), std::memory_order_release);
    return true;
}

// ---- audio thread -------------------------------------------------------------------------------

void AudioCore::audioThreadService() noexcept {
    if (holding_ != nullptr && retire(holding_)) holding_ = nullptr;

    // Swap: only when the previous old slot is fully handed back (so `retired_` cannot overflow
    // and at most two slots ever play at once).
    if (holding_ == nullptr && fading_ == nullptr &&
        published_.load(std::memory_order_acquire) != nullptr) {
        if (Slot* next = published_.exchange(nullptr, std::memory_order_acq_rel)) {
            Slot* old = active_;
            const bool fade = fadeFrames_ > 0 && !next->seamless;
            // The carry may take the old slot's state buffer over: it fades out only if it still
            // has state of its own (slot.h).
            bool oldKeepsState = true;
            if (old != nullptr && next->carryFrom == old) {
                if (old->audioThreadPoisoned) guard_.audioThreadFreshSlot();
                const Slot::Carried c = next->audioThreadCarryFrom(*old, fade);
                oldKeepsState = c.fromKeepsState;
                noteStateCopy(c.copiedBytes);
            }
            active_ = next;
            // Metrics: where this swap landed (the log entry first, then the count that
            // publishes it).
            const uint64_t n = swaps_.load(std::memory_order_relaxed) + 1;
            swapAt_[n % kSwapLog].store(now_, std::memory_order_relaxed);
            swaps_.store(n, std::memory_order_release);
            activeSeq_.store(next->seq, std::memory_order_release);
            if (old != nullptr) {
                if (fade && oldKeepsState) {
                    fading_ = old;
                    fadePos_ = 0;
                } else if (!retire(old)) {
                    holding_ = old;
                }
            }
        }
    }

    if (snapshot_.load(std::memory_order_acquire) != nullptr) {
        if (SnapshotRequest* r = snapshot_.exchange(nullptr, std::memory_order_acq_rel)) {
            if (r->from == active_ && active_ != nullptr) {
                noteStateCopy(r->to->audioThreadSnapshotFrom(*active_));
                r->result.store(SnapshotRequest::kDone, std::memory_order_release);
            } else {
                r->result.store(SnapshotRequest::kActiveChanged, std::memory_order_release);
            }
        }
    }
}

void AudioCore::drainEvents() noexcept {
    TimedEvent e;
    while (heapSize_ < eventCapacity_ && events_.tryPop(e)) {
        heap_[heapSize_++] = e;
        std::push_heap(heap_.get(), heap_.get() + heapSize_, later);
    }
}

void AudioCore::serveDrop() noexcept {
    if (drop_.load(std::memory_order_acquire) == nullptr) return;
    DropRequest* r = drop_.exchange(nullptr, std::memory_order_acq_rel);
    if (r == nullptr) return;
    // Every event waiting is in the heap: the control side never has more out than it holds.
    std::size_t kept = 0;
    for (std::size_t i = 0; i < heapSize_; ++i) {
        const TimedEvent& e = heap_[i];
        if (std::binary_search(r->keys.begin(), r->keys.end(), e.key))
            (void)acks_.tryPush({e.key, e.value, 0, e.client, true});
        else
            heap_[kept++] = e;
    }
    if (kept != heapSize_) {
        heapSize_ = kept;
        std::make_heap(heap_.get(), heap_.get() + heapSize_, later);
    }
    r->done.store(true, std::memory_order_release);
}

void AudioCore::applyEvent(const TimedEvent& e) noexcept {
    for (Slot* s : {active_, fading_}) {
        if (s == nullptr) continue;
        if (int32_t i = s->paramOf(e.key); i >= 0)
            s->params.store(static_cast<std::size_t>(i), e.value);
    }
    // Never full: the control side keeps (events pushed - acks popped) <= the ring's capacity.
    (void)acks_.tryPush({e.key, e.value, active_ != nullptr ? active_->seq : 0, e.client, false});
}

void AudioCore::guardBlock(float* out, uint32_t frames, uint64_t begin) noexcept {
    const auto v =
        guard_.audioThreadCheck(out, frames, begin, active_ != nullptr ? active_->seq : 0,
                                paramWrites_.load(std::memory_order_relaxed));
    if (v.poison)
        for (Slot* s : {active_, fading_})
            if (s != nullptr) s->audioThreadPoisoned = true;
    if (v.reset && active_ != nullptr && active_->audioThreadPoisoned) {
        active_->audioThreadResetState();
        active_->audioThreadPoisoned = false;
    }
}

void AudioCore::renderSegment(float* out, uint32_t frames) noexcept {
    if (active_ == nullptr) {
        std::fill(out, out + frames, 0.0f);
        return;
    }
    active_->program->render(active_->params.data(), active_->state.data(), out, frames);
    if (fading_ == nullptr) return;
    fading_->program->render(fading_->params.data(), fading_->state.data(), scratch_.get(), frames);
    const float step = 1.0f / static_cast<float>(fadeFrames_);
    for (uint32_t i = 0; i < frames; ++i) {
        const float g = std::min(1.0f, static_cast<float>(fadePos_ + i + 1) * step);
        out[i] = scratch_[i] + g * (out[i] - scratch_[i]);
    }
    fadePos_ += frames;
    if (fadePos_ >= fadeFrames_) {
        if (!retire(fading_)) holding_ = fading_;
        fading_ = nullptr;
    }
}

void AudioCore::audioThreadRender(float* out, uint32_t frames) noexcept {
    ScopedFlushDenormals ftz;
    const auto start = std::chrono::steady_clock::now(); // vDSO: no system call
    audioThreadService();
    drainEvents();
    serveDrop();
    const uint64_t begin = now_;
    const uint64_t end = begin + frames;
    uint64_t pos = begin;
    while (pos < end) {
        while (heapSize_ > 0 && heap_[0].sample <= pos) {
            std::pop_heap(heap_.get(), heap_.get() + heapSize_, later);
            applyEvent(heap_[--heapSize_]);
        }
        uint64_t stop = std::min(end, pos + maxFrames_);
        if (heapSize_ > 0 && heap_[0].sample < stop) stop = heap_[0].sample;
        renderSegment(out + (pos - begin), static_cast<uint32_t>(stop - pos));
        pos = stop;
    }
    guardBlock(out, frames, begin);
    now_ = end;
    position_.store(end, std::memory_order_release);
    bump(callbacks_);
    if (frames == 0) return;
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    const double load = took.count() * double(sampleRate_) / double(frames);
    load_.audioThreadAdd(load);
    if (load > 1.0) bump(overruns_);
}

} // namespace chronus

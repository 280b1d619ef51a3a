#include "runtime/audio_core.h"

#include "compiler/voice_template.h"
#include "midi/midi_clock.h"
#include "runtime/denormals.h"
#include "runtime/midi_live.h"
#include "runtime/voice_allocator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
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

AudioCore::AudioCore(float sampleRate, uint32_t maxFrames, std::size_t eventCapacity)
    : sampleRate_(sampleRate), maxFrames_(maxFrames), eventCapacity_(eventCapacity),
      // Untouched until used (zeroed_array.h): ~700 KB that every process zeroed at start. A
      // page is faulted in when first written: events_ by the control thread; acks_ and
      // heap_ by the audio thread, once per 128 acknowledgements on the ring's first pass and
      // only as far as the most events ever waiting at once.
      events_(eventCapacity, SpscRing<TimedEvent>::Pages::onFirstUse),
      acks_(eventCapacity + kInternalEvents, SpscRing<EventAck>::Pages::onFirstUse),
      guard_(sampleRate), scratch_(std::make_unique<float[]>(maxFrames)),
      programOut_(std::make_unique<float[]>(std::size_t{kMaxChannels} * maxFrames)),
      fadeGain_(std::make_unique<float[]>(maxFrames)),
      heap_(makeZeroedArray<TimedEvent>(eventCapacity + kInternalEvents)),
      parked_(makeZeroedArray<TimedEvent>(eventCapacity)),
      stealFadeSamples_(static_cast<uint32_t>(std::ceil(kStealFadeMs * 0.001f * sampleRate))) {}

// ---- control side -------------------------------------------------------------------------------

void AudioCore::startSnapshot(SnapshotRequest& req, Slot& to) {
    req.from = to.carryFrom;
    req.to = &to;
    req.result.store(SnapshotRequest::kWaiting, std::memory_order_relaxed);
    snapshot_.store(&req, std::memory_order_release);
}

AudioCore::Handshake AudioCore::awaitSnapshot(SnapshotRequest& req, Clock::time_point deadline,
                                              const std::atomic<bool>& stop) {
    while (req.result.load(std::memory_order_acquire) == SnapshotRequest::kWaiting) {
        if (Clock::now() > deadline || stop.load()) {
            if (withdrawSnapshot(req)) return Handshake::kTimedOut; // never started, never will be
            break;
        }
        std::this_thread::sleep_for(kPollInterval);
    }
    return req.result.load(std::memory_order_acquire) == SnapshotRequest::kDone
               ? Handshake::kDone
               : Handshake::kActiveChanged;
}

bool AudioCore::withdrawSnapshot(SnapshotRequest& req) {
    if (req.result.load(std::memory_order_acquire) != SnapshotRequest::kWaiting) return false;
    SnapshotRequest* expected = &req;
    if (snapshot_.compare_exchange_strong(expected, nullptr, std::memory_order_acq_rel)) {
        req.result.store(SnapshotRequest::kIdle, std::memory_order_relaxed);
        return true;
    }
    while (req.result.load(std::memory_order_acquire) == SnapshotRequest::kWaiting)
        std::this_thread::yield(); // the audio thread is copying: microseconds
    return false;
}

AudioCore::Handshake AudioCore::requestSnapshotAndWait(Slot& to, Clock::time_point deadline,
                                                       const std::atomic<bool>& stop) {
    SnapshotRequest req;
    startSnapshot(req, to);
    return awaitSnapshot(req, deadline, stop);
}

AudioCore::Handshake AudioCore::publishAndWaitForSwap(Slot& slot, Clock::time_point deadline,
                                                      const std::atomic<bool>& stop,
                                                      const std::function<void(Slot*)>& reclaim) {
    published_.store(&slot, std::memory_order_release);
    for (;;) {
        Slot* p = published_.load(std::memory_order_acquire);
        if (p == nullptr) break; // swapped in, its carry done (released after it)
        if (p == &slot) {
            reclaimRetired(reclaim);
            if (Clock::now() > deadline || stop.load()) {
                Slot* expected = &slot;
                if (published_.compare_exchange_strong(expected, nullptr,
                                                       std::memory_order_acq_rel))
                    return Handshake::kTimedOut;
                continue; // taken just now: wait for its carry
            }
            std::this_thread::sleep_for(kPollInterval);
        } else {
            std::this_thread::yield(); // kTaking: the audio thread is carrying, microseconds
        }
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

void AudioCore::letGo(Slot* s) noexcept {
    if (!retired_.tryPush(s)) holding_[holdingCount_++] = s;
}

void AudioCore::install(Slot* next, bool topKeepsState) noexcept {
    if (layerCount_ == 0) {
        layers_[0] = {next, 0, 0};
        layerCount_ = 1;
        return;
    }
    const bool fade = next->fadeFrames > 0 && topKeepsState;
    if (fade) bump(crossfades_);
    Layer& top = layers_[layerCount_ - 1];
    const bool unheard = layerCount_ > 1 && top.fadePos == 0;
    if (!fade || unheard || layerCount_ == kMaxLayers) {
        letGo(top.slot); // a hard swap keeps the top's place and fade; an unheard top takes ours
        top.slot = next;
        if (unheard && next->fadeFrames > 0) top.fadeFrames = next->fadeFrames;
        return;
    }
    layers_[layerCount_++] = {next, 0, next->fadeFrames};
}

void AudioCore::audioThreadService() noexcept {
    while (holdingCount_ > 0 && retired_.tryPush(holding_[holdingCount_ - 1])) --holdingCount_;

    // Swap: only once every slot let go is handed back, so that `retired_` cannot overflow.
    // The slot is claimed (kTaking) before the carry and released (nullptr) after it, so the
    // control side, which may read both slots' state as soon as it sees nullptr, never does so
    // while the carry moves state between them.
    Slot* next = holdingCount_ == 0 ? published_.load(std::memory_order_acquire) : nullptr;
    if (next != nullptr &&
        published_.compare_exchange_strong(next, kTaking(), std::memory_order_acq_rel)) {
        {
            Slot* old = active();
            // The carry may take the old slot's state buffer over: it fades out only if it still
            // has state of its own (slot.h).
            bool oldKeepsState = true;
            if (old != nullptr && next->carryFrom == old) {
                if (old->audioThreadPoisoned) guard_.audioThreadFreshSlot();
                const Slot::Carried c = next->audioThreadCarryFrom(*old, next->fadeFrames > 0);
                next->audioThreadCarryVoicesFrom(*old);
                oldKeepsState = c.fromKeepsState;
                noteStateCopy(c.copiedBytes);
            }
            install(next, oldKeepsState);
            swappedThisCallback_ = true;
            unparkNotes();
            // Metrics: where this swap landed (the log entry first, then the count that
            // publishes it).
            const uint64_t n = swaps_.load(std::memory_order_relaxed) + 1;
            swapAt_[n % kSwapLog].store(now_, std::memory_order_relaxed);
            swaps_.store(n, std::memory_order_release);
            activeSeq_.store(next->seq, std::memory_order_release);
        }
        published_.store(nullptr, std::memory_order_release);
    }

    if (snapshot_.load(std::memory_order_acquire) != nullptr) {
        if (SnapshotRequest* r = snapshot_.exchange(nullptr, std::memory_order_acq_rel)) {
            if (r->from == active() && r->from != nullptr) {
                noteStateCopy(r->to->audioThreadSnapshotFrom(*active()));
                r->result.store(SnapshotRequest::kDone, std::memory_order_release);
            } else {
                r->result.store(SnapshotRequest::kActiveChanged, std::memory_order_release);
            }
        }
    }
}

void AudioCore::drainEvents() noexcept {
    TimedEvent e;
    while (heapSize_ - internalInHeap_ < eventCapacity_ && events_.tryPop(e)) {
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
        if (!e.internal && std::binary_search(r->keys.begin(), r->keys.end(), e.key))
            (void)acks_.tryPush(
                {e.key, e.value, 0, e.client, true, e.kind != TimedEventKind::param});
        else
            heap_[kept++] = e;
    }
    if (kept != heapSize_) {
        heapSize_ = kept;
        std::make_heap(heap_.get(), heap_.get() + heapSize_, later);
    }
    kept = 0;
    for (std::size_t i = 0; i < parkedCount_; ++i) {
        const TimedEvent& e = parked_[i];
        if (std::binary_search(r->keys.begin(), r->keys.end(), e.key))
            (void)acks_.tryPush({e.key, e.value, 0, e.client, true, true});
        else
            parked_[kept++] = e;
    }
    parkedCount_ = kept;
    r->done.store(true, std::memory_order_release);
}

void AudioCore::unparkNotes() noexcept {
    const Slot* top = active();
    std::size_t kept = 0;
    for (std::size_t i = 0; i < parkedCount_; ++i) {
        TimedEvent e = parked_[i];
        if (top != nullptr && slotHasPoly(*top, e.key)) {
            e.sample = std::max(e.sample, now_);
            heap_[heapSize_++] = e;
            std::push_heap(heap_.get(), heap_.get() + heapSize_, later);
        } else {
            parked_[kept++] = e;
        }
    }
    parkedCount_ = kept;
}

void AudioCore::pushInternal(const TimedEvent& e) noexcept {
    if (internalInHeap_ >= kInternalEvents) {
        applyEvent(e); // never more than a voice each in practice; early rather than lost
        return;
    }
    heap_[heapSize_++] = e;
    ++internalInHeap_;
    std::push_heap(heap_.get(), heap_.get() + heapSize_, later);
}

void AudioCore::drainMidi(uint32_t frames) noexcept {
    midi::MidiEventRing* ring = midiRing_.load(std::memory_order_acquire);
    midiDraining_.store(ring != nullptr, std::memory_order_release);
    if (ring == nullptr) return;
    const MidiLiveTable* table = midiTable_.load(std::memory_order_acquire);
    if (table == nullptr) return;
    const uint64_t blockStartNs = midi::monotonicNowNs();
    ring->audioThreadDrainUntil(blockStartNs, [&](const midi::LiveMidiEvent& ev) {
        using midi::MidiKind;
        const midi::MidiMessage& m = ev.message;
        TimedEvent e;
        e.sample = now_ + midi::audioThreadFrameInBlock(ev.receivedNs, blockStartNs, frames,
                                                        double(sampleRate_));
        e.order = ++internalOrder_;
        e.internal = true;
        if (m.kind == MidiKind::ControlChange) {
            const MidiLiveTable::Cc& c = table->cc[size_t(m.channel) * 128 + m.controller()];
            if (const uint32_t key = c.key.load(std::memory_order_relaxed);
                key != MidiLiveTable::kNone) {
                TimedEvent p = e;
                p.key = key;
                const float lo = c.lo.load(std::memory_order_relaxed);
                p.value = lo + (c.hi.load(std::memory_order_relaxed) - lo) * (m.value() / 127.0f);
                pushInternal(p);
            }
        }
        uint32_t poly = table->polyKey[m.channel].load(std::memory_order_relaxed);
        if (poly == MidiLiveTable::kNone && m.channel == 0) {
            const Slot* top = active();
            if (top != nullptr && top->polys.size() == 1) poly = top->polys[0].key;
        }
        if (poly == MidiLiveTable::kNone) return;
        e.key = poly;
        e.note = m.note();
        switch (m.kind) {
        case MidiKind::NoteOn:
            e.kind = TimedEventKind::noteOn;
            e.value = float(m.velocity());
            break;
        case MidiKind::NoteOff:
            e.kind = TimedEventKind::noteOff;
            break;
        case MidiKind::ControlChange:
            if (m.controller() != 64) return; // the sustain pedal
            e.kind = TimedEventKind::pedal;
            e.value = m.value() >= 64 ? 1.0f : 0.0f;
            break;
        case MidiKind::PitchBend:
            e.kind = TimedEventKind::bend;
            e.value =
                table->bendRange.load(std::memory_order_relaxed) * float(m.pitchBend()) / 8192.0f;
            break;
        default:
            return;
        }
        pushInternal(e);
    });
}

void AudioCore::applyNoteEvent(const TimedEvent& e) noexcept {
    const Slot* top = active();
    if (!e.internal && (top == nullptr || !slotHasPoly(*top, e.key)) &&
        parkedCount_ < eventCapacity_) { // never full: see parked_
        parked_[parkedCount_++] = e;     // its poly's first commit is on its way
        return;
    }
    std::array<Slot*, kMaxLayers> slots{};
    for (std::size_t k = 0; k < layerCount_; ++k) slots[k] = layers_[k].slot;
    const VoiceLayers layers{slots.data(), layerCount_};
    VoiceFollowup f;
    switch (e.kind) {
    case TimedEventKind::noteOn:
        f = audioThreadNoteOn(layers, e.key, e.note, e.value, e.sample, stealFadeSamples_);
        break;
    case TimedEventKind::noteOff:
        f = audioThreadNoteOff(layers, e.key, e.note);
        break;
    case TimedEventKind::pedal:
        audioThreadPedal(layers, e.key, e.value > 0.5f);
        break;
    case TimedEventKind::bend:
        audioThreadBend(layers, e.key, e.value);
        break;
    case TimedEventKind::voiceStart:
        audioThreadFollowup(layers, e.key, VoiceFollowup::start, e.note);
        return;
    case TimedEventKind::voiceRegate:
        audioThreadFollowup(layers, e.key, VoiceFollowup::regate, e.note);
        return;
    case TimedEventKind::param:
        return;
    }
    if (!e.internal) (void)acks_.tryPush({e.key, e.value, 0, e.client, false, true});
    if (f.kind == VoiceFollowup::none) return;
    TimedEvent next;
    next.sample = std::max(f.sample, now_);
    next.order = e.order;
    next.key = e.key;
    next.kind =
        f.kind == VoiceFollowup::start ? TimedEventKind::voiceStart : TimedEventKind::voiceRegate;
    next.note = f.voice;
    next.internal = true;
    pushInternal(next);
}

void AudioCore::applyEvent(const TimedEvent& e) noexcept {
    if (e.kind != TimedEventKind::param) {
        applyNoteEvent(e);
        return;
    }
    for (std::size_t k = 0; k < layerCount_; ++k) {
        (void)storeParam(*layers_[k].slot, e.key, e.value); // a poly's template: every voice
    }
    // Never full: the control side keeps (events pushed - acks popped) <= the ring's capacity
    // (and the audio thread's own, live MIDI's controllers, have room of their own).
    Slot* playing = active();
    (void)acks_.tryPush({e.key, e.value, playing != nullptr ? playing->seq : 0, e.client, false,
                         false, e.internal});
}

void AudioCore::guardBlock(float* const* out, uint32_t channels, uint32_t frames,
                           uint64_t begin) noexcept {
    Slot* playing = active();
    const auto v =
        guard_.audioThreadCheck(out, channels, frames, begin, playing != nullptr ? playing->seq : 0,
                                paramWrites_.load(std::memory_order_relaxed));
    if (v.poison)
        for (std::size_t k = 0; k < layerCount_; ++k) layers_[k].slot->audioThreadPoisoned = true;
    if (v.reset && playing != nullptr && playing->audioThreadPoisoned) {
        playing->audioThreadResetState();
        playing->audioThreadPoisoned = false;
    }
}

namespace {
/// Device channel `e` of `channels` made from a program's `programChannels` buffers `src`
/// (AudioCore::audioThreadRender's mapping), into `dst`.
void mapChannel(float* dst, uint32_t e, uint32_t channels, const float* const* src,
                uint32_t programChannels, uint32_t frames) noexcept {
    if (programChannels == 1) {
        std::copy(src[0], src[0] + frames, dst);
        return;
    }
    if (e >= programChannels) {
        std::fill(dst, dst + frames, 0.0f);
        return;
    }
    std::copy(src[e], src[e] + frames, dst);
    for (uint32_t c = e + channels; c < programChannels; c += channels)
        for (uint32_t i = 0; i < frames; ++i) dst[i] += src[c][i];
}
} // namespace

void AudioCore::renderSlot(Slot& slot, float* const* out, uint32_t channels, const float* const* in,
                           uint32_t inputs, uint32_t frames) noexcept {
    Program& program = *slot.program;
    const uint32_t programChannels = program.schedule().channelCount();
    const bool hasInput = !program.schedule().inputs.empty();
    if (programChannels == 1) {
        if (hasInput)
            program.renderChannels(slot.params.data(), slot.state.data(), {out, in, inputs},
                                   frames);
        else
            program.render(slot.params.data(), slot.state.data(), out[0], frames);
        for (uint32_t e = 1; e < channels; ++e) std::copy(out[0], out[0] + frames, out[e]);
        return;
    }
    if (programChannels == channels) {
        program.renderChannels(slot.params.data(), slot.state.data(), {out, in, inputs}, frames);
        return;
    }
    float* bufs[kMaxChannels];
    for (uint32_t c = 0; c < programChannels; ++c)
        bufs[c] = programOut_.get() + std::size_t{c} * maxFrames_;
    program.renderChannels(slot.params.data(), slot.state.data(), {bufs, in, inputs}, frames);
    for (uint32_t e = 0; e < channels; ++e)
        mapChannel(out[e], e, channels, bufs, programChannels, frames);
}

void AudioCore::renderSegment(float* const* out, uint32_t channels, const float* const* in,
                              uint32_t inputs, uint32_t frames) noexcept {
    if (layerCount_ == 0) {
        for (uint32_t e = 0; e < channels; ++e) std::fill(out[e], out[e] + frames, 0.0f);
        return;
    }
    renderSlot(*layers_[0].slot, out, channels, in, inputs, frames);
    // Raised cosine, gains summing to one: old and new are strongly correlated (the survivors
    // carry their state, so they are mostly the same signal), and equal-power gains would lift
    // the sum by up to 3 dB mid-fade (tests/test_engine_swap.cpp measures both). Its slope is zero
    // at both ends, so neither corner is a kink; sample N of N is the new slot alone. Every
    // channel fades on the same gains.
    std::size_t done = 0; // the highest layer whose fade has ended
    float* const gain = fadeGain_.get();
    for (std::size_t k = 1; k < layerCount_; ++k) {
        Layer& layer = layers_[k];
        fadedThisCallback_ = true;
        Slot& slot = *layer.slot;
        const uint32_t programChannels = slot.program->schedule().channelCount();
        float* bufs[kMaxChannels];
        if (programChannels == 1) {
            bufs[0] = scratch_.get();
            if (slot.program->schedule().inputs.empty())
                slot.program->render(slot.params.data(), slot.state.data(), bufs[0], frames);
            else
                slot.program->renderChannels(slot.params.data(), slot.state.data(),
                                             {bufs, in, inputs}, frames);
        } else {
            for (uint32_t c = 0; c < programChannels; ++c)
                bufs[c] = programOut_.get() + std::size_t{c} * maxFrames_;
            slot.program->renderChannels(slot.params.data(), slot.state.data(), {bufs, in, inputs},
                                         frames);
        }
        const double w = M_PI / double(layer.fadeFrames);
        for (uint32_t i = 0; i < frames; ++i) {
            const uint32_t n = layer.fadePos + i + 1;
            gain[i] =
                n >= layer.fadeFrames ? 1.0f : static_cast<float>(0.5 - 0.5 * std::cos(w * n));
        }
        for (uint32_t e = 0; e < channels; ++e) {
            // The layer's signal for this device channel (mapChannel's rule), read in place.
            const float* src = programChannels == 1                                 ? bufs[0]
                               : e < programChannels && programChannels <= channels ? bufs[e]
                                                                                    : nullptr;
            if (src == nullptr) {
                mapChannel(scratch_.get(), e, channels, bufs, programChannels, frames);
                src = scratch_.get();
            }
            float* o = out[e];
            for (uint32_t i = 0; i < frames; ++i) o[i] = (1.0f - gain[i]) * o[i] + gain[i] * src[i];
        }
        layer.fadePos = std::min(layer.fadePos + frames, layer.fadeFrames);
        if (layer.fadePos == layer.fadeFrames) done = k;
    }
    if (done == 0) return;
    // Everything below a finished fade is silent now: hand it back; that layer is the bottom.
    for (std::size_t k = 0; k < done; ++k) letGo(layers_[k].slot);
    for (std::size_t k = done; k < layerCount_; ++k) layers_[k - done] = layers_[k];
    layerCount_ -= done;
    layers_[0].fadePos = layers_[0].fadeFrames = 0;
}

void AudioCore::audioThreadRender(float* const* out, uint32_t channels, const float* const* in,
                                  uint32_t inputs, uint32_t frames) noexcept {
    channels = std::min(channels, kMaxDeviceChannels);
    inputs = std::min(inputs, kMaxDeviceChannels);
    deviceChannels_.store(channels, std::memory_order_relaxed);
    deviceInputs_.store(inputs, std::memory_order_relaxed);
    ScopedFlushDenormals ftz;
    const auto start = std::chrono::steady_clock::now(); // vDSO: no system call
    fadedThisCallback_ = false;
    swappedThisCallback_ = false;
    audioThreadService();
    drainEvents();
    serveDrop();
    drainMidi(frames);
    const uint64_t begin = now_;
    const uint64_t end = begin + frames;
    uint64_t pos = begin;
    while (pos < end) {
        while (heapSize_ > 0 && heap_[0].sample <= pos) {
            std::pop_heap(heap_.get(), heap_.get() + heapSize_, later);
            TimedEvent due = heap_[--heapSize_];
            due.sample = std::max(due.sample, pos); // a time already past plays now
            if (due.internal) --internalInHeap_;
            applyEvent(due);
        }
        uint64_t stop = std::min(end, pos + maxFrames_);
        if (heapSize_ > 0 && heap_[0].sample < stop) stop = heap_[0].sample;
        // A segment's samples: each channel's buffer from its offset into the block.
        const auto at = static_cast<uint32_t>(pos - begin);
        float* segOut[kMaxDeviceChannels];
        const float* segIn[kMaxDeviceChannels];
        for (uint32_t e = 0; e < channels; ++e) segOut[e] = out[e] + at;
        for (uint32_t k = 0; k < inputs; ++k) segIn[k] = in[k] != nullptr ? in[k] + at : nullptr;
        renderSegment(segOut, channels, segIn, inputs, static_cast<uint32_t>(stop - pos));
        pos = stop;
    }
    guardBlock(out, channels, frames, begin);
    now_ = end;
    position_.store(end, std::memory_order_release);
    bump(callbacks_);
    if (frames == 0) return;
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    const double load = took.count() * double(sampleRate_) / double(frames);
    load_.audioThreadAdd(load);
    if (fadedThisCallback_) fadeLoad_.audioThreadAdd(load);
    if (swappedThisCallback_) swapLoad_.audioThreadAdd(load);
    if (load > 1.0) bump(overruns_);
}

} // namespace chronus

#include "runtime/param_store.h"

#include "compiler/did_you_mean.h"
#include "compiler/param_check.h"
#include "compiler/patch_graph.h"
#include "compiler/voice_template.h"
#include "modules/choice_name.h"
#include "runtime/audio_core.h"
#include "runtime/patch_versions.h"
#include "runtime/slot.h"
#include "runtime/voice_allocator.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace chronus {

ParamStore::ParamStore(PatchVersions& versions, AudioCore& core, std::size_t perClientEvents)
    : versions_(versions), core_(core), perClientEvents_(perClientEvents) {}

ParamStore::Entry& ParamStore::entry(uint32_t key) {
    if (key >= entries_.size()) entries_.resize(std::max<std::size_t>(keys_.size(), key + 1));
    return entries_[key];
}

Expected<ParamStore::Resolved> ParamStore::resolve(std::string_view id, std::string_view param) {
    if (auto key = keys_.find(id, param)) {
        const Entry& e = entry(*key);
        if (e.layout && e.resolved == versions_.version())
            return Resolved{*key, e.resolved, e.layout.get(), e.param};
    }
    auto found = versions_.find(id);
    if (!found) return makeError("unknown module id '{}'", id);
    // `P:local.param`, a poly's template parameter: looked up in voice 0's copy of the module
    // (every voice's has the same layout), written to every voice's.
    std::string voiceModule;
    const std::string_view keyParam = param;
    if (const auto split = splitTemplateParam(param); split && versions_.hasPoly(id)) {
        voiceModule = voiceModuleId(id, 0, split->first);
        found = versions_.find(voiceModule);
        if (!found)
            return makeError("{}:{}: poly {}'s voices have no module '{}'", id, param, id,
                             split->first);
        param = split->second;
    }
    const auto& params = found->layout->params;
    for (std::size_t i = 0; i < params.size(); ++i) {
        if (params[i].name != param) continue;
        const uint32_t key = keys_.intern(id, keyParam);
        Entry& e = entry(key);
        e.resolved = found->version;
        e.layout = found->layout;
        e.param = static_cast<uint32_t>(i);
        e.voiceModule = std::move(voiceModule);
        return Resolved{key, e.resolved, e.layout.get(), e.param};
    }
    std::vector<std::string_view> names;
    for (const auto& p : params) names.push_back(p.name);
    if (!voiceModule.empty())
        return makeError("{}:{}: {} has no parameter '{}'{}", id, keyParam, voiceModule, param,
                         didYouMean(param, names));
    return makeError("{} ({}) has no parameter '{}'{}", id, found->desc->type, param,
                     didYouMean(param, names));
}

Status ParamStore::check(const Resolved& r, std::string_view id, std::string_view param,
                         float value) const {
    // The graph's own check (compiler/param_check.h): the same verdicts, the same words.
    return checkParamValue(r.layout->params[r.param].desc, id, param, value);
}

Status ParamStore::set(std::string_view id, std::string_view param, float value) {
    std::lock_guard lock(mutex_);
    drainAcksLocked();
    return setLocked(id, param, value);
}

Status ParamStore::setLocked(std::string_view id, std::string_view param, float value) {
    for (;;) {
        auto r = resolve(id, param);
        if (!r) return r.error();
        if (Status s = check(*r, id, param, value); !s) return s;
        // The module was looked up at r->version; an edit since may have replaced it.
        if (versions_.write({r->key, &keys_.id(r->key), &keys_.param(r->key), value}, r->version)) {
            writeKey(r->key, value, 0);
            return {};
        }
    }
}

Status ParamStore::setChoice(std::string_view id, std::string_view param, std::string_view choice) {
    std::lock_guard lock(mutex_);
    drainAcksLocked();
    auto r = resolve(id, param);
    if (!r) return r.error();
    auto value = choiceValue(r->layout->params[r->param].desc, id, param, choice);
    if (!value) return value.error();
    return setLocked(id, param, *value);
}

Status ParamStore::setAt(uint64_t atSample, std::string_view id, std::string_view param,
                         float value, uint64_t client) {
    std::lock_guard lock(mutex_);
    drainAcksLocked();
    auto r = resolve(id, param);
    if (!r) return r.error();
    if (Status s = check(*r, id, param, value); !s) return s;
    TimedEvent e{atSample, 0, r->key, value, client};
    return pushTimedLocked(e, fmt::format("/mod/{}/{}", id, param));
}

Status ParamStore::noteAt(uint64_t atSample, std::string_view id, uint8_t kind, uint16_t note,
                          float value, uint64_t client) {
    std::lock_guard lock(mutex_);
    drainAcksLocked();
    if (!versions_.hasPoly(id)) {
        if (versions_.find(id)) return makeError("{} is not a poly: notes go to a poly", id);
        return makeError("unknown poly '{}'", id);
    }
    TimedEvent e{atSample, 0, keys_.intern(id, kNoteKey), value, client};
    e.kind = static_cast<TimedEventKind>(kind);
    e.note = note;
    return pushTimedLocked(e, fmt::format("notes for {}", id));
}

Expected<ParamStore::LiveTarget> ParamStore::liveTarget(std::string_view id,
                                                        std::string_view param) {
    std::lock_guard lock(mutex_);
    auto r = resolve(id, param);
    if (!r) return r.error();
    const ParamDesc& d = r->layout->params[r->param].desc;
    return LiveTarget{r->key, d.minValue, d.maxValue};
}

uint32_t ParamStore::noteKey(std::string_view poly) {
    std::lock_guard lock(mutex_);
    return keys_.intern(poly, kNoteKey);
}

Status ParamStore::pushTimedLocked(const TimedEvent& event, std::string_view what) {
    const uint64_t client = event.client;
    if (client != 0) {
        const auto it = eventsByClient_.find(client);
        if (it != eventsByClient_.end() && it->second >= perClientEvents_)
            return makeError("{}: this client has {} timed events waiting, its limit "
                             "(serve --timed-events-per-client raises it); try again once some "
                             "have played",
                             what, it->second);
    }
    if (eventsOut_ >= core_.eventCapacity())
        return makeError("{}: {} timed events are already waiting, the engine's limit "
                         "(serve --timed-events raises it); try again once some have played",
                         what, eventsOut_);
    TimedEvent e = event;
    e.order = eventOrder_++;
    if (!core_.pushEvent(e)) return makeError("{}: the timed-event queue is full", what);
    ++eventsOut_;
    if (client != 0) ++eventsByClient_[client];
    ++eventsByKey_[e.key];
    return {};
}

Expected<ParamStore::Reading> ParamStore::read(std::string_view id, std::string_view param) {
    std::lock_guard lock(mutex_);
    drainAcksLocked(); // timed events that played are written by now
    for (;;) {
        auto r = resolve(id, param);
        if (!r) return r.error();
        // Looked up at r->version; an edit since may have replaced the module: look again.
        const std::string& voice = entry(r->key).voiceModule; // a template's: voice 0's value
        const auto value =
            versions_.value(voice.empty() ? id : std::string_view(voice), r->param, r->version);
        if (!value) continue;
        Reading reading{*value, {}};
        const auto& choices = r->layout->params[r->param].desc.choices;
        if (*value >= 0 && *value < float(choices.size()) && *value == std::floor(*value))
            reading.choice = std::string(choices[static_cast<std::size_t>(*value)]);
        return reading;
    }
}

void ParamStore::abortPending() {
    std::lock_guard lock(mutex_);
    drainAcksLocked();
    versions_.abort();
    dropMootEventsLocked();
}

void ParamStore::dropMootEventsLocked() {
    std::vector<uint32_t> moot;
    for (const auto& [key, count] : eventsByKey_)
        if (!versions_.find(keys_.id(key))) moot.push_back(key);
    if (moot.empty()) {
        dropWanted_ = false;
        return;
    }
    // One request at a time; an earlier one still being served is retried from drainAcks.
    dropWanted_ = !core_.requestDrop(std::move(moot));
}

void ParamStore::writeKey(uint32_t key, float value, uint64_t appliedSeq) {
    Entry& e = entry(key);
    e.value = value;
    e.written = ++serial_;
    core_.noteParamWrite();
    for (Slot* slot : slots_) {
        // Slots newer than the one the event played on need it, and so does a faster tier of
        // that commit (same seq) that was not playing yet.
        if (slot->seq < appliedSeq || (slot->seq == appliedSeq && slot->tier == 1)) continue;
        (void)storeParam(*slot, key, value);
    }
}

void ParamStore::drainAcks() {
    std::lock_guard lock(mutex_);
    drainAcksLocked();
}

void ParamStore::drainAcksLocked() {
    EventAck a;
    while (core_.popAck(a)) {
        if (a.internal) { // live MIDI's controller: a value to record, never queued from here
            (void)versions_.write({a.key, &keys_.id(a.key), &keys_.param(a.key), a.value});
            writeKey(a.key, a.value, a.appliedSeq);
            continue;
        }
        --eventsOut_;
        if (a.client != 0)
            if (auto it = eventsByClient_.find(a.client);
                it != eventsByClient_.end() && --it->second == 0)
                eventsByClient_.erase(it);
        if (auto it = eventsByKey_.find(a.key); it != eventsByKey_.end() && --it->second == 0)
            eventsByKey_.erase(it);
        if (a.dropped || a.note) continue;
        // It played, so it is written whatever became of its module meanwhile, as a write is.
        (void)versions_.write({a.key, &keys_.id(a.key), &keys_.param(a.key), a.value});
        writeKey(a.key, a.value, a.appliedSeq);
    }
    if (dropWanted_) dropMootEventsLocked();
}

std::vector<uint32_t> ParamStore::writtenSinceLocked(uint64_t since) const {
    std::vector<std::pair<uint64_t, uint32_t>> written;
    for (uint32_t key = 0; key < entries_.size(); ++key)
        if (entries_[key].written > since) written.emplace_back(entries_[key].written, key);
    // In the order they were written: a poly's template parameter and one voice's copy of it
    // are two keys for one value.
    std::sort(written.begin(), written.end());
    std::vector<uint32_t> keys;
    keys.reserve(written.size());
    for (const auto& w : written) keys.push_back(w.second);
    return keys;
}

uint64_t ParamStore::mark() const {
    std::lock_guard lock(mutex_);
    return serial_;
}

void ParamStore::attachCommit(Slot& slot, uint64_t since) {
    std::lock_guard lock(mutex_);
    slot.prepare(keys_, slot.carryFrom); // staged: its carry is planned, keys as the playing one's
    for (uint32_t key : writtenSinceLocked(since)) (void)storeParam(slot, key, entries_[key].value);
    slots_.push_back(&slot);
}

void ParamStore::attachTier(Slot& slot, const Slot& playing) {
    std::lock_guard lock(mutex_);
    slot.prepare(keys_, &playing);
    // The same schedule: the same parameters at the same indices.
    for (std::size_t i = 0; i < slot.params.size() && i < playing.params.size(); ++i)
        slot.params.store(i, playing.params.load(i));
    slots_.push_back(&slot);
}

void ParamStore::detach(const Slot& slot) {
    std::lock_guard lock(mutex_);
    std::erase(slots_, &slot);
}

void ParamStore::swappedIn(PatchGraph graph, uint64_t since) {
    std::lock_guard lock(mutex_);
    std::vector<ParamWrite> late;
    for (uint32_t key : writtenSinceLocked(since))
        late.push_back({key, &keys_.id(key), &keys_.param(key), entries_[key].value});
    versions_.swappedIn(std::move(graph), late);
    dropMootEventsLocked();
}

} // namespace chronus

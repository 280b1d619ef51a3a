#include "runtime/patch_versions.h"

#include "compiler/voice_template.h"

namespace chronus {

Status PatchVersions::create(std::string_view id, std::string_view type,
                             std::optional<float> createArg) {
    std::lock_guard lock(mutex_);
    fold(); // a value written to an older module of this id must not reach the new one
    Status s = pending_.create(id, type, createArg);
    if (s) restructured();
    return s;
}

Status PatchVersions::remove(std::string_view id) {
    std::lock_guard lock(mutex_);
    fold();
    Status s = pending_.remove(id);
    if (s) restructured();
    return s;
}

// Connections hold no values and do not change which modules exist: nothing to fold.
Status PatchVersions::connect(std::string_view src, std::string_view dst) {
    std::lock_guard lock(mutex_);
    return pending_.connect(src, dst);
}

Status PatchVersions::disconnect(std::string_view src, std::string_view dst) {
    std::lock_guard lock(mutex_);
    return pending_.disconnect(src, dst);
}

bool PatchVersions::hasPoly(std::string_view id) const {
    std::lock_guard lock(mutex_);
    for (const PatchGraph* g : {&pending_, &requested_, &playing_})
        if (const VoiceTable* t = g->voiceTable(); t != nullptr && t->findPoly(id) != nullptr)
            return true;
    return false;
}

Status PatchVersions::editPending(const std::function<Status(PatchGraph&)>& edit) {
    std::lock_guard lock(mutex_);
    fold();
    Status s = edit(pending_);
    if (s) restructured();
    return s;
}

bool PatchVersions::pendingVoiceOpen() const {
    std::lock_guard lock(mutex_);
    return pending_.voiceOpen();
}

void PatchVersions::abort() {
    std::lock_guard lock(mutex_);
    fold();
    pending_ = requested_;
    restructured();
}

PatchGraph PatchVersions::beginCommit() {
    std::lock_guard lock(mutex_);
    fold();
    requested_ = pending_;
    restructured();
    return pending_;
}

void PatchVersions::swappedIn(PatchGraph graph, std::span<const ParamWrite> since) {
    std::lock_guard lock(mutex_);
    fold();
    playing_ = std::move(graph);
    for (const ParamWrite& w : since) (void)playing_.setParam(*w.id, *w.param, w.value);
    restructured();
    changes_.fetch_add(1, std::memory_order_relaxed);
}

void PatchVersions::lastCommitFailed() {
    std::lock_guard lock(mutex_);
    fold();
    requested_ = playing_;
    restructured();
}

std::string PatchVersions::playingText() {
    std::lock_guard lock(mutex_);
    fold();
    return playing_.toPatchText();
}

std::optional<PatchVersions::Found> PatchVersions::find(std::string_view id) const {
    std::lock_guard lock(mutex_);
    for (const PatchGraph* g : {&pending_, &requested_, &playing_})
        if (const Module* m = g->find(id))
            return Found{m->desc, m->layout, version_.load(std::memory_order_relaxed)};
    return std::nullopt;
}

std::optional<float> PatchVersions::value(std::string_view id, uint32_t index,
                                          std::optional<uint64_t> validatedAt) {
    std::lock_guard lock(mutex_);
    if (validatedAt && *validatedAt != version_.load(std::memory_order_relaxed))
        return std::nullopt;
    fold();
    for (const PatchGraph* g : {&pending_, &requested_, &playing_})
        if (const Module* m = g->find(id))
            return index < m->params.size() ? std::optional<float>(m->params[index]) : std::nullopt;
    return std::nullopt;
}

PatchGraph PatchVersions::pendingCopy() {
    std::lock_guard lock(mutex_);
    fold();
    return pending_;
}

PatchGraph PatchVersions::playingCopy() {
    std::lock_guard lock(mutex_);
    fold();
    return playing_;
}

bool PatchVersions::write(const ParamWrite& w, std::optional<uint64_t> validatedAt) {
    std::lock_guard lock(mutex_);
    if (validatedAt && *validatedAt != version_.load(std::memory_order_relaxed)) return false;
    changes_.fetch_add(1, std::memory_order_relaxed);
    if (w.key >= unfoldedAt_.size()) unfoldedAt_.resize(w.key + 1, -1);
    if (w.key >= names_.size()) names_.resize(w.key + 1);
    if (names_[w.key].first.empty()) names_[w.key] = {*w.id, *w.param};
    int32_t& at = unfoldedAt_[w.key];
    if (at >= 0) {
        unfolded_[static_cast<std::size_t>(at)].second = w.value;
    } else {
        at = static_cast<int32_t>(unfolded_.size());
        unfolded_.emplace_back(w.key, w.value);
    }
    return true;
}

void PatchVersions::fold() {
    for (auto [key, value] : unfolded_) {
        const auto& [id, param] = names_[key];
        // A graph without the module, or whose module of that id refuses the value, keeps its own.
        for (PatchGraph* g : {&pending_, &requested_, &playing_})
            if (g->find(id) != nullptr) (void)g->setParam(id, param, value);
        unfoldedAt_[key] = -1;
    }
    unfolded_.clear();
}

} // namespace chronus

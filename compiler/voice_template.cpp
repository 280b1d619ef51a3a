// Voice templates and polys: the PatchGraph members that define, map and expand them
// (compiler/voice_template.h says what the expansion builds).
#include "compiler/voice_template.h"

#include "compiler/did_you_mean.h"
#include "compiler/param_check.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <fmt/format.h>

namespace chronus {

namespace {

constexpr std::string_view kRoles[] = {"pitch", "gate", "velocity"};

/// The fader's parameters: the steal fade out and the next note's fade in, never a step.
struct FaderParam {
    std::string_view name;
    float value;
};
constexpr FaderParam kFader[] = {
    {"attack", kStealFadeMs}, {"decay", 0}, {"sustain", 1}, {"release", kStealFadeMs}, {"gate", 1}};

/// Modules of the template whose output nothing in it takes: what a voice sounds.
std::vector<const Module*> voiceOutputs(const PatchGraph& t) {
    std::vector<const Module*> out;
    for (const Module& m : t.modules()) {
        if (m.layout->outputs.empty()) continue;
        bool feeds = false;
        for (const Connection& c : t.connections()) feeds = feeds || c.src == m.id;
        if (!feeds) out.push_back(&m);
    }
    return out;
}

std::string outputRef(const PatchGraph& t, const Connection& c, std::string_view prefix) {
    const Module* m = t.find(c.src);
    return fmt::format("{}{}:{}", prefix, c.src, m->layout->outputs[c.srcPort].name);
}

std::string inputRef(const PatchGraph& t, const Connection& c, std::string_view prefix) {
    return std::string(prefix) + PatchGraph::slotName(*t.find(c.dst), c.dstSlot);
}

/// A map's target checked against the template; its default range filled in.
Status checkMap(const VoiceTemplate& t, VoiceMap& map) {
    const Module* m = t.graph.find(map.module);
    if (m == nullptr)
        return makeError("voice template '{}' has no module '{}'", t.name, map.module);
    auto idx = t.graph.paramIndex(map.module, map.param);
    if (!idx) return makeError("voice template '{}': {}", t.name, idx.error().message);
    const ParamDesc& d = m->layout->params[*idx].desc;
    if (!map.explicitRange) {
        map.lo = d.minValue;
        map.hi = d.maxValue;
    } else if (!(map.lo >= d.minValue && map.hi <= d.maxValue)) {
        return makeError("/voice/map {} {} {}:{}: range [{}, {}] is outside the parameter's "
                         "[{}, {}]",
                         t.name, voiceRoleName(map.role), map.module, map.param, map.lo, map.hi,
                         d.minValue, d.maxValue);
    }
    return {};
}

} // namespace

std::string_view voiceRoleName(VoiceRole role) {
    return kRoles[static_cast<int>(role)];
}

std::string voiceId(std::string_view poly, uint32_t k) {
    return fmt::format("{}.{}", poly, k);
}

std::string voiceModuleId(std::string_view poly, uint32_t k, std::string_view local) {
    return fmt::format("{}.{}.{}", poly, k, local);
}

const VoiceTemplate* VoiceTable::findTemplate(std::string_view name) const {
    for (const auto& t : templates)
        if (t->name == name) return t.get();
    return nullptr;
}

const PolyInfo* VoiceTable::findPoly(std::string_view id) const {
    for (const PolyInfo& p : polys)
        if (p.id == id) return &p;
    return nullptr;
}

const PolyInfo* VoiceTable::ownerOf(std::string_view id) const {
    for (const PolyInfo& p : polys) {
        if (id.size() <= p.id.size() + 1 || !id.starts_with(p.id) || id[p.id.size()] != '.')
            continue;
        const std::string_view rest = id.substr(p.id.size() + 1);
        const std::string_view number = rest.substr(0, rest.find('.'));
        uint32_t k = 0;
        auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), k);
        if (ec == std::errc() && end == number.data() + number.size() && k < p.voices) return &p;
    }
    return nullptr;
}

std::optional<std::pair<std::string_view, std::string_view>>
splitTemplateParam(std::string_view name) {
    const auto dot = name.rfind('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) return std::nullopt;
    return std::pair{name.substr(0, dot), name.substr(dot + 1)};
}

// ---- PatchGraph's voice members --------------------------------------------------------------

bool PatchGraph::voiceOpen() const {
    return voices_ != nullptr && voices_->open.has_value();
}

Status PatchGraph::editOpenVoice(const std::function<Status(PatchGraph&)>& edit) {
    auto table = std::make_shared<VoiceTable>(*voices_);
    if (Status s = edit(table->open->graph); !s)
        return makeError("voice template '{}': {}", table->open->name, s.error().message);
    voices_ = std::move(table);
    return {};
}

Status PatchGraph::voiceGuard(std::string_view ref) const {
    if (expanding_ || voices_ == nullptr) return {};
    const std::string_view id = ref.substr(0, ref.find(':'));
    if (const PolyInfo* p = voices_->ownerOf(id))
        return makeError("{} belongs to poly {} (template '{}'): edit the template between "
                         "/voice/begin {} and /voice/end",
                         id, p->id, p->templateName, p->templateName);
    return {};
}

Status PatchGraph::beginVoice(std::string_view name) {
    if (voiceOpen())
        return makeError("/voice/begin {}: template '{}' is still open; end it with /voice/end",
                         name, voices_->open->name);
    if (Status s = validateModuleId(name); !s)
        return makeError("/voice/begin: template name: {}", s.error().message);
    auto table = voices_ ? std::make_shared<VoiceTable>(*voices_) : std::make_shared<VoiceTable>();
    if (const VoiceTemplate* t = table->findTemplate(name))
        table->open = *t;
    else
        table->open = VoiceTemplate{std::string(name), PatchGraph(), {}};
    voices_ = std::move(table);
    return {};
}

Status PatchGraph::endVoice() {
    if (!voiceOpen()) return makeError("/voice/end: no template is open (/voice/begin NAME first)");
    VoiceTemplate t = *voices_->open;
    if (t.graph.modules().empty())
        return makeError("/voice/end: voice template '{}' has no modules", t.name);
    for (const Module& m : t.graph.modules())
        if (m.desc->isSink)
            return makeError("/voice/end: voice template '{}' has an {} ({}): a voice is summed "
                             "into its poly's out, so it has no output module of its own",
                             t.name, m.desc->type, m.id);
    if (voiceOutputs(t.graph).empty())
        return makeError("/voice/end: voice template '{}' has no unconnected output: a voice "
                         "sounds what nothing in it takes",
                         t.name);
    for (VoiceMap& map : t.maps)
        if (Status s = checkMap(t, map); !s)
            return makeError("/voice/end: map {} {}:{}: {}", voiceRoleName(map.role), map.module,
                             map.param, s.error().message);
    auto fresh = std::make_shared<const VoiceTemplate>(std::move(t));
    // Every poly of this template re-expanded on a copy: all or nothing.
    PatchGraph g = *this;
    auto table = std::make_shared<VoiceTable>(*voices_);
    table->open.reset();
    bool replaced = false;
    for (auto& slot : table->templates)
        if (slot->name == fresh->name) {
            slot = fresh;
            replaced = true;
        }
    if (!replaced) table->templates.push_back(fresh);
    g.voices_ = table;
    for (PolyInfo& p : table->polys) {
        if (p.templateName != fresh->name) continue;
        // Values of template parameters the new template has not (or of another range) go.
        std::erase_if(p.values, [&](const auto& w) {
            const auto [local, param] = *splitTemplateParam(w.first);
            auto idx = fresh->graph.paramIndex(local, param);
            return !idx || !checkParamValue(fresh->graph.find(local)->layout->params[*idx].desc,
                                            local, param, w.second);
        });
        if (Status s = g.expandPoly(p, p.expanded.get(), *fresh); !s)
            return makeError("/voice/end: re-expanding poly {}: {}", p.id, s.error().message);
        p.expanded = fresh;
    }
    *this = std::move(g);
    return {};
}

Status PatchGraph::mapVoice(std::string_view name, std::string_view role, std::string_view target,
                            std::optional<std::pair<float, float>> range) {
    const VoiceTemplate* t = voices_ ? voices_->findTemplate(name) : nullptr;
    if (t == nullptr)
        return makeError("/voice/map: no voice template '{}' (define it with /voice/begin {} ... "
                         "/voice/end)",
                         name, name);
    VoiceMap map;
    bool known = false;
    for (int r = 0; r < 3; ++r)
        if (role == kRoles[r]) {
            map.role = static_cast<VoiceRole>(r);
            known = true;
        }
    if (!known)
        return makeError("/voice/map {}: role '{}' is not pitch, gate or velocity", name, role);
    const auto colon = target.find(':');
    if (colon == std::string_view::npos)
        return makeError("/voice/map {} {}: target '{}' must be ID:PARAM", name, role, target);
    map.module = std::string(target.substr(0, colon));
    map.param = std::string(target.substr(colon + 1));
    if (range) {
        if (!(std::isfinite(range->first) && std::isfinite(range->second)) ||
            range->first > range->second)
            return makeError("/voice/map {} {} {}: range [{}, {}] must be finite, low to high",
                             name, role, target, range->first, range->second);
        if (map.role != VoiceRole::velocity)
            return makeError("/voice/map {} {} {}: only velocity takes a range", name, role,
                             target);
        map.lo = range->first;
        map.hi = range->second;
        map.explicitRange = true;
    }
    if (Status s = checkMap(*t, map); !s) return makeError("/voice/map: {}", s.error().message);
    auto edited = std::make_shared<VoiceTemplate>(*t);
    bool same = false;
    for (VoiceMap& m : edited->maps)
        if (m.role == map.role && m.module == map.module && m.param == map.param) {
            m = map; // mapping a target again changes its range, adds nothing
            same = true;
        }
    if (!same) edited->maps.push_back(map);
    auto table = std::make_shared<VoiceTable>(*voices_);
    for (auto& slot : table->templates)
        if (slot->name == name) slot = edited;
    // Maps live in the template and reach the voices at the next commit (the schedule reads them);
    // the expansion does not change.
    for (PolyInfo& p : table->polys)
        if (p.templateName == name && p.expanded) {
            auto e = std::make_shared<VoiceTemplate>(*p.expanded);
            e->maps = edited->maps;
            p.expanded = e;
        }
    voices_ = std::move(table);
    return {};
}

Status PatchGraph::createPoly(std::string_view id, std::string_view templateName, float voices) {
    if (voiceOpen())
        return makeError("/patch/create {} poly: template '{}' is open; a poly inside a voice "
                         "is not supported (end it with /voice/end first)",
                         id, voices_->open->name);
    if (Status s = validateModuleId(id); !s) return s;
    if (Status s = voiceGuard(id); !s) return s;
    const VoiceTemplate* t = voices_ ? voices_->findTemplate(templateName) : nullptr;
    if (t == nullptr) {
        std::vector<std::string_view> names;
        if (voices_)
            for (const auto& v : voices_->templates) names.push_back(v->name);
        return makeError("/patch/create {} poly: no voice template '{}'{} (define it with "
                         "/voice/begin {} ... /voice/end)",
                         id, templateName, didYouMean(templateName, names), templateName);
    }
    if (!(voices >= 1 && voices <= float(kMaxPolyVoices)) || voices != std::floor(voices))
        return makeError("/patch/create {} poly {}: voices {} must be a whole number in [1, {}]",
                         id, templateName, voices, kMaxPolyVoices);
    if (find(id) != nullptr) return makeError("module id '{}' already exists", id);
    const auto n = static_cast<uint32_t>(voices);
    for (const Module& m : t->graph.modules())
        if (Status s = validateModuleId(voiceModuleId(id, n - 1, m.id)); !s)
            return makeError("/patch/create {} poly {} {}: voice module id: {}", id, templateName,
                             n, s.error().message);
    PatchGraph g = *this;
    auto table = std::make_shared<VoiceTable>(*voices_);
    table->polys.push_back(PolyInfo{std::string(id), std::string(templateName), n, nullptr, {}});
    g.voices_ = table;
    g.expanding_ = true;
    Status made = g.create(id, "gain");
    if (made) made = g.expandPoly(table->polys.back(), nullptr, *t);
    if (!made) return made;
    for (const auto& tp : voices_->templates)
        if (tp->name == templateName) table->polys.back().expanded = tp;
    g.expanding_ = false;
    *this = std::move(g);
    return {};
}

Status PatchGraph::expandPoly(PolyInfo& poly, const VoiceTemplate* before,
                              const VoiceTemplate& now) {
    const bool wasExpanding = expanding_;
    expanding_ = true;
    auto done = [&](Status s) {
        expanding_ = wasExpanding;
        return s;
    };
    for (uint32_t k = 0; k < poly.voices; ++k) {
        const std::string prefix = voiceId(poly.id, k) + ".";
        const std::string fader = voiceId(poly.id, k);
        if (before == nullptr) {
            if (Status s = create(fader, "adsr"); !s) return done(s);
            for (const FaderParam& f : kFader)
                if (Status s = setParam(fader, f.name, f.value); !s) return done(s);
            if (Status s = connect(fader, poly.id); !s) return done(s);
        } else {
            // Modules the new template has not (or has as another type) go; the others keep
            // their state and lose the old wiring, which the new template's replaces.
            for (const Module& m : before->graph.modules()) {
                const Module* keep = now.graph.find(m.id);
                const std::string id = prefix + m.id;
                if (keep == nullptr || keep->desc != m.desc || keep->createArg != m.createArg) {
                    if (Status s = remove(id); !s) return done(s);
                }
            }
            for (const Connection& c : before->graph.connections()) {
                const std::string src = prefix + c.src, dst = prefix + c.dst;
                if (find(src) != nullptr && find(dst) != nullptr)
                    (void)disconnect(outputRef(before->graph, c, prefix),
                                     inputRef(before->graph, c, prefix));
            }
            for (const Module* m : voiceOutputs(before->graph))
                if (find(prefix + m->id) != nullptr) (void)disconnect(prefix + m->id, fader);
        }
        for (const Module& m : now.graph.modules()) {
            const std::string id = prefix + m.id;
            if (find(id) == nullptr) {
                std::optional<float> arg;
                if (!m.desc->createArg.name.empty()) arg = m.createArg;
                if (Status s = create(id, m.desc->type, arg); !s) return done(s);
            }
            for (std::size_t i = 0; i < m.params.size(); ++i)
                if (Status s = setParam(id, m.layout->params[i].name, m.params[i]); !s)
                    return done(s);
        }
        for (const auto& [name, v] : poly.values) {
            const auto [local, param] = *splitTemplateParam(name);
            if (Status s = setParam(prefix + std::string(local), param, v); !s) return done(s);
        }
        for (const Connection& c : now.graph.connections())
            if (Status s = connect(outputRef(now.graph, c, prefix), inputRef(now.graph, c, prefix));
                !s)
                return done(s);
        for (const Module* m : voiceOutputs(now.graph))
            if (Status s = connect(prefix + m->id, fader); !s) return done(s);
    }
    return done({});
}

const PolyInfo* PatchGraph::templateParamOwner(std::string_view id, std::string_view param) const {
    if (voices_ == nullptr || !splitTemplateParam(param)) return nullptr;
    const PolyInfo* p = voices_->findPoly(id);
    return p != nullptr && p->expanded != nullptr ? p : nullptr; // null while it is being made
}

Status PatchGraph::setPolyParam(std::string_view id, std::string_view param, float value) {
    auto desc = paramDesc(id, param);
    if (!desc) return desc.error();
    if (Status s = checkParamValue(**desc, id, param, value); !s) return s;
    const PolyInfo* p = voices_->findPoly(id);
    const auto [local, name] = *splitTemplateParam(param);
    for (uint32_t k = 0; k < p->voices; ++k)
        if (Status s = setParam(voiceModuleId(id, k, local), name, value); !s) return s;
    for (const auto& [have, v] : p->values)
        if (have == param && std::bit_cast<uint32_t>(v) == std::bit_cast<uint32_t>(value))
            return {}; // the same value leaves the shared table shared
    auto table = std::make_shared<VoiceTable>(*voices_);
    for (PolyInfo& mine : table->polys) {
        if (mine.id != id) continue;
        auto it = std::find_if(mine.values.begin(), mine.values.end(),
                               [&](const auto& w) { return w.first == param; });
        if (it != mine.values.end())
            it->second = value;
        else
            mine.values.emplace_back(std::string(param), value);
    }
    voices_ = std::move(table);
    return {};
}

Status PatchGraph::removePoly(std::string_view id) {
    const PolyInfo* p = voices_->findPoly(id);
    if (p == nullptr) {
        expanding_ = true;
        Status s = remove(id);
        expanding_ = false;
        return s;
    }
    PatchGraph g = *this;
    g.expanding_ = true;
    for (uint32_t k = 0; k < p->voices; ++k) {
        for (const Module& m : p->expanded->graph.modules())
            if (Status s = g.remove(voiceModuleId(id, k, m.id)); !s) return s;
        if (Status s = g.remove(voiceId(id, k)); !s) return s;
    }
    if (Status s = g.remove(id); !s) return s;
    auto table = std::make_shared<VoiceTable>(*voices_);
    std::erase_if(table->polys, [&](const PolyInfo& q) { return q.id == id; });
    g.voices_ = std::move(table);
    g.expanding_ = false;
    *this = std::move(g);
    return {};
}

std::string PatchGraph::voicesText() const {
    if (voices_ == nullptr) return {};
    std::string out;
    for (const auto& t : voices_->templates) {
        out += fmt::format("/voice/begin {}\n", t->name);
        std::string body = t->graph.toPatchText();
        constexpr std::string_view kCommit = "/patch/commit\n";
        if (body.ends_with(kCommit)) body.resize(body.size() - kCommit.size());
        out += body;
        out += "/voice/end\n";
        for (const VoiceMap& m : t->maps) {
            out += fmt::format("/voice/map {} {} {}:{}", t->name, voiceRoleName(m.role), m.module,
                               m.param);
            if (m.explicitRange) out += fmt::format(" {} {}", m.lo, m.hi);
            out += "\n";
        }
    }
    return out;
}

} // namespace chronus

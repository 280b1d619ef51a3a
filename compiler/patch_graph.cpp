#include "compiler/patch_graph.h"

#include "modules/registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fmt/format.h>
#include <functional>
#include <unordered_map>

namespace chronus {

namespace {

std::pair<std::string_view, std::optional<std::string_view>> splitRef(std::string_view ref) {
    auto colon = ref.find(':');
    if (colon == std::string_view::npos) return {ref, std::nullopt};
    return {ref.substr(0, colon), ref.substr(colon + 1)};
}

std::string rangeText(const ParamDesc& p) {
    return fmt::format("[{}, {}]{}{}", p.minValue, p.maxValue, p.unit.empty() ? "" : " ", p.unit);
}

} // namespace

Status validateModuleId(std::string_view id) {
    if (id.empty()) return makeError("module id is empty");
    if (id.size() > 63)
        return makeError("module id '{}...' is longer than 63 characters", id.substr(0, 20));
    for (char c : id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.';
        if (!ok)
            return makeError(
                "module id '{}' has character '{}'; use letters, digits, '_', '-', '.'", id, c);
    }
    // A patch file reads a word that parses as a number as that number, and decodeCommand gives
    // whole numbers back as ids by their text ("1"). Any other id that reads as a number ("1.0",
    // "01", "-0", "1e3", "inf", "nan") would not survive /patch/dump and a replay (or a restart
    // from `serve --state`), so it is refused here, where it is made. Found by fuzz/target_osc.cpp.
    double v = 0;
    const auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), v);
    if (ec == std::errc() && end == id.data() + id.size()) {
        const bool canonical = std::isfinite(v) && v == std::floor(v) && std::fabs(v) <= 16777216 &&
                               fmt::format("{}", static_cast<long long>(v)) == id;
        if (!canonical)
            return makeError(
                "module id '{}' reads as a number that a patch file would not give back "
                "as this id; use a whole number such as '1' or a name",
                id);
    }
    return {};
}

const Module* PatchGraph::find(std::string_view id) const {
    auto it =
        std::find_if(modules_.begin(), modules_.end(), [&](const Module& m) { return m.id == id; });
    return it == modules_.end() ? nullptr : &*it;
}

std::optional<uint32_t> PatchGraph::indexOf(std::string_view id) const {
    for (size_t i = 0; i < modules_.size(); ++i)
        if (modules_[i].id == id) return static_cast<uint32_t>(i);
    return std::nullopt;
}

Status PatchGraph::create(std::string_view id, std::string_view type,
                          std::optional<float> createArg) {
    if (Status s = validateModuleId(id); !s) return s;
    const ModuleDescriptor* desc = findModule(type);
    if (desc == nullptr)
        return makeError("unknown module type '{}' (chronus modules lists them)", type);
    if (find(id) != nullptr) return makeError("module id '{}' already exists", id);
    const CreateArgDesc& ca = desc->createArg;
    float arg = ca.defaultValue;
    if (createArg) {
        if (ca.name.empty()) return makeError("{} takes no creation argument", desc->type);
        if (!std::isfinite(*createArg) || *createArg < ca.minValue || *createArg > ca.maxValue)
            return makeError("{} {} {} is outside [{}, {}]", desc->type, ca.name, *createArg,
                             ca.minValue, ca.maxValue);
        arg = *createArg;
    }
    Module m{std::string(id),
             desc,
             arg,
             std::make_shared<const ModuleLayout>(makeLayout(*desc, arg)),
             {}};
    if (m.layout->kernelInCount() > kMaxKernelValues)
        return makeError("{} with {} {} has too many ports", desc->type, ca.name, arg);
    for (const auto& p : m.layout->params) m.params.push_back(p.desc.defaultValue);
    modules_.push_back(std::move(m));
    return {};
}

Status PatchGraph::remove(std::string_view id) {
    auto idx = indexOf(id);
    if (!idx) return makeError("unknown module id '{}'", id);
    std::erase_if(connections_, [&](const Connection& c) { return c.src == id || c.dst == id; });
    modules_.erase(modules_.begin() + *idx);
    return {};
}

Expected<PatchGraph::Endpoint> PatchGraph::resolveSource(std::string_view ref) const {
    auto [id, port] = splitRef(ref);
    const Module* m = find(id);
    if (m == nullptr) return makeError("unknown module id '{}'", id);
    if (m->desc->isSink)
        return makeError("{} is an {} module: nothing can be taken from it", id, m->desc->type);
    if (m->layout->outputs.empty()) return makeError("{} ({}) has no output", id, m->desc->type);
    if (!port) return Endpoint{m, 0};
    for (uint32_t i = 0; i < m->layout->outputs.size(); ++i)
        if (m->layout->outputs[i].name == *port) return Endpoint{m, i};
    for (const auto& in : m->layout->inputs)
        if (in.name == *port) return makeError("{}:{} is an input, not an output", id, *port);
    for (const auto& p : m->layout->params)
        if (p.name == *port) return makeError("{}:{} is a parameter, not an output", id, *port);
    return makeError("{} ({}) has no port '{}'", id, m->desc->type, *port);
}

Expected<PatchGraph::Endpoint> PatchGraph::resolveDestination(std::string_view ref) const {
    auto [id, port] = splitRef(ref);
    const Module* m = find(id);
    if (m == nullptr) return makeError("unknown module id '{}'", id);
    if (!port) {
        if (m->layout->inputs.empty()) {
            std::string hint = m->layout->params.empty()
                                   ? std::string()
                                   : fmt::format("; to modulate, name a parameter, e.g. {}:{}", id,
                                                 m->layout->params[0].name);
            return makeError("{} ({}) has no audio input{}", id, m->desc->type, hint);
        }
        return Endpoint{m, 0};
    }
    for (uint32_t i = 0; i < m->layout->inputs.size(); ++i)
        if (m->layout->inputs[i].name == *port) return Endpoint{m, i};
    for (uint32_t i = 0; i < m->layout->params.size(); ++i)
        if (m->layout->params[i].name == *port)
            return Endpoint{m, static_cast<uint32_t>(m->layout->inputs.size()) + i};
    for (const auto& o : m->layout->outputs)
        if (o.name == *port)
            return makeError("cannot connect to an output: {}:{} is an output", id, *port);
    return makeError("{} ({}) has no input or parameter '{}'", id, m->desc->type, *port);
}

Status PatchGraph::connect(std::string_view src, std::string_view dst) {
    auto s = resolveSource(src);
    if (!s) return s.error();
    auto d = resolveDestination(dst);
    if (!d) return d.error();
    Connection c{s->module->id, s->index, d->module->id, d->index};
    if (std::find(connections_.begin(), connections_.end(), c) != connections_.end())
        return makeError("{} is already connected to {}", src, dst);
    connections_.push_back(c);
    if (auto cycle = findInstantCycle()) {
        connections_.pop_back();
        std::string path;
        for (const auto& step : *cycle) path += step + " -> ";
        path += cycle->front();
        return makeError("connecting {} to {} closes the loop {} without a one-sample delay; "
                         "route feedback through z1 or delay:wet",
                         src, dst, path);
    }
    return {};
}

Status PatchGraph::disconnect(std::string_view src, std::string_view dst) {
    auto s = resolveSource(src);
    if (!s) return s.error();
    auto d = resolveDestination(dst);
    if (!d) return d.error();
    Connection c{s->module->id, s->index, d->module->id, d->index};
    auto it = std::find(connections_.begin(), connections_.end(), c);
    if (it == connections_.end()) return makeError("{} is not connected to {}", src, dst);
    connections_.erase(it);
    return {};
}

Status PatchGraph::setParam(std::string_view id, std::string_view param, float value) {
    auto idx = indexOf(id);
    if (!idx) return makeError("unknown module id '{}'", id);
    Module& m = modules_[*idx];
    for (size_t i = 0; i < m.layout->params.size(); ++i) {
        const auto& p = m.layout->params[i];
        if (p.name != param) continue;
        if (!std::isfinite(value))
            return makeError("{}:{} must be finite, got {}", id, param, value);
        if (value < p.desc.minValue || value > p.desc.maxValue)
            return makeError("{}:{} = {} is outside {}", id, param, value, rangeText(p.desc));
        if (!p.desc.choices.empty() && value != std::floor(value))
            return makeError("{}:{} takes a whole number (0..{}), got {}", id, param,
                             p.desc.choices.size() - 1, value);
        m.params[i] = value;
        return {};
    }
    return makeError("{} ({}) has no parameter '{}'", id, m.desc->type, param);
}

Expected<uint32_t> PatchGraph::paramIndex(std::string_view id, std::string_view param) const {
    const Module* m = find(id);
    if (m == nullptr) return makeError("unknown module id '{}'", id);
    for (size_t i = 0; i < m->layout->params.size(); ++i)
        if (m->layout->params[i].name == param) return static_cast<uint32_t>(i);
    return makeError("{} ({}) has no parameter '{}'", id, m->desc->type, param);
}

Status PatchGraph::setParamChoice(std::string_view id, std::string_view param,
                                  std::string_view choice) {
    auto idx = paramIndex(id, param);
    if (!idx) return idx.error();
    const ParamDesc& d = find(id)->layout->params[*idx].desc;
    if (d.choices.empty()) return makeError("{}:{} takes a number, got '{}'", id, param, choice);
    std::string names;
    for (size_t i = 0; i < d.choices.size(); ++i) {
        if (d.choices[i] == choice) return setParam(id, param, static_cast<float>(i));
        names += (i ? ", " : "") + std::string(d.choices[i]);
    }
    return makeError("{}:{} has no choice '{}' ({})", id, param, choice, names);
}

std::string PatchGraph::slotName(const Module& m, uint32_t slot) {
    if (slot < m.layout->inputs.size()) return m.id + ":" + m.layout->inputs[slot].name;
    return m.id + ":" + m.layout->params[slot - m.layout->inputs.size()].name;
}

std::optional<std::vector<std::string>> PatchGraph::findInstantCycle() const {
    // Edges leaving a delayed output do not count: the loop closes a sample later there.
    // Called on every connect: one id -> index map keeps building a large patch near-linear.
    const size_t n = modules_.size();
    std::unordered_map<std::string_view, uint32_t> index;
    index.reserve(n);
    for (uint32_t i = 0; i < n; ++i) index.emplace(modules_[i].id, i);
    std::vector<std::vector<uint32_t>> adj(n);
    for (const Connection& c : connections_) {
        const uint32_t s = index.at(c.src);
        if (modules_[s].layout->outputs[c.srcPort].delayed) continue;
        adj[s].push_back(index.at(c.dst));
    }
    enum : uint8_t { kWhite, kGrey, kBlack };
    std::vector<uint8_t> colour(n, kWhite);
    std::vector<uint32_t> stack;
    std::optional<std::vector<std::string>> found;
    std::function<bool(uint32_t)> visit = [&](uint32_t u) {
        colour[u] = kGrey;
        stack.push_back(u);
        for (uint32_t v : adj[u]) {
            if (colour[v] == kGrey) {
                auto from = std::find(stack.begin(), stack.end(), v);
                found.emplace();
                for (auto it = from; it != stack.end(); ++it) found->push_back(modules_[*it].id);
                return true;
            }
            if (colour[v] == kWhite && visit(v)) return true;
        }
        stack.pop_back();
        colour[u] = kBlack;
        return false;
    };
    for (uint32_t u = 0; u < n; ++u)
        if (colour[u] == kWhite && visit(u)) return found;
    return std::nullopt;
}

std::string PatchGraph::toPatchText() const {
    std::string out;
    for (const Module& m : modules_) {
        if (m.desc->createArg.name.empty())
            out += fmt::format("/patch/create {} {}\n", m.id, m.desc->type);
        else
            out += fmt::format("/patch/create {} {} {}\n", m.id, m.desc->type, m.createArg);
    }
    for (const Module& m : modules_)
        for (size_t i = 0; i < m.params.size(); ++i) {
            const ModuleLayout::Param& p = m.layout->params[i];
            const float v = m.params[i];
            if (v == p.desc.defaultValue) continue;
            // As a person writes them: a choice by its name, a gate as /gate.
            const auto choices = p.desc.choices.size();
            if (v >= 0 && v < float(choices) && v == std::floor(v))
                out += fmt::format("/mod/{}/{} {}\n", m.id, p.name,
                                   p.desc.choices[static_cast<size_t>(v)]);
            else if (p.name == "gate" && (v == 0 || v == 1))
                out += fmt::format("/gate/{} {}\n", m.id, v);
            else
                out += fmt::format("/mod/{}/{} {}\n", m.id, p.name, v);
        }
    for (const Connection& c : connections_) {
        const Module& s = *find(c.src);
        const Module& d = *find(c.dst);
        out += fmt::format("/patch/connect {}:{} {}\n", c.src, s.layout->outputs[c.srcPort].name,
                           slotName(d, c.dstSlot));
    }
    // Rendered or served, the text plays the patch: without a commit nothing would be heard.
    if (!modules_.empty()) out += "/patch/commit\n";
    return out;
}

} // namespace chronus

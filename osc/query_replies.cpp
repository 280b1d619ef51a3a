#include "osc/query_replies.h"

#include <fmt/format.h>

namespace chronus::osc {

std::optional<std::pair<std::string, std::string>> modAddress(const std::string& address) {
    if (!address.starts_with("/mod/")) return std::nullopt;
    const std::string rest = address.substr(5);
    const auto slash = rest.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == rest.size() ||
        rest.find('/', slash + 1) != std::string::npos)
        return std::nullopt;
    return std::pair{rest.substr(0, slash), rest.substr(slash + 1)};
}

bool isQueryMessage(const InMessage& m) {
    if (m.address == "/patch/list" || m.address == "/modules") return true;
    return m.args.empty() && modAddress(m.address).has_value();
}

std::vector<OscValue> readBackArgs(const ParamReading& r) {
    if (!r.choice.empty()) return {r.choice};
    return {r.value};
}

Expected<ListedPatch> listedPatch(const std::vector<PatchArg>& args) {
    if (args.empty()) return ListedPatch::playing;
    const auto* word = args.size() == 1 ? std::get_if<std::string>(&args[0]) : nullptr;
    if (word != nullptr && *word == "playing") return ListedPatch::playing;
    if (word != nullptr && *word == "pending") return ListedPatch::pending;
    if (args.size() > 1)
        return makeError("takes at most one argument (playing or pending), got {}", args.size());
    const std::string got = word != nullptr ? *word : fmt::format("{}", std::get<float>(args[0]));
    return makeError("takes playing (the default: the commit that plays) or pending (with the "
                     "edits since), got '{}'",
                     got);
}

const char* listedPatchName(ListedPatch which) {
    return which == ListedPatch::pending ? "pending" : "playing";
}

std::string listingText(const PatchListing& listing) {
    std::string out;
    for (const PatchListing::Module& m : listing.modules) {
        if (m.createArg)
            out += fmt::format("/patch/create {} {} {}\n", m.id, m.type, *m.createArg);
        else
            out += fmt::format("/patch/create {} {}\n", m.id, m.type);
    }
    for (const PatchListing::Connection& c : listing.connections)
        out += fmt::format("/patch/connect {} {}\n", c.src, c.dst);
    return out;
}

namespace {

std::string paramFields(const ModuleParamInfo& p) {
    return fmt::format("{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}", p.name, p.defaultValue, p.minValue,
                       p.maxValue, p.unit, p.smoothed ? 1 : 0, p.clickSafe ? 1 : 0,
                       fmt::join(p.choices, ","));
}

} // namespace

std::string moduleTableText(const std::vector<ModuleTypeInfo>& table) {
    std::string out;
    for (const ModuleTypeInfo& t : table) {
        out += fmt::format("type\t{}\t{}\t{}\n", t.type, t.summary, fmt::join(t.aliases, ","));
        if (!t.createArg.name.empty())
            out += fmt::format("create\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n", t.type, t.createArg.name,
                               t.createArg.defaultValue, t.createArg.minValue, t.createArg.maxValue,
                               t.createArg.unit, t.createArgWhole ? 1 : 0);
        for (const ModulePortInfo& p : t.inputs)
            out += fmt::format("input\t{}\t{}\t{}\n", t.type, p.name, p.unconnectedValue);
        for (const ModulePortInfo& p : t.outputs)
            out += fmt::format("output\t{}\t{}\t{}\n", t.type, p.name, p.delayed ? 1 : 0);
        for (const ModuleParamInfo& p : t.params)
            out += fmt::format("param\t{}\t{}\n", t.type, paramFields(p));
        if (!t.variadicInput.empty())
            out += fmt::format("variadic\t{}\t{}\t{}\n", t.type, t.variadicInput,
                               paramFields(t.variadicParam));
    }
    return out;
}

} // namespace chronus::osc

#include "runtime/param_keys.h"

namespace chronus {

std::string ParamKeys::joined(std::string_view id, std::string_view param) {
    std::string k;
    k.reserve(id.size() + param.size() + 1);
    k.append(id).push_back('\n'); // a character no id or parameter name can hold
    k.append(param);
    return k;
}

uint32_t ParamKeys::intern(std::string_view id, std::string_view param) {
    auto [it, added] = byName_.try_emplace(joined(id, param), size());
    if (added) names_.emplace_back(std::string(id), std::string(param));
    return it->second;
}

std::optional<uint32_t> ParamKeys::find(std::string_view id, std::string_view param) const {
    auto it = byName_.find(joined(id, param));
    if (it == byName_.end()) return std::nullopt;
    return it->second;
}

} // namespace chronus

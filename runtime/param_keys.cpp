#include "runtime/param_keys.h"

#include <algorithm>
#include <array>

namespace chronus {

namespace {
constexpr char kSeparator = '\n'; // a character no id or parameter name can hold
} // namespace

std::string ParamKeys::joined(std::string_view id, std::string_view param) {
    std::string k;
    k.reserve(id.size() + param.size() + 1);
    k.append(id).push_back(kSeparator);
    k.append(param);
    return k;
}

uint32_t ParamKeys::intern(std::string_view id, std::string_view param) {
    // Every commit interns every parameter of its patch, nearly all of them known already: look
    // first, without building the joined string (thousands of allocations at 256 voices).
    if (auto known = find(id, param)) return *known;
    const uint32_t key = size();
    byName_.emplace(joined(id, param), key);
    names_.emplace_back(std::string(id), std::string(param));
    return key;
}

std::optional<uint32_t> ParamKeys::find(std::string_view id, std::string_view param) const {
    std::array<char, 192> buffer; // ids are at most 63 characters
    const std::size_t n = id.size() + 1 + param.size();
    std::string long_;
    std::string_view key;
    if (n <= buffer.size()) {
        char* end = std::copy(id.begin(), id.end(), buffer.data());
        *end++ = kSeparator;
        std::copy(param.begin(), param.end(), end);
        key = std::string_view(buffer.data(), n);
    } else {
        long_ = joined(id, param);
        key = long_;
    }
    auto it = byName_.find(key);
    if (it == byName_.end()) return std::nullopt;
    return it->second;
}

} // namespace chronus

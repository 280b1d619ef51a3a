// Parameter keys: each (module id, parameter name) ever used gets a small integer, so the audio
// thread can find a parameter in whichever slot is playing with one table look-up, no strings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chronus {

class ParamKeys {
public:
    /// Control side (under the engine's control mutex): the key of id:param, made on first use.
    uint32_t intern(std::string_view id, std::string_view param);
    std::optional<uint32_t> find(std::string_view id, std::string_view param) const;
    const std::string& id(uint32_t key) const { return names_[key].first; }
    const std::string& param(uint32_t key) const { return names_[key].second; }
    uint32_t size() const { return static_cast<uint32_t>(names_.size()); }

private:
    static std::string joined(std::string_view id, std::string_view param);
    std::unordered_map<std::string, uint32_t> byName_;
    std::vector<std::pair<std::string, std::string>> names_;
};

} // namespace chronus

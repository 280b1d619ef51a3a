// Parameter keys: each (module id, parameter name) ever used gets a small integer, so the audio
// thread can find a parameter in whichever slot is playing with one table look-up, no strings.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chronus {

class ParamKeys {
public:
    /// Control side (under the owner's lock, ParamStore's in the engine): the key of id:param,
    /// made on first use.
    uint32_t intern(std::string_view id, std::string_view param);
    /// The key of id:param if it has one; allocates nothing for names of ordinary length (a
    /// parameter write looks its key up every time).
    std::optional<uint32_t> find(std::string_view id, std::string_view param) const;
    const std::string& id(uint32_t key) const { return names_[key].first; }
    const std::string& param(uint32_t key) const { return names_[key].second; }
    uint32_t size() const { return static_cast<uint32_t>(names_.size()); }

private:
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    static std::string joined(std::string_view id, std::string_view param);
    std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>> byName_;
    std::vector<std::pair<std::string, std::string>> names_;
};

} // namespace chronus

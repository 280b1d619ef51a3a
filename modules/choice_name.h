// A choice parameter's value by name, as OSC and patch files write it (`/mod/f1/mode hp`).
#pragma once

#include "modules/descriptor.h"

#include <cstddef>
#include <string_view>

namespace chronus {

/// The value of `d`'s choice named `word`, in any letter case (`HP` is `hp`: nobody should have
/// to remember how a mode is capitalised); -1 if there is none.
inline int choiceIndex(const ParamDesc& d, std::string_view word) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    for (std::size_t i = 0; i < d.choices.size(); ++i) {
        const std::string_view c = d.choices[i];
        bool same = c.size() == word.size();
        for (std::size_t k = 0; same && k < c.size(); ++k) same = lower(c[k]) == lower(word[k]);
        if (same) return static_cast<int>(i);
    }
    return -1;
}

} // namespace chronus

#include "compiler/param_check.h"

#include "compiler/did_you_mean.h"
#include "modules/choice_name.h"

#include <cmath>
#include <fmt/format.h>
#include <string>

namespace chronus {

Status checkParamValue(const ParamDesc& desc, std::string_view id, std::string_view param,
                       float value) {
    if (!std::isfinite(value)) return makeError("{}:{} must be finite, got {}", id, param, value);
    if (value < desc.minValue || value > desc.maxValue)
        return makeError("{}:{} = {} is outside [{}, {}]{}{}", id, param, value, desc.minValue,
                         desc.maxValue, desc.unit.empty() ? "" : " ", desc.unit);
    if (!desc.choices.empty() && value != std::floor(value))
        return makeError("{}:{} takes a whole number (0..{}), got {}", id, param,
                         desc.choices.size() - 1, value);
    return {};
}

Expected<float> choiceValue(const ParamDesc& desc, std::string_view id, std::string_view param,
                            std::string_view choice) {
    if (desc.choices.empty()) return makeError("{}:{} takes a number, got '{}'", id, param, choice);
    // Any letter case (`HP` is `hp`).
    if (const int i = choiceIndex(desc, choice); i >= 0) return static_cast<float>(i);
    std::string names;
    for (std::size_t i = 0; i < desc.choices.size(); ++i)
        names += (i ? ", " : "") + std::string(desc.choices[i]);
    const std::vector<std::string_view> options(desc.choices.begin(), desc.choices.end());
    return makeError("{}:{} has no choice '{}'{} ({})", id, param, choice,
                     didYouMean(choice, options), names);
}

} // namespace chronus

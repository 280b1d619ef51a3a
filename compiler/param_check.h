// The one check of a parameter value against its descriptor: finite, inside the range, a whole
// number for a choice, and choice names. The patch graph (edits, patch files) and the engine's
// parameter store (live writes) both call these, so a refusal reads the same whichever made it.
#pragma once

#include "base/expected.h"
#include "modules/descriptor.h"

#include <string_view>

namespace chronus {

/// `value` for parameter `param` of module `id`, described by `desc`: ok, or why not.
Status checkParamValue(const ParamDesc& desc, std::string_view id, std::string_view param,
                       float value);

/// The number that choice `choice` of `param` stands for (its index), or why there is none:
/// the parameter takes numbers, or has no such choice (the error lists the names it has).
Expected<float> choiceValue(const ParamDesc& desc, std::string_view id, std::string_view param,
                            std::string_view choice);

} // namespace chronus

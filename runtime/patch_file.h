// Patch files: the OSC messages of a session as text, one per line, `#` comments, an optional
// leading time (`@2.5 /gate/env1 0`) in seconds. Parsing only; applying is the caller's job.
#pragma once

#include "base/expected.h"

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace chronus {

/// One OSC argument as written: a number if it parses as one, else a string.
using PatchArg = std::variant<float, std::string>;

struct PatchLine {
    int line = 0;               ///< 1-based, for error messages
    std::optional<double> time; ///< seconds, from `@t`
    std::string address;        ///< `/patch/create`, `/mod/osc1/freq`, ...
    std::vector<PatchArg> args;
};

/// Splits `text` into lines; errors name the line ("line 3: ...").
Expected<std::vector<PatchLine>> parsePatchText(std::string_view text);
Expected<std::vector<PatchLine>> readPatchFile(const std::string& path);

/// `line 3: <message>`
Error lineError(const PatchLine& line, const Error& e);

} // namespace chronus

// Patch files: the OSC messages of a session as text, one per line, `#` comments, an optional
// leading time (`@2.5 /gate/env1 0`) in seconds. Parsing only; checking and applying a file is the
// patch player's job (patch_player.h, with the rule every entry point follows).
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

/// A number read from a file or an OSC message as the float a PatchArg holds, or why it cannot
/// be one: a whole number a float does not hold exactly (beyond 2^24 = 16777216, e.g. a seed of
/// 16777217) is refused rather than stored as another one; other numbers round as floats do.
Expected<float> patchNumber(double v);

/// `text` fit to quote in an error printed on a terminal: bytes that are not printable ASCII as
/// `\xNN`, and at most `maxBytes` of it (then `...`). Patch-file and state-file errors quote
/// what the file holds through this, as OSC errors do.
std::string printable(std::string_view text, std::size_t maxBytes = 512);

struct PatchLine {
    int line = 0;               ///< 1-based, for error messages
    std::optional<double> time; ///< seconds, from `@t`
    std::string address;        ///< `/patch/create`, `/mod/osc1/freq`, ...
    std::vector<PatchArg> args;
};

/// Splits `text` into lines; errors name the line: `SOURCE:3: ...` (a file's name), or `line 3:
/// ...` when `source` is empty.
Expected<std::vector<PatchLine>> parsePatchText(std::string_view text,
                                                std::string_view source = {});
/// The lines of the file at `path`; errors `PATH:3: ...`.
Expected<std::vector<PatchLine>> readPatchFile(const std::string& path);

/// `SOURCE:3: <message>`, or `line 3: <message>` when `source` is empty: how every error about a
/// line of a patch file is written.
Error lineError(std::string_view source, int line, const Error& e);
/// `line 3: <message>`
Error lineError(const PatchLine& line, const Error& e);

} // namespace chronus

// "Did you mean": the closest known name to a misspelt one, for the refusals users read.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace chronus {

/// " (did you mean 'freq'?)" for the closest of `names` to a misspelt `word`, or "" when none is
/// close (at most two edits, and at most half the word). Defined in patch_graph.cpp.
std::string didYouMean(std::string_view word, const std::vector<std::string_view>& names);

} // namespace chronus

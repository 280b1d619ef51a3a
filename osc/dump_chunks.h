// /patch/dump replies: the committed patch as patch-file text, cut into chunks that each fit a
// datagram comfortably. Every reply is `/patch/dump index count text` (int32, int32, string;
// index from 0); a client concatenates the texts in index order. Chunks end at line boundaries
// unless a single line is longer than a chunk. An empty patch is one reply with empty text.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace chronus::osc {

std::vector<std::string> splitDump(std::string_view text, std::size_t chunkBytes);

} // namespace chronus::osc

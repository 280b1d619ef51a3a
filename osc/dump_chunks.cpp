#include "osc/dump_chunks.h"

namespace chronus::osc {

std::vector<std::string> splitDump(std::string_view text, std::size_t chunkBytes) {
    std::vector<std::string> chunks;
    if (chunkBytes == 0) chunkBytes = 1;
    while (!text.empty()) {
        std::size_t take = text.size();
        if (take > chunkBytes) {
            // The last line end inside the chunk, else a hard cut.
            const std::size_t nl = text.substr(0, chunkBytes).rfind('\n');
            take = nl == std::string_view::npos ? chunkBytes : nl + 1;
        }
        chunks.emplace_back(text.substr(0, take));
        text.remove_prefix(take);
    }
    if (chunks.empty()) chunks.emplace_back();
    return chunks;
}

} // namespace chronus::osc

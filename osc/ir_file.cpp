#include "osc/ir_file.h"

#include <filesystem>
#include <fstream>
#include <system_error>

namespace chronus::osc {

std::string irFileName(uint64_t seq, const std::string& stage) {
    const std::string s = stage.empty() ? "optimized" : stage;
    return fmt::format("commit-{}-{}.{}", seq, s, s == "asm" ? "s" : "ll");
}

Expected<std::string> writeIrFile(const std::string& dir, uint64_t seq, const std::string& stage,
                                  const std::string& text) {
    namespace fs = std::filesystem;
    if (stage != "" && stage != "lowered" && stage != "optimized" && stage != "asm")
        return makeError("unknown IR stage '{}'", stage);
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        return makeError("the IR directory '{}' does not exist or is not a directory", dir);
    const fs::path path = fs::path(dir) / irFileName(seq, stage);
    fs::path tmp = path;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) return makeError("cannot write '{}'", tmp.string());
        out.write(text.data(), static_cast<std::streamsize>(text.size()));
        out.close();
        if (!out) return makeError("cannot write '{}'", tmp.string());
    }
    fs::rename(tmp, path, ec);
    if (ec) {
        fs::remove(tmp, ec);
        return makeError("cannot write '{}': {}", path.string(), ec.message());
    }
    return path.string();
}

} // namespace chronus::osc

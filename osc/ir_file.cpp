#include "osc/ir_file.h"

#include "runtime/atomic_file.h"

#include <filesystem>
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
    // A fresh temporary file (never one planted there) renamed over the name: a symlink in the
    // directory is replaced, never written through.
    if (Status s = writeFileAtomically(path.string(), text); !s) return s.error();
    return path.string();
}

} // namespace chronus::osc

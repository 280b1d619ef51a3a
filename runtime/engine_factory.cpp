#include "runtime/engine_factory.h"

#include "compiler/jit/jit.h"
#include "compiler/program_factory.h"

#include <cstdlib>

namespace chronus {

std::string_view defaultEngineName() {
    return "jit";
}

Expected<ProgramFactory> engineFactory(std::string_view name, bool tiered) {
    if (!name.empty()) return programFactory(name, 2, tiered);
    // The default: the JIT, or the interpreter where the JIT cannot start on this machine.
    auto jit = programFactory(defaultEngineName(), 2, tiered);
    return jit ? jit : programFactory("interp");
}

namespace {

std::string envText(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr ? std::string(v) : std::string();
}

} // namespace

Expected<CodeCacheChoice> configureCodeCache(const CodeCacheRequest& request) {
    CodeCacheChoice choice;
    const std::string env = envText("CHRONUS_CACHE");
    if (request.off || env == "0" || env == "off" || env == "no" || env == "false") {
        if (Status s = setDiskCache({}); !s) return s.error();
        return choice;
    }
    std::string dir = request.directory;
    if (dir.empty()) dir = envText("CHRONUS_CACHE_DIR");
    const bool named = !dir.empty();
    if (!named) dir = defaultDiskCacheDirectory();
    if (dir.empty()) {
        choice.warning = "no code cache: neither XDG_CACHE_HOME nor HOME is set";
        return choice;
    }
    if (Status s = setDiskCache({dir, request.maxBytes}); !s) {
        if (named) return s.error();
        choice.warning = s.message() + "; no code cache";
        return choice;
    }
    choice.directory = dir;
    return choice;
}

} // namespace chronus

// Which compiler a commit uses: the JIT where it is built, else the interpreter; and where the
// JIT keeps its code between processes.
#pragma once

#include "base/expected.h"
#include "compiler/program.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace chronus {

/// "jit": the default engine.
std::string_view defaultEngineName();

/// The factory for `name` ("jit" or "interp"); empty: the JIT, or the interpreter where the JIT
/// cannot start on this machine. `tiered`: JIT programs come quickly compiled first, with their
/// fully optimised version as their next tier (EngineOptions::tiered swaps it in).
Expected<ProgramFactory> engineFactory(std::string_view name, bool tiered = true);

/// The code cache on disk as a command asks for it (`--cache-dir`, `--no-cache`,
/// `--cache-max-mb`), before the environment: CHRONUS_CACHE=0 turns it off, CHRONUS_CACHE_DIR
/// names the directory; by default $XDG_CACHE_HOME/chronus (else ~/.cache/chronus).
struct CodeCacheRequest {
    std::string directory; ///< empty: CHRONUS_CACHE_DIR, else the default
    bool off = false;
    uint64_t maxBytes = uint64_t{256} << 20;
};
struct CodeCacheChoice {
    std::string directory; ///< in use; empty: off
    std::string warning;   ///< why the default directory could not be used (then off)
};
/// Sets the process's code cache (setDiskCache, compiler/jit/jit.h). A directory named by the
/// command or the environment that cannot be used is an error; the default one, a warning.
Expected<CodeCacheChoice> configureCodeCache(const CodeCacheRequest& request);

} // namespace chronus

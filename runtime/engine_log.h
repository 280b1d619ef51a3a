// The engine's verbose log (EngineOptions::verbose, CHRONUS_VERBOSE=1), shared by its parts. Never
// called from the audio thread: it formats and writes to stderr.
#pragma once

#include <cstdio>
#include <fmt/format.h>
#include <utility>

namespace chronus {

class EngineLog {
public:
    explicit EngineLog(bool verbose) : verbose_(verbose) {}

    /// Control side: one "[engine] ..." line on stderr when verbose.
    template <class... Args>
    void operator()(fmt::format_string<Args...> f, Args&&... args) const {
        if (verbose_)
            fmt::print(stderr, "[engine] {}\n", fmt::format(f, std::forward<Args>(args)...));
    }

private:
    bool verbose_;
};

} // namespace chronus

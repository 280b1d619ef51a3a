// What every command does when it stops on an error, and the one switch for its extra output.
#pragma once

#include <cstdlib>
#include <fmt/format.h>
#include <string>
#include <string_view>

namespace chronus::cli {

/// Prints "chronus COMMAND: MESSAGE" on stderr; returns the exit status of a failed command (1).
inline int failCommand(std::string_view command, const std::string& message) {
    fmt::print(stderr, "chronus {}: {}\n", command, message);
    return 1;
}

/// CHRONUS_VERBOSE set to anything but "" or "0": commands print what they would keep quiet.
inline bool verboseFromEnv() {
    const char* v = std::getenv("CHRONUS_VERBOSE");
    return v != nullptr && *v != '\0' && std::string_view(v) != "0";
}

} // namespace chronus::cli

#include "osc/server_messages.h"

#include <cmath>
#include <string_view>

#ifndef CHRONUS_VERSION
#define CHRONUS_VERSION "0.0.0"
#endif

namespace chronus::osc {

bool isServerMessage(const std::string& address) {
    return address == "/version" || address == "/status" || address == "/sync" ||
           address == "/notify";
}

std::vector<OscValue> versionReply() {
    // "0.1.0" -> 0, 1, ".0"
    const std::string_view v = CHRONUS_VERSION;
    const auto dot1 = v.find('.');
    const auto dot2 = dot1 == std::string_view::npos ? dot1 : v.find('.', dot1 + 1);
    auto number = [](std::string_view s) {
        int32_t n = 0;
        for (char c : s) {
            if (c < '0' || c > '9') break;
            n = n * 10 + (c - '0');
        }
        return n;
    };
    const int32_t major = number(v.substr(0, dot1));
    const int32_t minor = dot1 == std::string_view::npos ? 0 : number(v.substr(dot1 + 1));
    const std::string patch = dot2 == std::string_view::npos ? "" : std::string(v.substr(dot2));
    return {std::string("chronus"), major, minor, patch, std::string(), std::string()};
}

std::vector<OscValue> statusReply(const EngineStatus& st, int32_t modulesPlaying) {
    const double rate = st.sampleRate;
    return {int32_t{1},
            modulesPlaying,
            int32_t{st.activeSeq > 0 ? 1 : 0},
            int32_t{0},
            int32_t{0},
            static_cast<float>(st.loadP50 * 100),
            static_cast<float>(st.loadMax * 100),
            rate,
            rate};
}

int32_t countModules(const std::string& patchText) {
    int32_t n = 0;
    std::string_view rest = patchText;
    while (!rest.empty()) {
        const auto end = rest.find('\n');
        if (rest.starts_with("/patch/create ")) ++n;
        if (end == std::string_view::npos) break;
        rest.remove_prefix(end + 1);
    }
    return n;
}

std::optional<int32_t> syncId(const std::vector<PatchArg>& args) {
    if (args.size() != 1) return std::nullopt;
    const auto* f = std::get_if<float>(&args[0]);
    if (f == nullptr || *f != std::floor(*f) || std::fabs(*f) > 2147483520.0f) return std::nullopt;
    return static_cast<int32_t>(*f);
}

} // namespace chronus::osc

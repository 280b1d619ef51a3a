#include "osc/status_reply.h"

#include <cmath>
#include <fmt/format.h>

namespace chronus::osc {

std::vector<OscValue> encodeStatus(const EngineStatus& st) {
    return {st.sampleRate,
            saturate32(st.frames),
            saturate32(st.activeSeq),
            saturate32(st.callbacks),
            saturate32(st.xruns),
            static_cast<float>(st.loadP50),
            static_cast<float>(st.loadP99),
            saturate32(st.commits),
            saturate32(st.failures),
            saturate32(st.overruns),
            static_cast<float>(st.loadMax),
            static_cast<int64_t>(st.samplePosition),
            saturate32(st.guardTrips),
            st.guardCause.empty() ? std::string("none") : st.guardCause};
}

Expected<EngineStatus> decodeStatus(const OscMessage& reply) {
    if (reply.address != "/engine/status")
        return makeError("expected /engine/status, got {}", reply.address);
    // The first twelve are required; the guard's two came later and are read when present.
    constexpr std::size_t kRequired = 12;
    if (reply.args.size() < kRequired)
        return makeError("/engine/status has {} arguments, expected {}", reply.args.size(),
                         kStatusFields.size());
    std::array<double, kStatusNumbers> v{};
    for (std::size_t i = 0; i < v.size() && i < reply.args.size(); ++i) {
        auto n = reply.number(i);
        if (!n)
            return makeError("/engine/status argument {} ({}) is not a number", i + 1,
                             kStatusFields[i]);
        v[i] = *n;
    }
    auto count = [](double x) { return x > 0 ? static_cast<uint64_t>(x) : uint64_t{0}; };
    EngineStatus st;
    st.sampleRate = static_cast<float>(v[0]);
    st.frames = static_cast<uint32_t>(count(v[1]));
    st.activeSeq = count(v[2]);
    st.callbacks = count(v[3]);
    st.xruns = count(v[4]);
    st.loadP50 = v[5];
    st.loadP99 = v[6];
    st.commits = count(v[7]);
    st.failures = count(v[8]);
    st.overruns = count(v[9]);
    st.loadMax = v[10];
    st.samplePosition = count(v[11]);
    st.guardTrips = count(v[12]);
    if (reply.args.size() > kStatusNumbers)
        if (const auto* cause = std::get_if<std::string>(&reply.args[kStatusNumbers]))
            st.guardCause = *cause == "none" ? std::string() : *cause;
    return st;
}

std::string statusText(const OscMessage& reply) {
    std::string out;
    for (std::size_t i = 0; i < reply.args.size(); ++i) {
        if (i > 0) out += ", ";
        const char* name = i < kStatusFields.size() ? kStatusFields[i] : "?";
        out += name;
        out += ' ';
        out += std::visit(
            [](const auto& x) -> std::string {
                using T = std::decay_t<decltype(x)>;
                if constexpr (std::is_same_v<T, std::string>)
                    return x;
                else if constexpr (std::is_floating_point_v<T>)
                    return x == std::floor(x) && std::fabs(x) < 1e9
                               ? fmt::format("{}", static_cast<int64_t>(x))
                               : fmt::format("{:.4g}", x);
                else
                    return fmt::format("{}", x);
            },
            reply.args[i]);
    }
    return out;
}

} // namespace chronus::osc

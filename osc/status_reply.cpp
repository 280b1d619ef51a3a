#include "osc/status_reply.h"

#include <cmath>
#include <fmt/format.h>

namespace chronus::osc {

std::vector<OscValue> encodeStatus(const EngineStatus& st) {
    const std::array<OscValue, kStatusFields.size()> values = {
        st.sampleRate,
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
    std::vector<OscValue> args;
    args.reserve(2 * values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
        args.emplace_back(std::string(kStatusFields[i]));
        args.push_back(values[i]);
    }
    return args;
}

namespace {

/// The field a name stands for, or kStatusFields.size().
std::size_t fieldIndex(const std::string& name) {
    for (std::size_t i = 0; i < kStatusFields.size(); ++i)
        if (name == kStatusFields[i]) return i;
    return kStatusFields.size();
}

bool labelled(const OscMessage& reply) {
    return !reply.args.empty() && std::holds_alternative<std::string>(reply.args[0]);
}

std::string valueText(const OscValue& v) {
    return std::visit(
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
        v);
}

} // namespace

Expected<EngineStatus> decodeStatus(const OscMessage& reply) {
    if (reply.address != "/engine/status")
        return makeError("expected /engine/status, got {}", reply.address);
    std::array<double, kStatusNumbers> v{};
    std::string cause;
    if (labelled(reply)) {
        if (reply.args.size() % 2 != 0)
            return makeError("/engine/status has {} arguments: not name/value pairs",
                             reply.args.size());
        for (std::size_t i = 0; i < reply.args.size(); i += 2) {
            const auto* name = std::get_if<std::string>(&reply.args[i]);
            if (name == nullptr)
                return makeError("/engine/status argument {} is not a field name", i + 1);
            const std::size_t field = fieldIndex(*name);
            if (field == kStatusNumbers) {
                if (const auto* c = std::get_if<std::string>(&reply.args[i + 1])) cause = *c;
                continue;
            }
            if (field > kStatusNumbers) continue; // a newer server's field
            auto n = reply.number(i + 1);
            if (!n) return makeError("/engine/status field {} is not a number", *name);
            v[field] = *n;
        }
    } else {
        // An older server: the values alone, in order; the first twelve required, the guard's
        // two read when present.
        constexpr std::size_t kRequired = 12;
        if (reply.args.size() < kRequired)
            return makeError("/engine/status has {} arguments, expected {} name/value pairs",
                             reply.args.size(), kStatusFields.size());
        for (std::size_t i = 0; i < v.size() && i < reply.args.size(); ++i) {
            auto n = reply.number(i);
            if (!n)
                return makeError("/engine/status argument {} ({}) is not a number", i + 1,
                                 kStatusFields[i]);
            v[i] = *n;
        }
        if (reply.args.size() > kStatusNumbers)
            if (const auto* c = std::get_if<std::string>(&reply.args[kStatusNumbers])) cause = *c;
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
    st.guardCause = cause == "none" ? std::string() : cause;
    return st;
}

std::string statusText(const OscMessage& reply) {
    std::string out;
    const bool pairs = labelled(reply);
    const std::size_t step = pairs ? 2 : 1;
    for (std::size_t i = 0; i < reply.args.size(); i += step) {
        if (i > 0) out += ", ";
        if (pairs) {
            out += valueText(reply.args[i]);
            out += ' ';
            out += i + 1 < reply.args.size() ? valueText(reply.args[i + 1]) : "?";
        } else {
            out += i < kStatusFields.size() ? kStatusFields[i] : "?";
            out += ' ';
            out += valueText(reply.args[i]);
        }
    }
    return out;
}

} // namespace chronus::osc

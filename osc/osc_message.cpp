#include "osc/osc_message.h"

#include "osc/osc_args.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <lo/lo.h>
#include <memory>

namespace chronus::osc {

std::optional<double> OscMessage::number(std::size_t i) const {
    if (i >= args.size()) return std::nullopt;
    return std::visit(
        [](const auto& v) -> std::optional<double> {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::string>)
                return std::nullopt;
            else
                return static_cast<double>(v);
        },
        args[i]);
}

std::optional<std::string> OscMessage::string(std::size_t i) const {
    if (i >= args.size()) return std::nullopt;
    if (const auto* s = std::get_if<std::string>(&args[i])) return *s;
    return std::nullopt;
}

namespace {

struct MessageFree {
    void operator()(lo_message m) const { lo_message_free(m); }
};
using MessagePtr = std::unique_ptr<std::remove_pointer_t<lo_message>, MessageFree>;

MessagePtr build(const std::vector<OscValue>& args) {
    MessagePtr m(lo_message_new());
    for (const OscValue& a : args) {
        if (const auto* i = std::get_if<int32_t>(&a))
            lo_message_add_int32(m.get(), *i);
        else if (const auto* h = std::get_if<int64_t>(&a))
            lo_message_add_int64(m.get(), *h);
        else if (const auto* f = std::get_if<float>(&a))
            lo_message_add_float(m.get(), *f);
        else if (const auto* d = std::get_if<double>(&a))
            lo_message_add_double(m.get(), *d);
        else
            lo_message_add_string(m.get(), std::get<std::string>(a).c_str());
    }
    return m;
}

std::vector<std::byte> takeBytes(void* data, std::size_t size) {
    std::vector<std::byte> out;
    if (data != nullptr) {
        const auto* p = static_cast<const std::byte*>(data);
        out.assign(p, p + size);
    }
    std::free(data);
    return out;
}

/// An argument read byte-wise: OSC data is 4-byte aligned, `lo_arg` 8-byte (see osc_args.cpp).
template <class T>
T argValue(const lo_arg* a) {
    T v;
    std::memcpy(&v, reinterpret_cast<const char*>(a), sizeof v);
    return v;
}

} // namespace

std::vector<std::byte> encodeMessage(const std::string& address,
                                     const std::vector<OscValue>& args) {
    MessagePtr m = build(args);
    std::size_t size = 0;
    void* data = lo_message_serialise(m.get(), address.c_str(), nullptr, &size);
    return takeBytes(data, size);
}

std::vector<std::byte> encodeBundle(Timetag when, const std::vector<OscMessage>& messages) {
    lo_bundle b = lo_bundle_new(lo_timetag{when.sec, when.frac});
    // The bundle owns its messages (and its copies of their addresses): freed recursively.
    for (const OscMessage& msg : messages)
        lo_bundle_add_message(b, msg.address.c_str(), build(msg.args).release());
    std::size_t size = 0;
    void* data = lo_bundle_serialise(b, nullptr, &size);
    lo_bundle_free_recursive(b);
    return takeBytes(data, size);
}

Expected<OscMessage> decodeMessage(const std::byte* data, std::size_t size) {
    if (size >= 8 && std::memcmp(data, "#bundle", 8) == 0)
        return makeError("a bundle (replies are single messages)");
    int result = 0;
    MessagePtr m(lo_message_deserialise(const_cast<std::byte*>(data), size, &result));
    if (!m) return makeError("not an OSC message (liblo error {})", result);
    OscMessage out;
    const char* address = static_cast<const char*>(static_cast<const void*>(data));
    out.address.assign(address, strnlen(address, size));
    const char* types = lo_message_get_types(m.get());
    lo_arg** argv = lo_message_get_argv(m.get());
    const int argc = lo_message_get_argc(m.get());
    for (int i = 0; i < argc; ++i) {
        const lo_arg* a = argv[i];
        switch (types[i]) {
        case LO_INT32:
            out.args.emplace_back(argValue<int32_t>(a));
            break;
        case LO_INT64:
            out.args.emplace_back(argValue<int64_t>(a));
            break;
        case LO_FLOAT:
            out.args.emplace_back(argValue<float>(a));
            break;
        case LO_DOUBLE:
            out.args.emplace_back(argValue<double>(a));
            break;
        case LO_STRING:
        case LO_SYMBOL:
            out.args.emplace_back(std::string(reinterpret_cast<const char*>(a)));
            break;
        default:
            return makeError("{}: argument {} has OSC type {}, which no reply uses", out.address,
                             i + 1, oscTypeName(types[i]));
        }
    }
    return out;
}

Timetag timetagAfter(Timetag when, double seconds) {
    const double frac = static_cast<double>(when.frac) * 0x1p-32 + seconds;
    const double whole = std::floor(frac);
    Timetag t;
    t.sec = static_cast<uint32_t>(static_cast<int64_t>(when.sec) + static_cast<int64_t>(whole));
    t.frac = static_cast<uint32_t>(std::min((frac - whole) * 0x1p32, 4294967295.0));
    return t;
}

} // namespace chronus::osc

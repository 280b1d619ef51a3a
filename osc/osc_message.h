// OSC messages as typed values, encoded and decoded by liblo: what the server replies with and what
// `chronus send` and `chronus top` send and read. (Requests the server receives are decoded and
// type-checked by osc_packet.h instead, which reports every malformed part to the sender.)
#pragma once

#include "base/expected.h"
#include "osc/osc_time.h"
#include "runtime/patch_file.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace chronus::osc {

/// One argument: OSC's int32 'i', int64 'h', float 'f', double 'd' or string 's'.
using OscValue = std::variant<int32_t, int64_t, float, double, std::string>;

struct OscMessage {
    std::string address;
    std::vector<OscValue> args;

    /// Argument `i` as a number (ints and floats alike), or nothing (missing, a string).
    std::optional<double> number(std::size_t i) const;
    /// Argument `i` as a string, or nothing.
    std::optional<std::string> string(std::size_t i) const;
};

/// A patch-file argument as OSC, as the server decodes it: a number as float, a word as string.
inline OscValue oscValue(const PatchArg& arg) {
    if (const auto* f = std::get_if<float>(&arg)) return *f;
    return std::get<std::string>(arg);
}

/// A count for an int32 argument, saturated rather than wrapped.
inline int32_t saturate32(uint64_t v) {
    constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int32_t>::max());
    return static_cast<int32_t>(v > kMax ? kMax : v);
}

/// The bytes of `address args...`; empty if liblo refused (an invalid address).
std::vector<std::byte> encodeMessage(const std::string& address, const std::vector<OscValue>& args);

/// The bytes of a bundle of `messages`, all at `when`.
std::vector<std::byte> encodeBundle(Timetag when, const std::vector<OscMessage>& messages);

/// A received datagram holding one message (a bundle's messages are not unpacked: nothing the
/// server sends is a bundle). Symbols read as strings; other types are refused by name.
Expected<OscMessage> decodeMessage(const std::byte* data, std::size_t size);

/// `when` moved by `seconds` (which may be negative).
Timetag timetagAfter(Timetag when, double seconds);

} // namespace chronus::osc

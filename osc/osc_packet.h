// One UDP datagram -> the OSC messages it carries, each with the timetag of its innermost bundle.
// liblo decodes each message (lo_message_deserialise); the bundle framing is walked here so that
// every malformed part can be reported to the sender instead of being dropped.
#pragma once

#include "osc/osc_time.h"
#include "runtime/patch_file.h"

#include <cstddef>
#include <string>
#include <vector>

namespace chronus::osc {

struct InMessage {
    std::string address;
    std::vector<PatchArg> args;
    Timetag time; ///< immediate unless it came in a bundle
    bool inBundle = false;
};

/// Something in the datagram that cannot be carried out, for an `/error address reason` reply.
struct PacketError {
    std::string address; ///< the message's address, "#bundle", or "" if unreadable
    std::string reason;
};

struct Packet {
    std::vector<InMessage> messages;
    std::vector<PacketError> errors; ///< non-empty: the datagram is refused as a whole
    bool isBundle = false;
};

/// Decodes and type-checks a datagram. Errors do not stop the walk, so every bad element of a
/// bundle is named; the caller applies nothing when `errors` is non-empty.
Packet decodePacket(const std::byte* data, std::size_t size);

/// An address fit to echo in an error reply: cut to kMaxStringBytes, unprintable bytes as '?'.
std::string printableAddress(const char* s, std::size_t maxBytes);

} // namespace chronus::osc

#include "osc/osc_packet.h"

#include "osc/osc_args.h"
#include "osc/osc_limits.h"

#include <cstring>
#include <fmt/format.h>
#include <lo/lo.h>
#include <memory>

namespace chronus::osc {

namespace {

uint32_t readBe32(const std::byte* p) {
    return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
           (static_cast<uint32_t>(p[2]) << 8) | static_cast<uint32_t>(p[3]);
}

/// Length of the OSC string at `p` (NUL excluded) if it is terminated within `size`, else -1.
long stringLength(const std::byte* p, std::size_t size) {
    const void* nul = std::memchr(p, 0, size);
    if (!nul) return -1;
    return static_cast<const std::byte*>(nul) - p;
}

std::size_t padded(std::size_t n) {
    return (n + 4) & ~std::size_t{3};
} // n chars + NUL, to 4

const char* loErrorText(int code) {
    switch (code) {
    case LO_ESIZE:
        return "its size is not a multiple of 4 or does not match its contents";
    case LO_EINVALIDPATH:
        return "its address is not a valid OSC string";
    case LO_EINVALIDTYPE:
        return "its type tag string is not valid";
    case LO_EBADTYPE:
        return "it has an unknown argument type";
    case LO_EINVALIDARG:
        return "an argument's data is invalid or truncated";
    case LO_ETERM:
        return "a string is not terminated";
    case LO_EPAD:
        return "a string is not padded with zeros";
    case LO_ENOTYPE:
        return "it has no type tag string";
    default:
        return "it could not be decoded";
    }
}

class Walker {
public:
    explicit Walker(Packet& out) : out_(out) {}

    void element(const std::byte* p, std::size_t size, Timetag time, int depth, bool inBundle) {
        if (size >= 8 && std::memcmp(p, "#bundle\0", 8) == 0) {
            bundle(p, size, depth);
            return;
        }
        message(p, size, time, inBundle);
    }

private:
    void error(std::string address, std::string reason) {
        out_.errors.push_back({std::move(address), std::move(reason)});
    }

    void bundle(const std::byte* p, std::size_t size, int depth) {
        if (depth == 0) out_.isBundle = true;
        if (depth >= kMaxBundleDepth) {
            error("#bundle", fmt::format("bundles nested more than {} deep", kMaxBundleDepth));
            return;
        }
        if (size < 16) {
            error("#bundle", "truncated bundle: no timetag");
            return;
        }
        const Timetag time{readBe32(p + 8), readBe32(p + 12)};
        std::size_t pos = 16;
        int index = 0;
        while (pos < size) {
            ++index;
            if (size - pos < 4) {
                error("#bundle", fmt::format("element {}: truncated size field", index));
                return;
            }
            const uint32_t len = readBe32(p + pos);
            pos += 4;
            if (len == 0 || len % 4 != 0 || len > size - pos) {
                error("#bundle", fmt::format("element {}: size {} is not a multiple of 4 that fits "
                                             "the {} bytes left",
                                             index, len, size - pos));
                return;
            }
            element(p + pos, len, time, depth + 1, true);
            pos += len;
        }
    }

    void message(const std::byte* p, std::size_t size, Timetag time, bool inBundle) {
        const long addrLen = stringLength(p, size);
        if (addrLen < 0) {
            error(
                printableAddress(reinterpret_cast<const char*>(p), std::min(size, kMaxStringBytes)),
                "the address is not a terminated OSC string");
            return;
        }
        const char* addr = reinterpret_cast<const char*>(p);
        const auto alen = static_cast<std::size_t>(addrLen);
        const std::string shown = printableAddress(addr, kMaxStringBytes);
        if (alen > kMaxStringBytes) {
            error(shown, fmt::format("address longer than {} bytes", kMaxStringBytes));
            return;
        }
        if (alen == 0 || addr[0] != '/') {
            error(shown, "not an OSC address (addresses start with '/')");
            return;
        }
        for (std::size_t i = 0; i < alen; ++i) {
            const auto c = static_cast<unsigned char>(addr[i]);
            if (c < 0x21 || c > 0x7e) {
                error(shown, "the address contains a space or a non-printable byte");
                return;
            }
        }
        // The type tag string: checked here first so that arrays and missing tags get a clear
        // reason.
        const std::size_t typesAt = padded(alen);
        if (typesAt >= size || static_cast<char>(p[typesAt]) != ',') {
            error(shown, "no type tag string (',...') after the address");
            return;
        }
        const long typesLen = stringLength(p + typesAt, size - typesAt);
        if (typesLen < 0) {
            error(shown, "the type tag string is not terminated");
            return;
        }
        const char* types = reinterpret_cast<const char*>(p + typesAt) + 1;
        if (std::strpbrk(types, "[]")) {
            error(shown, "array arguments are not accepted");
            return;
        }
        for (const char* t = types; *t; ++t) {
            if (*t == LO_BLOB) {
                error(shown,
                      fmt::format("argument {} is a blob; blobs are not accepted", t - types + 1));
                return;
            }
        }
        int result = 0;
        std::unique_ptr<std::remove_pointer_t<lo_message>, void (*)(lo_message)> msg(
            lo_message_deserialise(const_cast<std::byte*>(p), size, &result), lo_message_free);
        if (!msg) {
            error(shown, fmt::format("malformed OSC message: {}", loErrorText(result)));
            return;
        }
        auto args = convertArgs(lo_message_get_types(msg.get()), lo_message_get_argv(msg.get()),
                                lo_message_get_argc(msg.get()));
        if (!args) {
            error(shown, args.error().message);
            return;
        }
        out_.messages.push_back({std::string(addr, alen), args.take(), time, inBundle});
    }

    Packet& out_;
};

} // namespace

std::string printableAddress(const char* s, std::size_t maxBytes) {
    std::string out;
    for (std::size_t i = 0; i < maxBytes && s[i] != 0; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
    }
    return out;
}

Packet decodePacket(const std::byte* data, std::size_t size) {
    Packet out;
    if (size == 0) {
        out.errors.push_back({"", "empty datagram"});
        return out;
    }
    if (size % 4 != 0) {
        // Still try to read the address for the reply.
        const long n = stringLength(data, size);
        out.errors.push_back(
            {n >= 0 ? printableAddress(reinterpret_cast<const char*>(data), kMaxStringBytes) : "",
             fmt::format("datagram size {} is not a multiple of 4", size)});
        return out;
    }
    Walker(out).element(data, size, Timetag{}, 0, false);
    return out;
}

} // namespace chronus::osc

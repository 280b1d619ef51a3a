#include "osc/osc_reply.h"

#include <cstdio>
#include <fmt/format.h>
#include <limits>
#include <string_view>

namespace chronus::osc {

int32_t saturate32(uint64_t v) {
    constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int32_t>::max());
    return static_cast<int32_t>(v > kMax ? kMax : v);
}

bool Replier::send(const Endpoint& to, const std::string& address,
                   const std::vector<ReplyArg>& args) const {
    const std::vector<std::byte> data = encodeMessage(address, args);
    const bool sent = !data.empty() && socket_->sendTo(to, data.data(), data.size());
    if (!sent && verbose_)
        fmt::print(stderr, "[osc] could not send {} to {}\n", address, to.text());
    return sent;
}

bool Replier::error(const Endpoint& to, const std::string& address,
                    const std::string& reason) const {
    std::string_view why = reason;
    if (!address.empty() && why.starts_with(address) &&
        why.substr(address.size()).starts_with(": "))
        why.remove_prefix(address.size() + 2);
    if (verbose_) fmt::print(stderr, "[osc] {} <- /error {} {}\n", to.text(), address, why);
    return send(to, "/error", {address, std::string(why)});
}

} // namespace chronus::osc

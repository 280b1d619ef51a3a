#include "osc/osc_reply.h"

#include <cstdio>
#include <fmt/format.h>
#include <string_view>

namespace chronus::osc {

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

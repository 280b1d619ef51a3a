#include "osc/osc_reply.h"

#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <limits>
#include <lo/lo.h>

namespace chronus::osc {

int32_t saturate32(uint64_t v) {
    constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int32_t>::max());
    return static_cast<int32_t>(v > kMax ? kMax : v);
}

bool Replier::send(const Endpoint& to, const std::string& address,
                   const std::vector<ReplyArg>& args) const {
    lo_message m = lo_message_new();
    for (const ReplyArg& a : args) {
        if (const auto* i = std::get_if<int32_t>(&a))
            lo_message_add_int32(m, *i);
        else if (const auto* h = std::get_if<int64_t>(&a))
            lo_message_add_int64(m, *h);
        else if (const auto* f = std::get_if<float>(&a))
            lo_message_add_float(m, *f);
        else if (const auto* d = std::get_if<double>(&a))
            lo_message_add_double(m, *d);
        else
            lo_message_add_string(m, std::get<std::string>(a).c_str());
    }
    size_t size = 0;
    void* data = lo_message_serialise(m, address.c_str(), nullptr, &size);
    lo_message_free(m);
    const bool sent = data && socket_->sendTo(to, data, size);
    std::free(data);
    if (!sent && verbose_)
        fmt::print(stderr, "[osc] could not send {} to {}\n", address, to.text());
    return sent;
}

bool Replier::error(const Endpoint& to, const std::string& address,
                    const std::string& reason) const {
    if (verbose_) fmt::print(stderr, "[osc] {} <- /error {} {}\n", to.text(), address, reason);
    return send(to, "/error", {address, reason});
}

} // namespace chronus::osc

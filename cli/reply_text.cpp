#include "cli/reply_text.h"

#include "osc/status_reply.h"

#include <fmt/format.h>

namespace chronus::cli {

namespace {

std::string valueText(const osc::OscValue& v) {
    return std::visit(
        [](const auto& x) -> std::string {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::string>)
                return x.find_first_of(" \t\n") == std::string::npos ? x : fmt::format("\"{}\"", x);
            else if constexpr (std::is_floating_point_v<T>)
                return fmt::format("{:g}", x);
            else
                return fmt::format("{}", x);
        },
        v);
}

std::string plain(const osc::OscMessage& m, std::size_t from = 0) {
    std::string s = m.address;
    for (std::size_t i = from; i < m.args.size(); ++i) s += ' ' + valueText(m.args[i]);
    return s;
}

} // namespace

bool isFailure(const osc::OscMessage& reply) {
    return reply.address == "/error" || reply.address == "/patch/failed";
}

std::string replyText(const osc::OscMessage& r) {
    if (r.address == "/error" && r.args.size() == 2)
        return fmt::format("/error {}: {}", r.string(0).value_or("?"), r.string(1).value_or("?"));
    if (r.address == "/patch/failed" && r.args.size() == 2)
        return fmt::format("/patch/failed {}: {}", valueText(r.args[0]), r.string(1).value_or("?"));
    if (r.address == "/patch/committed" && r.args.size() == 4) {
        const bool silent = r.string(3) == "silent";
        return fmt::format("/patch/committed {} (compile {:.1f} ms, prime RMS {:.3f}{})",
                           valueText(r.args[0]), r.number(1).value_or(0), r.number(2).value_or(0),
                           silent ? ": silent so far (a gate closed, or nothing reaches the output)"
                                  : "");
    }
    if (r.address == "/engine/status") return "/engine/status " + osc::statusText(r);
    if (r.address == "/patch/list.end" && r.args.size() == 3)
        return fmt::format("/patch/list.end ({} patch: {} modules, {} connections)",
                           r.string(0).value_or("?"), valueText(r.args[1]), valueText(r.args[2]));
    if (r.address == "/modules.end" && r.args.size() == 1)
        return fmt::format("/modules.end ({} module types)", valueText(r.args[0]));
    return plain(r);
}

} // namespace chronus::cli

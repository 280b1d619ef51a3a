#include "runtime/patch_file.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

namespace chronus {

namespace {

std::optional<double> parseNumber(std::string_view s) {
    double v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
    return v;
}

} // namespace

Expected<float> patchNumber(double v) {
    if (!std::isfinite(v)) return makeError("'{}' is not a finite number", v);
    const auto f = static_cast<float>(v);
    if (v == std::floor(v) && static_cast<double>(f) != v)
        return makeError("{:.0f} is a whole number a float cannot hold exactly (whole numbers are "
                         "exact up to 16777216); it would become {:.0f}",
                         v, static_cast<double>(f));
    return f;
}

std::string printable(std::string_view text, std::size_t maxBytes) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (out.size() >= maxBytes) {
            out += "...";
            break;
        }
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c < 0x7f)
            out.push_back(static_cast<char>(c));
        else
            out += fmt::format("\\x{:02x}", c);
    }
    return out;
}

Error lineError(std::string_view source, int line, const Error& e) {
    // The message quotes what the line holds: never raw bytes to the terminal.
    if (source.empty()) return makeError("line {}: {}", line, printable(e.message));
    return makeError("{}:{}: {}", printable(source), line, printable(e.message));
}

Error lineError(const PatchLine& line, const Error& e) {
    return lineError({}, line.line, e);
}

Expected<std::vector<PatchLine>> parsePatchText(std::string_view text, std::string_view source) {
    auto bad = [source](int line, std::string message) {
        return lineError(source, line, Error{std::move(message)});
    };
    std::vector<PatchLine> out;
    int lineNo = 0;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view raw = text.substr(pos, end - pos);
        pos = end + 1;
        ++lineNo;
        if (auto hash = raw.find('#'); hash != std::string_view::npos) raw = raw.substr(0, hash);
        std::vector<std::string_view> words;
        size_t i = 0;
        while (i < raw.size()) {
            while (i < raw.size() && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\r')) ++i;
            size_t j = i;
            while (j < raw.size() && raw[j] != ' ' && raw[j] != '\t' && raw[j] != '\r') ++j;
            if (j > i) words.push_back(raw.substr(i, j - i));
            i = j;
        }
        if (words.empty()) continue;
        PatchLine line;
        line.line = lineNo;
        size_t w = 0;
        if (words[0][0] == '@') {
            auto t = parseNumber(words[0].substr(1));
            if (!t || !std::isfinite(*t) || *t < 0)
                return bad(lineNo,
                           fmt::format("'{}' is not a time; write @SECONDS, e.g. @2.5", words[0]));
            line.time = *t;
            ++w;
        }
        if (w >= words.size()) return bad(lineNo, "a time with no message after it");
        if (words[w][0] != '/')
            return bad(lineNo,
                       fmt::format("'{}' is not an OSC address (they start with '/')", words[w]));
        line.address = std::string(words[w++]);
        for (; w < words.size(); ++w) {
            if (auto v = parseNumber(words[w])) {
                if (!std::isfinite(*v))
                    return bad(lineNo, fmt::format("'{}' is not a finite number", words[w]));
                auto f = patchNumber(*v);
                if (!f) return bad(lineNo, f.error().message);
                line.args.emplace_back(*f);
            } else {
                line.args.emplace_back(std::string(words[w]));
            }
        }
        out.push_back(std::move(line));
    }
    return out;
}

Expected<std::vector<PatchLine>> readPatchFile(const std::string& path) {
    std::ifstream in(path);
    if (!in) return makeError("cannot read patch file '{}'", printable(path));
    std::stringstream ss;
    ss << in.rdbuf();
    return parsePatchText(ss.str(), path);
}

} // namespace chronus

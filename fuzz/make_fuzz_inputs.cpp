// make_fuzz_inputs DIR: writes what the fuzzers know of the module types, from their descriptors,
// at build time (fuzz/CMakeLists.txt), so that a new module type is in them with no other change:
//
//   DIR/osc.dict, DIR/patch_text.dict    libFuzzer dictionaries: the control namespace's words
//                                        (below) and every type, alias, port, parameter and choice
//   DIR/corpus/patch_text/<type>.patch   per type, a seed: two instances created (with the
//   DIR/corpus/osc/<type>                creation argument), wired, every parameter at its minimum
//                                        and maximum (choices by name), committed, back to its
//                                        defaults and committed again; as text and as an OSC
//                                        session (OSC 1.0 stream framing)
//
// fuzz/make_corpus.py keeps the hand-written seeds (fuzz/corpus/); scripts/fuzz.sh uses both.
#include "modules/registry.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <string>
#include <variant>
#include <vector>

namespace fs = std::filesystem;
using namespace chronus;

namespace {

/// Words of the control namespace that no descriptor holds.
const std::vector<std::string> kControlWords = {"/patch/create",
                                                "/patch/delete",
                                                "/patch/connect",
                                                "/patch/disconnect",
                                                "/patch/commit",
                                                "/patch/abort",
                                                "/patch/dump",
                                                "/patch/ir",
                                                "/engine/status",
                                                "/engine/quit",
                                                "/mod/",
                                                "/gate/",
                                                "/voice/begin",
                                                "/voice/end",
                                                "/voice/map",
                                                "/note/on",
                                                "/note/off",
                                                "/note/pedal",
                                                "/note/bend",
                                                "/midi/route",
                                                "/midi/cc",
                                                "/midi/bend",
                                                "/patch/list",
                                                "/modules",
                                                "/status",
                                                "/version",
                                                "/sync",
                                                "/notify",
                                                "poly",
                                                "pitch",
                                                "velocity",
                                                "playing",
                                                "pending",
                                                "pad",
                                                "keys",
                                                "keys.0.osc",
                                                "osc.freq",
                                                ":",
                                                "@",
                                                "#",
                                                "lowered",
                                                "optimized",
                                                "asm",
                                                "osc1",
                                                "env1",
                                                "filt1"};
/// OSC framing: type tag strings and padding.
const std::vector<std::string> kOscWords = {std::string("#bundle\0", 8),
                                            std::string(",s\0\0", 4),
                                            std::string(",ss\0", 4),
                                            std::string(",f\0\0", 4),
                                            std::string(",i\0\0", 4),
                                            std::string(",d\0\0", 4),
                                            std::string(",h\0\0", 4),
                                            std::string(",\0\0\0", 4),
                                            ",sss",
                                            std::string(",b\0\0", 4),
                                            ",[s]",
                                            std::string(4, '\0'),
                                            std::string("\0\0\0\x01", 4)};
/// Patch text: separators and numbers at the edges.
const std::vector<std::string> kTextWords = {" ", "\n", "1e3", "-0", "0.5", "nan", "inf"};

/// Every name a descriptor gives, in allModules() order, each once.
std::vector<std::string> moduleWords() {
    std::vector<std::string> words;
    auto add = [&](std::string_view w) {
        for (const auto& have : words)
            if (have == w) return;
        words.emplace_back(w);
    };
    for (const ModuleDescriptor* d : allModules()) {
        add(d->type);
        for (auto a : d->aliases) add(a);
        for (const auto& p : d->inputs) add(p.name);
        for (const auto& p : d->outputs) add(p.name);
        for (const auto& p : d->params) {
            add(p.name);
            for (auto c : p.choices) add(c);
        }
        if (d->variadic != nullptr)
            for (int i = 1; i <= 2; ++i) {
                add(fmt::format("{}{}", d->variadic->inputPrefix, i));
                add(fmt::format("{}{}", d->variadic->paramTemplate.name, i));
            }
    }
    return words;
}

/// A libFuzzer dictionary entry: printable ASCII as is, anything else as \xNN.
std::string quoted(const std::string& word) {
    std::string out = "\"";
    for (char ch : word) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 32 || c >= 127 || ch == '"' || ch == '\\')
            out += fmt::format("\\x{:02x}", c);
        else
            out += ch;
    }
    return out + "\"";
}

bool writeFile(const fs::path& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary);
    f << bytes;
    f.close();
    if (!f) std::fprintf(stderr, "make_fuzz_inputs: cannot write %s\n", path.c_str());
    return static_cast<bool>(f);
}

bool writeDictionary(const fs::path& path, const std::vector<std::string>& words) {
    std::string text = "# libFuzzer dictionary, generated by fuzz/make_fuzz_inputs.cpp from the "
                       "module descriptors: do not edit\n";
    for (const auto& w : words) text += quoted(w) + "\n";
    return writeFile(path, text);
}

using Arg = std::variant<std::string, float>;
struct Message {
    std::string address;
    std::vector<Arg> args;
};

std::string text(const std::vector<Message>& session, std::string_view type) {
    std::string out =
        fmt::format("# {}: generated from its descriptor by fuzz/make_fuzz_inputs.cpp\n", type);
    for (const Message& m : session) {
        out += m.address;
        for (const Arg& a : m.args)
            out += " " + (std::holds_alternative<float>(a) ? fmt::format("{}", std::get<float>(a))
                                                           : std::get<std::string>(a));
        out += "\n";
    }
    return out;
}

void putBe32(std::string& out, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

/// An OSC string: its bytes, a NUL, padded with NULs to a multiple of four.
void putString(std::string& out, std::string_view s) {
    out += s;
    out.append(4 - s.size() % 4, '\0');
}

/// The session as OSC 1.0 stream framing: each message's size, big-endian, before it.
std::string osc(const std::vector<Message>& session) {
    std::string out;
    for (const Message& m : session) {
        std::string tags = ",", data;
        for (const Arg& a : m.args) {
            if (const float* f = std::get_if<float>(&a)) {
                tags += 'f';
                uint32_t bits = 0;
                static_assert(sizeof bits == sizeof *f);
                std::memcpy(&bits, f, sizeof bits);
                putBe32(data, bits);
            } else {
                tags += 's';
                putString(data, std::get<std::string>(a));
            }
        }
        std::string msg;
        putString(msg, m.address);
        putString(msg, tags);
        msg += data;
        putBe32(out, static_cast<uint32_t>(msg.size()));
        out += msg;
    }
    return out;
}

/// The seed session of one type (see the top of the file).
std::vector<Message> seed(const ModuleDescriptor& d) {
    std::vector<Message> s;
    const std::string type(d.type);
    for (const char* id : {"a", "b"}) {
        Message create{"/patch/create", {std::string(id), type}};
        if (!d.createArg.name.empty()) create.args.emplace_back(d.createArg.defaultValue);
        s.push_back(create);
    }
    const ModuleLayout layout = makeLayout(d, d.createArg.defaultValue);
    if (!d.isSink && !layout.outputs.empty()) {
        const std::string out = "a:" + layout.outputs.front().name;
        if (!layout.inputs.empty())
            s.push_back({"/patch/connect", {out, "b:" + layout.inputs.front().name}});
        for (const auto& p : layout.params)
            if (p.desc.smoothed) { // a modulation: into the first continuous parameter
                s.push_back({"/patch/connect", {out, "b:" + p.name}});
                break;
            }
    }
    for (const auto& p : layout.params) {
        s.push_back({"/mod/a/" + p.name, {p.desc.minValue}});
        if (!p.desc.choices.empty())
            s.push_back({"/mod/b/" + p.name, {std::string(p.desc.choices.back())}});
        else
            s.push_back({"/mod/b/" + p.name, {p.desc.maxValue}});
    }
    s.push_back({"/patch/commit", {}});
    for (const auto& p : layout.params) s.push_back({"/mod/b/" + p.name, {p.desc.defaultValue}});
    s.push_back({"/patch/commit", {}});
    return s;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_fuzz_inputs DIR\n");
        return 2;
    }
    const fs::path dir = argv[1];
    std::error_code ec;
    fs::remove_all(dir / "corpus", ec); // a type removed leaves no seed behind
    fs::create_directories(dir / "corpus" / "osc", ec);
    fs::create_directories(dir / "corpus" / "patch_text", ec);
    if (ec) {
        std::fprintf(stderr, "make_fuzz_inputs: %s: %s\n", dir.c_str(), ec.message().c_str());
        return 1;
    }

    std::vector<std::string> words = kControlWords;
    for (auto& w : moduleWords()) words.push_back(std::move(w));
    std::vector<std::string> oscWords;
    for (const auto& w : words) oscWords.push_back(w.starts_with("/") ? w + '\0' : w);
    oscWords.insert(oscWords.end(), kOscWords.begin(), kOscWords.end());
    std::vector<std::string> textWords = words;
    textWords.insert(textWords.end(), kTextWords.begin(), kTextWords.end());

    bool ok = writeDictionary(dir / "osc.dict", oscWords) &&
              writeDictionary(dir / "patch_text.dict", textWords);
    for (const ModuleDescriptor* d : allModules()) {
        const auto session = seed(*d);
        const std::string type(d->type);
        ok =
            ok && writeFile(dir / "corpus" / "patch_text" / (type + ".patch"), text(session, type));
        ok = ok && writeFile(dir / "corpus" / "osc" / type, osc(session));
    }
    return ok ? 0 : 1;
}

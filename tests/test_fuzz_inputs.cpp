// What the build derives for the fuzzers from the module descriptors (fuzz/make_fuzz_inputs.cpp,
// written to CHRONUS_FUZZ_INPUTS_DIR): the dictionaries name every type, alias, port, parameter
// and choice; each type has a seed, every line of which the graph accepts, that decodes to the
// same messages as text and as OSC and passes through the fuzz targets' properties.
#include "compiler/patch_graph.h"
#include "compiler/schedule.h"
#include "fuzz/targets.h"
#include "modules/registry.h"
#include "osc/osc_packet.h"
#include "runtime/control_command.h"
#include "runtime/patch_file.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace chronus;

namespace {

const fs::path kDir = CHRONUS_FUZZ_INPUTS_DIR;

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    INFO(p.string());
    REQUIRE(in);
    return {std::istreambuf_iterator<char>(in), {}};
}

/// The entries of a libFuzzer dictionary, "\xNN" escapes kept as written.
std::set<std::string> entries(const fs::path& p) {
    std::set<std::string> out;
    const std::string text = slurp(p);
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        const std::string line = text.substr(pos, end - pos);
        if (line.size() >= 2 && line.front() == '"' && line.back() == '"')
            out.insert(line.substr(1, line.size() - 2));
        pos = end + 1;
    }
    return out;
}

struct TargetFailure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

[[noreturn]] void throwFailure(const char* target, const char* what) {
    throw TargetFailure(std::string(target) + ": " + what);
}

} // namespace

TEST_CASE("the fuzz dictionaries name everything every descriptor names", "[fuzz][modules]") {
    for (const char* dict : {"osc.dict", "patch_text.dict"}) {
        INFO(dict);
        const auto words = entries(kDir / dict);
        CHECK(words.count("/patch/create") + words.count("/patch/create\\x00") == 1);
        for (const ModuleDescriptor* d : allModules()) {
            INFO(d->type);
            CHECK(words.count(std::string(d->type)) == 1);
            for (auto a : d->aliases) CHECK(words.count(std::string(a)) == 1);
            for (const auto& p : d->inputs) CHECK(words.count(std::string(p.name)) == 1);
            for (const auto& p : d->outputs) CHECK(words.count(std::string(p.name)) == 1);
            for (const auto& p : d->params) {
                CHECK(words.count(std::string(p.name)) == 1);
                for (auto c : p.choices) CHECK(words.count(std::string(c)) == 1);
            }
            if (d->variadic != nullptr) {
                CHECK(words.count(std::string(d->variadic->inputPrefix) + "1") == 1);
                CHECK(words.count(std::string(d->variadic->paramTemplate.name) + "1") == 1);
            }
        }
    }
}

TEST_CASE("every module type's generated seed renders and passes the fuzz targets",
          "[fuzz][modules]") {
    fuzz::setFailureHandler(throwFailure);
    for (const ModuleDescriptor* d : allModules()) {
        const std::string type(d->type);
        INFO(type);
        const std::string text = slurp(kDir / "corpus" / "patch_text" / (type + ".patch"));
        auto lines = parsePatchText(text);
        INFO(text << (lines.ok() ? std::string() : lines.error().message));
        REQUIRE(lines.ok());
        // Every line is an edit the graph accepts (values at the ends of their ranges may make
        // a patch the engine refuses to play: that is for the fuzzers to try, not a bad seed).
        PatchGraph g;
        for (const PatchLine& line : *lines) {
            INFO("line " << line.line << ": " << line.address);
            auto cmd = decodeCommand(line.address, line.args);
            REQUIRE(cmd.ok());
            Status st;
            if (const auto* c = std::get_if<CreateCommand>(&*cmd))
                st = g.create(c->id, c->type, c->createArg);
            else if (const auto* k = std::get_if<ConnectCommand>(&*cmd))
                st = g.connect(k->src, k->dst);
            else if (const auto* m = std::get_if<SetParamCommand>(&*cmd))
                st = m->choice ? g.setParamChoice(m->id, m->param, *m->choice)
                               : g.setParam(m->id, m->param, m->value);
            else
                CHECK(std::holds_alternative<CommitCommand>(*cmd));
            INFO((st.ok() ? std::string() : st.message()));
            CHECK(st.ok());
        }
        CHECK(g.modules().size() == 2);
        CHECK(buildSchedule(g).ok());

        // The OSC seed is the same session: one datagram per line, in stream framing.
        const std::string osc = slurp(kDir / "corpus" / "osc" / type);
        std::vector<PatchLine> decoded;
        for (size_t pos = 0; pos + 4 <= osc.size();) {
            uint32_t n = 0;
            for (int b = 0; b < 4; ++b) n = n << 8 | static_cast<uint8_t>(osc[pos + size_t(b)]);
            REQUIRE(pos + 4 + n <= osc.size());
            const osc::Packet packet =
                osc::decodePacket(reinterpret_cast<const std::byte*>(osc.data() + pos + 4), n);
            REQUIRE(packet.errors.empty());
            REQUIRE(packet.messages.size() == 1);
            decoded.push_back(
                {0, std::nullopt, packet.messages[0].address, packet.messages[0].args});
            pos += 4 + n;
        }
        REQUIRE(decoded.size() == lines->size());
        for (size_t i = 0; i < decoded.size(); ++i) {
            INFO("line " << (*lines)[i].line);
            CHECK(decoded[i].address == (*lines)[i].address);
            CHECK(decoded[i].args == (*lines)[i].args);
        }

        try {
            fuzz::patchText(reinterpret_cast<const uint8_t*>(text.data()), text.size());
            fuzz::oscDatagrams(reinterpret_cast<const uint8_t*>(osc.data()), osc.size());
        } catch (const TargetFailure& e) {
            FAIL_CHECK(e.what());
        }
    }
    fuzz::setFailureHandler(nullptr);
}

// Every input the fuzzers (fuzz/) found a bug with, and their seed corpus, replayed through the
// same targets in the ordinary suite: fuzz/regressions/<target>/ holds the crashers (each named
// after what it found), fuzz/corpus/<target>/ the seeds. A target signals a violated property
// through fuzzFailure(), which this test turns into a failure naming the file.
#include "compiler/patch_graph.h"
#include "fuzz/targets.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct TargetFailure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

[[noreturn]] void throwFailure(const char* target, const char* what) {
    throw TargetFailure(std::string(target) + ": " + what);
}

std::vector<fs::path> inputs(const std::string& target) {
    std::vector<fs::path> out;
    for (const char* dir : {"corpus", "regressions"}) {
        const fs::path d = fs::path(CHRONUS_SOURCE_DIR) / "fuzz" / dir / target;
        if (!fs::is_directory(d)) continue;
        for (const auto& e : fs::directory_iterator(d))
            if (e.is_regular_file() && e.path().filename().string()[0] != '.')
                out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<uint8_t> bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

template <class Run>
void replay(const std::string& target, Run run) {
    chronus::fuzz::setFailureHandler(throwFailure);
    const auto files = inputs(target);
    CHECK(!files.empty());
    for (const auto& f : files) {
        INFO(f.string());
        const auto data = bytes(f);
        try {
            run(data.data(), data.size());
        } catch (const TargetFailure& e) {
            FAIL_CHECK(e.what());
        }
    }
    chronus::fuzz::setFailureHandler(nullptr);
}

} // namespace

TEST_CASE("OSC datagrams found by fuzzing are handled", "[fuzz][osc]") {
    replay("osc", chronus::fuzz::oscDatagrams);
}

TEST_CASE("patch texts found by fuzzing parse, schedule and replay", "[fuzz][patch]") {
    replay("patch_text", chronus::fuzz::patchText);
}

TEST_CASE("graph edit sequences found by fuzzing render alike in the interpreter and the JIT",
          "[fuzz][graph]") {
    replay("graph", [](const uint8_t* d, size_t n) { chronus::fuzz::graphEdits(d, n, true); });
}

TEST_CASE("module ids that a patch file would read back as another id are refused",
          "[fuzz][patch]") {
    // Found by the OSC target's dump-replay property: "1.0" came back as "1", "inf" did not parse.
    chronus::PatchGraph g;
    for (const char* ok : {"1", "-1", "16777216", "a1", "1a", "osc.1", "1-2", "e5"}) {
        INFO(ok);
        CHECK(g.create(ok, "saw").ok());
    }
    for (const char* bad : {"1.0", "01", "-0", "1e3", "1.", "16777217", "inf", "nan", "Infinity"}) {
        INFO(bad);
        CHECK(!g.create(bad, "saw").ok());
    }
}

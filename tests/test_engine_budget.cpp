// Issue 15, case 7 (this branch's share): a commit that cannot render in real time at the block
// size is played, and says so (its prime load, an overload note), rather than overrunning in
// silence. The limits on modules, sources and state bytes, and the memory of obsolete or failed
// compiles, are tested where they are built (the graph and compiler work).
#include "tests/test_engine_harness.h"

#include <fmt/format.h>

using namespace chronus;
using namespace chronus::test;

namespace {

/// Applies patch-file text without its commits.
void edit(OfflineRig& rig, const std::string& text) {
    auto lines = parsePatchText(text);
    REQUIRE(lines.ok());
    for (const PatchLine& line : *lines) {
        auto cmd = decodeCommand(line.address, line.args);
        REQUIRE(cmd.ok());
        INFO(line.address);
        REQUIRE(rig.engine->apply(*cmd).ok());
    }
}

/// `n` sines.
std::string sines(int n, const std::string& prefix = "s") {
    std::string t;
    for (int i = 0; i < n; ++i)
        t += fmt::format("/patch/create {}{} simple_sine\n/mod/{}{}/gain 0.0001\n", prefix, i,
                         prefix, i);
    return t;
}

} // namespace

TEST_CASE("a commit too heavy for real time plays, with its prime load and an overload note",
          "[engine][budget]") {
    EngineOptions o;
    o.factory = interpreterFactory();
    o.sampleRate = 384000;
    o.frames = 64; // 167 us per block
    OfflineRig rig(o);
    rig.apply(sines(1) + "/patch/commit\n");
    // A light patch: a tiny load, nothing to say.
    {
        edit(rig, "/patch/create light simple_sine\n");
        const CommitReport r = rig.commit();
        REQUIRE(r.ok);
        CHECK(r.primeLoad > 0);
        CHECK(r.primeLoad < 1);
        CHECK(commitNotes(r, o.frames).empty());
    }
    // 1,500 sines in the interpreter: several times a block's duration per block.
    edit(rig, sines(1500, "heavy"));
    const CommitReport r = rig.commit();
    REQUIRE(r.ok); // played all the same
    CHECK(r.primeLoad > 1);
    const auto notes = commitNotes(r, o.frames);
    REQUIRE(notes.size() == 1);
    CHECK_THAT(notes[0], Catch::StartsWith("overload: rendering a block of 64 frames takes") &&
                             Catch::Contains("expect dropouts"));
    WARN("1,500 sines, interpreter, 64 frames at 384 kHz: prime load " << r.primeLoad << ": \""
                                                                       << notes[0] << "\"");
}

#include "runtime/control_command.h"
#include "runtime/patch_file.h"

#include <catch2/catch.hpp>

using namespace chronus;

TEST_CASE("patch text parses lines, comments, times and arguments", "[patchfile]") {
    auto lines = parsePatchText("# a comment\n"
                                "/patch/create osc1 simple_sine   # trailing comment\n"
                                "\n"
                                "/mod/osc1/freq 440\n"
                                "@2.5 /gate/env1 0\n"
                                "/mod/f1/mode hp\r\n");
    REQUIRE(lines.ok());
    REQUIRE(lines->size() == 4);
    CHECK((*lines)[0].line == 2);
    CHECK((*lines)[0].address == "/patch/create");
    CHECK(std::get<std::string>((*lines)[0].args[1]) == "simple_sine");
    CHECK(std::get<float>((*lines)[1].args[0]) == 440.0f);
    CHECK_FALSE((*lines)[1].time.has_value());
    CHECK((*lines)[2].time == Approx(2.5));
    CHECK(std::get<std::string>((*lines)[3].args[0]) == "hp");
}

TEST_CASE("patch text errors name the line", "[patchfile][errors]") {
    auto bad = [](const char* text) {
        auto r = parsePatchText(text);
        REQUIRE_FALSE(r.ok());
        return r.error().message;
    };
    CHECK_THAT(bad("/patch/commit\n\npatch/create x sine\n"), Catch::StartsWith("line 3:"));
    CHECK_THAT(bad("@abc /patch/commit\n"), Catch::Contains("line 1: '@abc' is not a time"));
    CHECK_THAT(bad("/a\n@-1 /patch/commit\n"), Catch::StartsWith("line 2:"));
    CHECK_THAT(bad("@1.0\n"), Catch::Contains("line 1: a time with no message"));
    CHECK_THAT(bad("/mod/x/y inf\n"), Catch::Contains("line 1"));
}

TEST_CASE("patch text errors name the file and line as FILE:LINE when given a name",
          "[patchfile][errors]") {
    auto r = parsePatchText("/patch/commit\n@abc /patch/commit\n", "song.patch");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "song.patch:2: '@abc' is not a time; write @SECONDS, e.g. @2.5");
    CHECK(lineError("song.patch", 7, Error{"why"}).message == "song.patch:7: why");
    CHECK(lineError("", 7, Error{"why"}).message == "line 7: why");
}

TEST_CASE("readPatchFile names a missing file", "[patchfile][errors]") {
    auto r = readPatchFile("/nonexistent/x.patch");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("/nonexistent/x.patch"));
}

namespace {
std::string decodeError(const std::string& addr, std::vector<PatchArg> args) {
    auto r = decodeCommand(addr, args);
    REQUIRE_FALSE(r.ok());
    return r.error().message;
}
} // namespace

TEST_CASE("control commands decode", "[control]") {
    auto c = decodeCommand("/patch/create", {std::string("d1"), std::string("delay"), 500.0f});
    REQUIRE(c.ok());
    auto& create = std::get<CreateCommand>(*c);
    CHECK(create.id == "d1");
    CHECK(create.createArg == 500.0f);

    auto m = decodeCommand("/mod/osc1/freq", {220.0f});
    REQUIRE(m.ok());
    CHECK(std::get<SetParamCommand>(*m).param == "freq");
    CHECK(std::get<SetParamCommand>(*m).value == 220.0f);

    auto choice = decodeCommand("/mod/f1/mode", {std::string("hp")});
    REQUIRE(choice.ok());
    CHECK(std::get<SetParamCommand>(*choice).choice == "hp");

    auto g = decodeCommand("/gate/env1", {1.0f});
    REQUIRE(g.ok());
    CHECK(std::get<GateCommand>(*g).id == "env1");
    CHECK(commandAddress(*g) == "/gate/env1");

    // A numeric id typed in a patch file is taken as its text.
    auto n = decodeCommand("/patch/delete", {7.0f});
    REQUIRE(n.ok());
    CHECK(std::get<DeleteCommand>(*n).id == "7");
}

TEST_CASE("one classifier says what each command does", "[control]") {
    auto kind = [](const std::string& addr, std::vector<PatchArg> args) {
        auto c = decodeCommand(addr, args);
        REQUIRE(c.ok());
        return std::pair{commandKind(*c), isSchedulable(*c)};
    };
    using K = CommandKind;
    CHECK(kind("/patch/create", {std::string("o"), std::string("simple_sine")}) ==
          std::pair{K::edit, false});
    CHECK(kind("/patch/delete", {std::string("o")}) == std::pair{K::edit, false});
    CHECK(kind("/patch/connect", {std::string("a"), std::string("b")}) ==
          std::pair{K::edit, false});
    CHECK(kind("/patch/disconnect", {std::string("a"), std::string("b")}) ==
          std::pair{K::edit, false});
    CHECK(kind("/patch/commit", {}) == std::pair{K::commit, false});
    CHECK(kind("/patch/abort", {}) == std::pair{K::abort, false});
    CHECK(kind("/mod/o/freq", {440.0f}) == std::pair{K::write, true});
    CHECK(kind("/mod/f/mode", {std::string("hp")}) == std::pair{K::write, false}); // by name
    CHECK(kind("/gate/e", {1.0f}) == std::pair{K::write, true});
    CHECK(kind("/patch/dump", {}) == std::pair{K::query, false});
    CHECK(kind("/patch/ir", {}) == std::pair{K::query, false});
    CHECK(kind("/engine/status", {}) == std::pair{K::query, false});
    CHECK(kind("/engine/quit", {}) == std::pair{K::quit, false});
}

TEST_CASE("bad control commands say what was wrong", "[control][errors]") {
    CHECK_THAT(decodeError("/patch/wobble", {}), Catch::Contains("unknown address"));
    CHECK_THAT(decodeError("/patch/create", {std::string("x")}), Catch::Contains("takes 2 to 3"));
    CHECK_THAT(
        decodeError("/patch/create", {std::string("x"), std::string("sine"), std::string("y")}),
        Catch::Contains("must be a number"));
    CHECK_THAT(decodeError("/patch/commit", {1.0f}), Catch::Contains("takes 0 argument"));
    CHECK_THAT(decodeError("/mod/osc1", {1.0f}), Catch::Contains("/mod/<id>/<param>"));
    CHECK_THAT(decodeError("/mod/osc1/freq/x", {1.0f}), Catch::Contains("/mod/<id>/<param>"));
    CHECK_THAT(decodeError("/mod/osc1/freq", {}), Catch::Contains("takes 1"));
    CHECK_THAT(decodeError("/mod/osc1/freq", {std::numeric_limits<float>::quiet_NaN()}),
               Catch::Contains("finite"));
    CHECK_THAT(decodeError("/gate/env1", {0.5f}), Catch::Contains("0 or 1"));
    CHECK_THAT(decodeError("/gate/", {1.0f}), Catch::Contains("/gate/<id>"));
    CHECK_THAT(decodeError("/patch/ir", {std::string("bitcode")}),
               Catch::Contains("lowered, optimized or asm"));
    CHECK_THAT(decodeError("/patch/create", {1.5f, std::string("sine")}),
               Catch::Contains("must be a string"));
}

#include "runtime/offline_render.h"

TEST_CASE("render errors carry the line of the bad edit", "[patchfile][errors]") {
    auto lines = parsePatchText("/patch/create osc1 simple_sine\n"
                                "# comment\n"
                                "/patch/connect osc1 nowhere\n");
    REQUIRE(lines.ok());
    OfflineRenderOptions opts;
    opts.seconds = 0.01;
    auto r = renderPatch(*lines, opts);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::StartsWith("line 3:") && Catch::Contains("nowhere"));

    auto backwards = parsePatchText("@1 /patch/commit\n@0.5 /patch/commit\n");
    REQUIRE(backwards.ok());
    auto b = renderPatch(*backwards, opts);
    REQUIRE_FALSE(b.ok());
    CHECK_THAT(b.error().message, Catch::StartsWith("line 2:"));
}

TEST_CASE("a whole number a float cannot hold is refused, never stored as another",
          "[patchfile][errors]") {
    // Issue 15, case 11: a noise seed of 16777217 was stored as 16777216.
    auto r = parsePatchText("/patch/create n1 noise 16777217\n");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(
        r.error().message,
        Catch::StartsWith("line 1: 16777217 is a whole number a float cannot hold exactly") &&
            Catch::Contains("it would become 16777216"));
    auto ok = parsePatchText("/patch/create n1 noise 16777216\n/mod/x/y 0.1\n/mod/x/y 16777218\n");
    REQUIRE(ok.ok());
    CHECK(std::get<float>((*ok)[0].args[2]) == 16777216.0f);
    CHECK(std::get<float>((*ok)[1].args[0]) == 0.1f); // fractions round as floats do
    CHECK(std::get<float>((*ok)[2].args[0]) == 16777218.0f);
    CHECK(patchNumber(-16777217.0).error().message == "-16777217 is a whole number a float cannot "
                                                      "hold exactly (whole numbers are exact up to "
                                                      "16777216); it would become -16777216");
}

TEST_CASE("patch-file errors never echo raw bytes to the terminal", "[patchfile][errors]") {
    auto r = parsePatchText("\x1b]0;pwned\x07 /patch/commit\n", "x\x1b.patch");
    REQUIRE_FALSE(r.ok());
    const std::string& m = r.error().message;
    for (char c : m) {
        INFO(m);
        REQUIRE((c >= 0x20 && c < 0x7f));
    }
    CHECK(m == "x\\x1b.patch:1: '\\x1b]0;pwned\\x07' is not an OSC address (they start with '/')");
    CHECK(printable("abc\xff", 2) == "ab...");
}

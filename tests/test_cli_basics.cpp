// What a new user meets first: `chronus --version`, `--help` with every default shown, and errors
// that suggest the name that was meant.
#include "compiler/patch_graph.h"
#include "tests/support/cli_process.h"
#include "tests/test_engine_harness.h"

#include <catch2/catch.hpp>

using namespace chronus;
using namespace chronus::test;

TEST_CASE("chronus --version says what this build is and what the JIT makes of the CPU", "[cli]") {
    Run r = run({CHRONUS_BINARY, "--version"}, tempPath("version", ".log"));
    INFO(r.output);
    CHECK(r.rc == 0);
    CHECK_THAT(r.output, Catch::StartsWith("chronus 0."));
    CHECK_THAT(r.output, Catch::Contains("LLVM 19."));
    CHECK_THAT(r.output, Catch::Contains("CPU features"));
    CHECK_THAT(r.output, Catch::Contains("SIMD lanes"));
    CHECK_THAT(r.output, Catch::Contains(" floats"));
}

TEST_CASE("--help shows the defaults", "[cli]") {
    Run render = run({CHRONUS_BINARY, "render", "--help"}, tempPath("help", ".log"));
    CHECK_THAT(render.output, Catch::Contains("--seconds FLOAT:FLOAT in [0.001 - 86400]=5"));
    CHECK_THAT(render.output, Catch::Contains("=48000"));
    CHECK_THAT(render.output, Catch::Contains("--format TEXT:{float,24,16}=float"));
    Run serve = run({CHRONUS_BINARY, "serve", "--help"}, tempPath("help", ".log"));
    CHECK_THAT(serve.output, Catch::Contains("--xfade-ms FLOAT:FLOAT in [0 - 1000]=10"));
    CHECK_THAT(serve.output, Catch::Contains("--tiered TEXT:{on,off}=on"));
    CHECK_THAT(serve.output, Catch::Contains("=57130"));
    Run ir = run({CHRONUS_BINARY, "ir", "--help"}, tempPath("help", ".log"));
    CHECK_THAT(ir.output, Catch::Contains("=optimized"));
}

TEST_CASE("a misspelt type, id, port, parameter or choice gets the name that was meant",
          "[cli][graph]") {
    PatchGraph g;
    auto error = [](const Status& s) { return s.ok() ? std::string("<ok>") : s.message(); };
    CHECK_THAT(error(g.create("o", "simple_sin")),
               Catch::Contains("unknown module type 'simple_sin' (did you mean 'simple_sine'?)"));
    CHECK_THAT(error(g.create("o", "biquad_filtr")), Catch::Contains("'biquad_filter'"));
    CHECK_THAT(error(g.create("o", "sin")), Catch::Contains("(did you mean 'sine'?)"));
    // Nothing close: no guess.
    CHECK(error(g.create("o", "wobble")).find("did you mean") == std::string::npos);
    REQUIRE(g.create("osc1", "saw").ok());
    REQUIRE(g.create("echo", "delay").ok());
    REQUIRE(g.create("filt1", "biquad_filter").ok());
    CHECK_THAT(error(g.setParam("osc1", "fre", 1)),
               Catch::Contains("osc1 (saw) has no parameter 'fre' (did you mean 'freq'?)"));
    CHECK_THAT(error(g.setParam("osc", "freq", 1)),
               Catch::Contains("unknown module id 'osc' (did you mean 'osc1'?)"));
    CHECK_THAT(error(g.connect("echo:wte", "filt1")), Catch::Contains("(did you mean 'wet'?)"));
    CHECK_THAT(error(g.connect("osc1", "filt1:cutof")),
               Catch::Contains("no input or parameter 'cutof' (did you mean 'cutoff'?)"));
    CHECK_THAT(error(g.setParamChoice("filt1", "mode", "hpp")),
               Catch::Contains("no choice 'hpp' (did you mean 'hp'?)"));
    // A choice in any letter case is the choice.
    CHECK(g.setParamChoice("filt1", "mode", "HP").ok());
    CHECK(g.setParamChoice("filt1", "mode", "Lp").ok());
    // One letter is too short to guess from.
    CHECK(error(g.setParam("osc1", "x", 1)).find("did you mean") == std::string::npos);
}

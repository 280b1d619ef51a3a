// `chronus graph`: the SVG it writes is well-formed XML (xmllint) that a browser shows (a headless
// Chromium loads it as an image; skipped with a message where chromium is not installed), and the
// picture holds what the patch is: every module, the fusion groups as clusters, modulation drawn
// apart from audio.
#include "tests/support/cli_process.h"
#include "tests/test_engine_harness.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

using namespace chronus::test;

namespace {

const std::string kPad = std::string(CHRONUS_SOURCE_DIR) + "/examples/pad_detuned_saws.patch";

bool onPath(const std::string& program) {
    return std::system(("command -v " + program + " >/dev/null 2>&1").c_str()) == 0;
}

Run graph(const std::string& patch, const std::string& out) {
    return run({CHRONUS_BINARY, "graph", patch, "-o", out}, tempPath("graph", ".log"));
}

} // namespace

TEST_CASE("chronus graph draws modules, fusion groups and modulation", "[graph][cli]") {
    const std::string dot = tempPath("graph", ".dot");
    Run r = graph(kPad, dot);
    INFO(r.output);
    REQUIRE(r.rc == 0);
    const std::string text = fileText(dot);
    for (const char* id : {"saw1", "saw4", "voices", "filt", "sweep", "env", "echo", "out"})
        CHECK_THAT(text, Catch::Contains(std::string(id) + "|"));
    // Four saws of one shape: four clusters that say so, filled alike.
    CHECK_THAT(text, Catch::Contains("subgraph cluster_"));
    CHECK_THAT(text, Catch::Contains("shape 1 (x4)"));
    // The lfo sweeps the filter's cutoff: a dashed modulation edge named by the parameter.
    CHECK(std::regex_search(text,
                            std::regex("n\\d+ -> n\\d+ \\[style=dashed[^\\]]*label=\"cutoff\"")));
    CHECK_THAT(text, Catch::Contains("cutoff 900 Hz"));
    CHECK_THAT(text, Catch::Contains("-> speaker"));
    std::remove(dot.c_str());
}

TEST_CASE("chronus graph writes an SVG that is XML and that a browser shows", "[graph][cli]") {
    const std::string dir = tempPath("graphsvg", "");
    std::filesystem::create_directories(dir);
    const std::string svg = dir + "/pad.svg";
    Run r = graph(kPad, svg);
    INFO(r.output);
    REQUIRE(r.rc == 0);
    const std::string text = fileText(svg);
    CHECK_THAT(text, Catch::Contains("<svg"));
    CHECK_THAT(text, Catch::Contains("saw1"));
    if (onPath("xmllint")) {
        Run lint = run({"xmllint", "--noout", svg}, tempPath("xmllint", ".log"));
        INFO(lint.output);
        CHECK(lint.rc == 0);
    } else {
        WARN("xmllint not installed (scripts/setup.sh installs libxml2-utils): XML not checked");
    }
    std::string chromium;
    for (const char* name : {"chromium", "chromium-browser", "google-chrome"})
        if (chromium.empty() && onPath(name)) chromium = name;
    if (chromium.empty()) {
        WARN("skipped: no chromium (CHRONUS_SETUP_BROWSER=1 scripts/setup.sh installs it)");
    } else {
        // A page that loads the SVG as an image and writes the outcome into its title.
        const std::string page = dir + "/view.html";
        std::ofstream(page) << "<!doctype html><title>pending</title><img src=\"pad.svg\" "
                               "onload=\"document.title='shown '+this.naturalWidth+'x'+"
                               "this.naturalHeight\" onerror=\"document.title='refused'\">";
        Run shown = run({chromium, "--headless", "--no-sandbox", "--disable-gpu",
                         "--user-data-dir=" + dir + "/profile", "--dump-dom", "file://" + page},
                        tempPath("chromium", ".log"), 120);
        INFO(shown.output);
        std::smatch m;
        REQUIRE(std::regex_search(shown.output, m, std::regex("<title>shown (\\d+)x(\\d+)")));
        CHECK(std::stoi(m[1]) > 200);
        CHECK(std::stoi(m[2]) > 100);
        // And a screenshot, for a person to look at when this fails.
        Run shot = run({chromium, "--headless", "--no-sandbox", "--disable-gpu",
                        "--user-data-dir=" + dir + "/profile", "--screenshot=" + dir + "/pad.png",
                        "--window-size=1600,600", "file://" + svg},
                       tempPath("chromium", ".log"), 120);
        CHECK(std::filesystem::exists(dir + "/pad.png"));
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("chronus graph refuses a file with no commit and an unknown picture type",
          "[graph][cli]") {
    const std::string patch = tempPath("graphnocommit", ".patch");
    std::ofstream(patch) << "/patch/create osc1 saw\n";
    Run r = graph(patch, tempPath("graph", ".svg"));
    CHECK(r.rc == 1);
    CHECK_THAT(r.output, Catch::Contains("has no /patch/commit"));
    Run ext = graph(kPad, tempPath("graph", ".jpeg"));
    CHECK(ext.rc == 1);
    CHECK_THAT(ext.output, Catch::Contains("write .svg, .png, .pdf or .dot"));
    std::remove(patch.c_str());
}

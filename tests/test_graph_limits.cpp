// How large a patch may grow (base/graph_limits.h): modules, sources into one input, bytes of
// state, and creation arguments that must be whole numbers. Each refusal names the limit and the
// option that raises it, changes nothing, and the patch that plays plays on.
#include "compiler/patch_graph.h"
#include "runtime/patch_player.h"
#include "tests/test_engine_harness.h"
#include "tests/test_osc_client.h"

#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <unistd.h>

using namespace chronus;
using namespace chronus::test;

namespace {

std::string errorOf(const Status& s) {
    return s.ok() ? std::string("(ok)") : s.message();
}

double rmsOf(const std::vector<float>& x) {
    double acc = 0;
    for (float v : x) acc += double(v) * v;
    return x.empty() ? 0 : std::sqrt(acc / double(x.size()));
}

} // namespace

TEST_CASE("a patch holds 100,000 modules by default, and the next one is refused",
          "[graph][limits]") {
    PatchGraph g;
    for (int i = 0; i < 100'000; ++i) REQUIRE(g.create(fmt::format("m{}", i), "gain").ok());
    Status s = g.create("one_more", "gain");
    CHECK_THAT(errorOf(s),
               Catch::Contains("already has 100000 modules") && Catch::Contains("--max-modules"));
    CHECK(g.modules().size() == 100'000);
    CHECK(g.find("one_more") == nullptr);
    // Deleting one makes room again.
    REQUIRE(g.remove("m0").ok());
    CHECK(g.create("one_more", "gain").ok());
}

TEST_CASE("each limit refuses with its name and option, and changes nothing", "[graph][limits]") {
    GraphLimits limits;
    limits.maxModules = 4;
    limits.maxSourcesPerInput = 2;
    limits.maxStateBytes = 1 << 20; // 1 MB: a delay of 10 s at 48 kHz is 1.8 MB
    PatchGraph g(limits);
    REQUIRE(g.create("a", "simple_sine").ok());
    REQUIRE(g.create("b", "simple_sine").ok());
    REQUIRE(g.create("c", "simple_sine").ok());
    REQUIRE(g.create("sum", "gain").ok());
    REQUIRE(g.connect("a", "sum").ok());
    REQUIRE(g.connect("b", "sum").ok());
    REQUIRE(g.connect("a", "sum:level").ok()); // another input: its own count
    const std::string before = g.toPatchText();
    const uint64_t bytes = g.stateBytes();

    CHECK_THAT(errorOf(g.create("d", "gain")),
               Catch::Contains("already has 4 modules") && Catch::Contains("--max-modules"));
    CHECK_THAT(errorOf(g.connect("c", "sum")),
               Catch::Contains("sum:in already has 2 sources") && Catch::Contains("--max-sources"));
    CHECK(g.toPatchText() == before);

    REQUIRE(g.remove("c").ok());
    CHECK_THAT(errorOf(g.create("d", "delay", 10000.0f)),
               Catch::Contains("d (delay) needs 1.8 MB of state") &&
                   Catch::Contains("of its 1.0 MB") && Catch::Contains("--max-state-mb"));
    CHECK(g.find("d") == nullptr);
    CHECK(g.stateBytes() < bytes);                // c's state went with it, d's never came
    REQUIRE(g.create("d", "delay", 100.0f).ok()); // 19 KB fits
    CHECK(g.stateBytes() > bytes);
    REQUIRE(g.disconnect("b", "sum").ok());
    CHECK(g.connect("d", "sum").ok()); // a source taken away makes room
}

TEST_CASE("state is counted at the limits' sample rate", "[graph][limits]") {
    GraphLimits at48k, at96k;
    at96k.sampleRate = 96000;
    PatchGraph a(at48k), b(at96k);
    REQUIRE(a.create("d", "delay", 2000.0f).ok());
    REQUIRE(b.create("d", "delay", 2000.0f).ok());
    CHECK(b.stateBytes() > a.stateBytes() * 19 / 10);
    // The schedule lays out what the graph counted.
    auto schedule = buildSchedule(a, {48000});
    REQUIRE(schedule.ok());
    CHECK(schedule->stateBytes == a.stateBytes());
}

TEST_CASE("creation arguments that count or seed must be whole numbers", "[graph][limits]") {
    PatchGraph g;
    CHECK_THAT(errorOf(g.create("m", "mix", 2.5f)),
               Catch::Contains("mix inputs takes a whole number, got 2.5"));
    CHECK_THAT(errorOf(g.create("n", "noise", 7.25f)),
               Catch::Contains("noise seed takes a whole number"));
    CHECK(g.modules().empty());
    REQUIRE(g.create("m", "mix", 3.0f).ok());
    CHECK(g.find("m")->layout->inputs.size() == 3);
    CHECK(g.create("d", "delay", 2.5f).ok()); // milliseconds: any value
    auto lines = parsePatchText("/patch/create m2 mix 2.5\n");
    REQUIRE(lines.ok());
    auto script = checkPatch(*lines, "f.patch");
    REQUIRE_FALSE(script.ok());
    CHECK_THAT(script.error().message, Catch::StartsWith("f.patch:1: mix inputs takes a whole"));
}

TEST_CASE("a patch file is checked against the limits it will play with", "[graph][limits]") {
    auto lines = parsePatchText("/patch/create a simple_sine\n/patch/create b simple_sine\n"
                                "/patch/create c simple_sine\n/patch/commit\n");
    REQUIRE(lines.ok());
    CHECK(checkPatch(*lines, "f.patch").ok());
    GraphLimits two;
    two.maxModules = 2;
    auto script = checkPatch(*lines, "f.patch", two);
    REQUIRE_FALSE(script.ok());
    CHECK_THAT(script.error().message,
               Catch::StartsWith("f.patch:3: the patch already has 2 modules") &&
                   Catch::Contains("--max-modules"));
}

TEST_CASE("the engine refuses edits past its limits and the patch plays on", "[engine][limits]") {
    EngineOptions o;
    o.limits.maxModules = 4;
    o.limits.maxSourcesPerInput = 2;
    o.limits.maxStateBytes = 64 << 10; // a delay of 2 s at 48 kHz needs 375 KB
    OfflineRig rig(o);
    rig.apply("/patch/create a simple_sine\n/patch/create b simple_sine\n/patch/create sum gain\n"
              "/patch/connect a sum\n/patch/connect b sum\n/patch/commit\n");
    rig.renderSeconds(0.1);
    const std::string playing = rig.engine->dump();
    Engine& e = *rig.engine;
    REQUIRE(e.create("c", "simple_sine").ok());
    CHECK_THAT(errorOf(e.connect("c", "sum")), Catch::Contains("--max-sources"));
    CHECK_THAT(errorOf(e.create("d", "simple_sine")), Catch::Contains("--max-modules"));
    REQUIRE(e.remove("c").ok());
    CHECK_THAT(errorOf(e.create("d", "delay", 2000.0f)), Catch::Contains("--max-state-mb"));
    REQUIRE(e.create("d", "delay", 100.0f).ok());
    REQUIRE(e.connect("sum", "d").ok());
    const size_t from = rig.position();
    rig.renderSeconds(0.2);
    CHECK(e.dump() == playing); // nothing committed yet: the patch of before plays, unchanged
    CHECK(rmsOf(rig.slice(from, rig.position())) > 0.05);
    CommitReport r = rig.commit();
    REQUIRE(r.ok);
    CHECK_THAT(e.dump(), Catch::Contains("/patch/connect sum:out d:in") &&
                             !Catch::Contains("/patch/create c "));
    rig.renderSeconds(0.1);
    CHECK(rmsOf(rig.slice(rig.position() - 2400, rig.position())) > 0.05);
}

TEST_CASE("serve and render take the limit options and name them when refusing",
          "[graph][limits][cli]") {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("chronus-limits-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto patch = dir / "three.patch", wav = dir / "out.wav", log = dir / "log.txt";
    std::ofstream(patch) << "/patch/create a simple_sine\n/patch/create b simple_sine\n"
                            "/patch/create c simple_sine\n/patch/commit\n";
    const std::string bin = CHRONUS_BINARY;
    auto run = [&](const std::string& args) {
        return std::system((bin + " " + args + " > '" + log.string() + "' 2>&1").c_str());
    };
    const std::string files = "'" + patch.string() + "' -o '" + wav.string() + "' -s 0.05";
    CHECK(run("render " + files + " --max-modules 3 --max-sources 8 --max-state-mb 16") == 0);
    CHECK(run("render " + files + " --max-modules 2") != 0);
    std::ifstream in(log);
    const std::string printed((std::istreambuf_iterator<char>(in)), {});
    CHECK_THAT(printed, Catch::Contains("three.patch:3: the patch already has 2 modules") &&
                            Catch::Contains("--max-modules"));
    CHECK(run("serve --device null --no-osc --seconds 0.05 --max-modules 2 --patch '" +
              patch.string() + "'") != 0);
    CHECK(run("render " + files + " --max-modules 0") != 0); // out of range
    std::filesystem::remove_all(dir);
}

TEST_CASE("over OSC each limit is an /error naming it and its option, and raised the edit is taken",
          "[graph][limits][osc]") {
    // The same edits against a serve with tight limits, then one with them raised.
    struct Edit {
        std::string address;
        std::vector<test::OscArg> args;
        std::string refusal; ///< what the /error says under the tight limits; empty: /done
    };
    const std::vector<Edit> edits = {
        {"/patch/create", {"a", "simple_sine"}, ""},
        {"/patch/create", {"b", "simple_sine"}, ""},
        {"/patch/create", {"sum", "gain"}, ""},
        {"/patch/connect", {"a", "sum"}, ""},
        {"/patch/connect", {"b", "sum"}, "--max-sources"},
        {"/patch/create", {"c", "simple_sine"}, "--max-modules"},
        {"/patch/delete", {"b"}, ""},
        {"/patch/create", {"d", "delay", 10000.0f}, "--max-state-mb"},
    };
    const std::vector<std::pair<std::string, std::string>> names = {
        {"--max-sources", "sum:in already has 1 source, the most"},
        {"--max-modules", "already has 3 modules"},
        {"--max-state-mb", "needs 1.8 MB of state"},
    };
    for (const bool raised : {false, true}) {
        INFO((raised ? "raised limits" : "tight limits"));
        const int port = test::freeUdpPort();
        const std::string log = tempPath(raised ? "limits_raised" : "limits_tight", ".log");
        const std::vector<std::string> limits =
            raised ? std::vector<std::string>{"--max-modules",  "4", "--max-sources", "2",
                                              "--max-state-mb", "2"}
                   : std::vector<std::string>{"--max-modules",  "3", "--max-sources", "1",
                                              "--max-state-mb", "1"};
        std::vector<std::string> argv = {CHRONUS_BINARY, "serve",  "--device",
                                         "null",         "--port", std::to_string(port),
                                         "--seconds",    "60"};
        argv.insert(argv.end(), limits.begin(), limits.end());
        pid_t pid = spawnProcess(argv, log);
        REQUIRE(pid > 0);
        for (int i = 0; i < 3000 && readText(log).find("OSC on") == std::string::npos; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        INFO(readText(log));
        test::OscClient client(port);
        for (const Edit& e : edits) {
            INFO(e.address << " " << std::get<std::string>(e.args[0]));
            client.send(e.address, e.args);
            if (raised || e.refusal.empty()) {
                CHECK(client.waitFor("/done", 10));
                continue;
            }
            auto err = client.waitFor("/error", 10);
            REQUIRE(err);
            CHECK(err->str(0) == e.address);
            CHECK_THAT(err->str(1), Catch::Contains(e.refusal));
            for (const auto& [option, words] : names)
                if (option == e.refusal) CHECK_THAT(err->str(1), Catch::Contains(words));
        }
        client.send("/patch/commit");
        auto committed = client.waitFor("/patch/committed", 30);
        REQUIRE(committed);
        client.send("/patch/dump");
        auto dump = client.waitFor("/patch/dump", 10);
        REQUIRE(dump);
        // Refused edits changed nothing; with the limits raised, every edit was taken.
        CHECK((dump->str(2).find("/patch/create c ") != std::string::npos) == raised);
        CHECK((dump->str(2).find("/patch/create d delay") != std::string::npos) == raised);
        client.send("/engine/quit");
        CHECK(waitExit(pid, 30) == 0);
        std::remove(log.c_str());
    }
}

// Parameter writes through the engine: validated by each module's descriptor with the patch
// graph's own check (compiler/param_check.h), so with exactly the verdicts and words of
// PatchGraph::setParam, and values that follow the patch's structure (a module deleted and made
// again starts from its defaults).
#include "compiler/patch_graph.h"
#include "modules/registry.h"
#include "tests/test_engine_harness.h"

#include <cmath>
#include <limits>

using namespace chronus;
using namespace chronus::test;

namespace {

std::string verdict(const Status& s) {
    return s.ok() ? std::string("ok") : s.message();
}

} // namespace

TEST_CASE("every module's parameters are refused exactly as the patch graph refuses them",
          "[engine][params][errors]") {
    EngineOptions o;
    o.factory = interpreterFactory();
    o.tiered = false;
    o.prewarm = false;
    auto created = Engine::create(o);
    REQUIRE(created.ok());
    Engine& e = **created;
    PatchGraph graph;
    int compared = 0;
    for (const ModuleDescriptor* desc : allModules()) {
        const std::string id = "m_" + std::string(desc->type);
        REQUIRE(graph.create(id, desc->type).ok());
        REQUIRE(e.create(id, std::string(desc->type)).ok());
        const ModuleLayout& layout = *graph.find(id)->layout;
        for (const auto& p : layout.params) {
            const float lo = p.desc.minValue, hi = p.desc.maxValue;
            const float inf = std::numeric_limits<float>::infinity();
            for (float v :
                 {p.desc.defaultValue, lo, hi, lo - 1, hi + 1, std::nextafter(hi, inf),
                  std::nextafter(lo, -inf), lo + 0.5f, (lo + hi) / 2, std::nanf(""), inf, -inf}) {
                INFO(id << ":" << p.name << " = " << v);
                CHECK(verdict(e.setParam(id, p.name, v)) == verdict(graph.setParam(id, p.name, v)));
                ++compared;
            }
            std::vector<std::string> names{"", "nope", "1"};
            for (std::string_view c : p.desc.choices) names.emplace_back(c);
            for (const std::string& c : names) {
                INFO(id << ":" << p.name << " = '" << c << "'");
                CHECK(verdict(e.setParamChoice(id, p.name, c)) ==
                      verdict(graph.setParamChoice(id, p.name, c)));
                ++compared;
            }
        }
        CHECK(verdict(e.setParam(id, "nope", 0)) == verdict(graph.setParam(id, "nope", 0)));
        CHECK(verdict(e.setParamChoice(id, "nope", "x")) ==
              verdict(graph.setParamChoice(id, "nope", "x")));
        CHECK(verdict(e.gate(id, 1)) == verdict(graph.setParam(id, "gate", 1)));
    }
    CHECK(verdict(e.setParam("ghost", "freq", 1)) == verdict(graph.setParam("ghost", "freq", 1)));
    CHECK(verdict(e.setParamChoice("ghost", "mode", "hp")) ==
          verdict(graph.setParamChoice("ghost", "mode", "hp")));
    CHECK(compared > 100);
}

TEST_CASE("a module deleted and made again starts from its defaults, and is validated as what "
          "it is now",
          "[engine][params]") {
    OfflineRig rig;
    rig.apply("/patch/create osc1 simple_sine\n/patch/commit\n");
    Engine& e = *rig.engine;
    REQUIRE(e.setParam("osc1", "freq", 300).ok());
    REQUIRE(e.remove("osc1").ok());
    REQUIRE(e.setParam("osc1", "freq", 310).ok()); // still playing: the write reaches it
    REQUIRE(e.create("osc1", "adsr").ok());        // now pending's osc1 has no freq
    CHECK_THAT(e.setParam("osc1", "freq", 320).message(), Catch::Contains("no parameter 'freq'"));
    REQUIRE(e.setParam("osc1", "attack", 20).ok());
    REQUIRE(e.remove("osc1").ok());
    REQUIRE(e.create("osc1", "simple_sine").ok());
    REQUIRE(e.setParam("osc1", "gain", 0.25f).ok());
    CHECK_THAT(e.dump(), Catch::Contains("/mod/osc1/freq 310")); // what plays until the commit
    REQUIRE(rig.commit().ok);
    const std::string dump = e.dump();
    CHECK_THAT(dump, !Catch::Contains("/mod/osc1/freq"));   // the new osc1's default
    CHECK_THAT(dump, !Catch::Contains("/mod/osc1/attack")); // the adsr never played
    CHECK_THAT(dump, Catch::Contains("/mod/osc1/gain 0.25"));
}

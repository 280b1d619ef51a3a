// setParamAt: sample-accurate timed parameter events through a bounded queue, split into the
// block at their sample, in time order whatever the order they came in, never lost to a commit.
#include "tests/support/signal_measure.h"
#include "tests/test_engine_harness.h"

using namespace chronus;
using namespace chronus::test;

namespace {

struct Change {
    uint64_t at;
    float freq;
};

/// osc1 with frequency changes applied either as timed events queued up front or by rendering
/// exactly to each change and setting it directly. Both must give the same samples.
std::vector<float> renderChanges(const std::vector<Change>& changes, bool timed, uint64_t total) {
    OfflineRig rig;
    rig.apply("/patch/create osc1 simple_sine\n/patch/commit\n");
    rig.render(100);
    if (timed) {
        for (const Change& c : changes)
            REQUIRE(rig.engine->setParamAt(c.at, "osc1", "freq", c.freq).ok());
        rig.render(total - rig.position());
        return rig.out;
    }
    std::vector<size_t> order(changes.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return changes[a].at != changes[b].at ? changes[a].at < changes[b].at : a < b;
    });
    for (size_t i : order) {
        const Change& c = changes[i];
        // An event already past applies at the start of the next callback (here: sample 100).
        const uint64_t at = std::max<uint64_t>(c.at, rig.position());
        rig.render(at - rig.position());
        REQUIRE(rig.engine->setParam("osc1", "freq", c.freq).ok());
    }
    rig.render(total - rig.position());
    return rig.out;
}

float worstDifference(const std::vector<float>& a, const std::vector<float>& b) {
    REQUIRE(a.size() == b.size());
    float w = 0;
    for (size_t i = 0; i < a.size(); ++i) w = std::max(w, std::fabs(a[i] - b[i]));
    return w;
}

} // namespace

TEST_CASE("timed parameter events land on their exact sample, mid-block, in time order",
          "[engine][timed]") {
    // Out of order on purpose, off the 256-frame grid, two at one sample (the later call wins).
    const std::vector<Change> changes = {
        {5003, 660}, {1234, 880}, {9000, 330}, {9000, 550}, {2047, 220}};
    const auto timed = renderChanges(changes, true, 12000);
    const auto direct = renderChanges(changes, false, 12000);
    CHECK(worstDifference(timed, direct) == 0.0f);
    // And they did change something.
    CHECK(worstDifference(timed, renderChanges({}, false, 12000)) > 0.1f);
}

TEST_CASE("a timed event already past applies at the next block", "[engine][timed]") {
    const auto timed = renderChanges({{7, 880}}, true, 4000);
    const auto direct = renderChanges({{7, 880}}, false, 4000);
    CHECK(worstDifference(timed, direct) == 0.0f);
}

TEST_CASE("a full timed-event queue refuses at once, and frees up as events play",
          "[engine][timed]") {
    OfflineRig rig;
    rig.apply("/patch/create osc1 simple_sine\n/patch/commit\n");
    size_t accepted = 0;
    Status refused;
    for (int i = 0; i < 10000; ++i) {
        Status s =
            rig.engine->setParamAt(1000 + uint64_t(i), "osc1", "freq", 100.0f + float(i % 1000));
        if (!s) {
            refused = s;
            break;
        }
        ++accepted;
    }
    CHECK(accepted == 4096);
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.message(), Catch::Contains("timed events are already waiting"));
    rig.render(20000);   // all played
    rig.engine->abort(); // any control call takes the acknowledgements back
    CHECK(rig.engine->setParamAt(30000, "osc1", "freq", 440).ok());
}

TEST_CASE("a timed value that has played survives the next commit", "[engine][timed]") {
    OfflineRig rig;
    rig.apply("/patch/create osc1 simple_sine\n/patch/commit\n");
    REQUIRE(rig.engine->setParamAt(2000, "osc1", "freq", 660).ok());
    rig.render(4000);
    REQUIRE(rig.engine->create("osc2", "simple_sine").ok());
    REQUIRE(rig.engine->setParam("osc2", "gain", 0).ok());
    REQUIRE(rig.commit().ok);
    rig.render(9600);
    CHECK(peakFrequency(rig.slice(rig.position() - 4800, rig.position()), 48000, 300, 1000) ==
          Approx(660).margin(1));
    CHECK_THAT(rig.engine->dump(), Catch::Contains("/mod/osc1/freq 660"));
}

TEST_CASE("timed events for unknown modules or bad values are refused", "[engine][timed][errors]") {
    OfflineRig rig;
    rig.apply("/patch/create osc1 simple_sine\n/patch/commit\n");
    CHECK_THAT(rig.engine->setParamAt(10, "nope", "freq", 1).message(),
               Catch::Contains("unknown module id 'nope'"));
    CHECK_THAT(rig.engine->setParamAt(10, "osc1", "wobble", 1).message(),
               Catch::Contains("no parameter 'wobble'"));
    CHECK_THAT(rig.engine->setParamAt(10, "osc1", "gain", 9).message(), Catch::Contains("outside"));
}

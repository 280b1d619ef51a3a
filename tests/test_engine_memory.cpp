// Memory stays flat over many commits: every old slot (and its JIT code) is freed once the audio
// thread has let go of it.
#include "tests/test_engine_harness.h"

using namespace chronus;
using namespace chronus::test;

namespace {

/// `count` commits that alternately add and remove a module, rendering a little between them;
/// with `settle`, each one also reaches its final tier (tiered compiles) before the next.
void commitMany(OfflineRig& rig, int count, bool settle = false) {
    for (int i = 0; i < count; ++i) {
        if (i % 2 == 0)
            REQUIRE(rig.engine->create("extra", "simple_sine").ok());
        else
            REQUIRE(rig.engine->remove("extra").ok());
        CommitReport r = rig.commit();
        INFO(r.reason);
        REQUIRE(r.ok);
        rig.backend->render(nullptr, 256);
        if (settle) rig.settleTiers();
    }
}

void checkFlat(ProgramFactory factory, int warmup, int count, size_t allowedGrowth) {
    OfflineRig rig({.factory = std::move(factory), .xfadeMs = 1});
    rig.apply("/patch/create osc1 simple_sine\n/patch/create f1 gain\n/patch/connect osc1 "
              "f1\n/patch/commit\n");
    // Warm-up: every patch of the cycle also reaches its optimised tier, so that the compiler's
    // first use of its memory is in `before` (what is measured is what the commits leak).
    commitMany(rig, warmup, true);
    const size_t before = residentBytes();
    commitMany(rig, count);
    const size_t after = residentBytes();
    INFO("RSS " << before / 1024 << " KB -> " << after / 1024 << " KB over " << count
                << " commits");
    CHECK(after <= before + allowedGrowth);
    CHECK(rig.engine->status().activeSeq == uint64_t(1 + warmup + count));
}

} // namespace

TEST_CASE("memory is flat over 1,000 commits (interpreter)", "[engine][memory]") {
    checkFlat(interpreterFactory(), 100, 1000, 1u << 20);
}

TEST_CASE("memory is flat over 80 commits (default engine: JIT code is freed)",
          "[engine][memory]") {
    checkFlat(defaultFactory(), 20, 80, 1u << 20);
}

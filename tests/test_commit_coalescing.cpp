// Commits coalesce and obsolete compiles stop (runtime/commit_pipeline.h): at most one commit
// compiles and one waits; a newer commit replaces the waiting one and carries its report; a
// compile with a newer commit behind it is cancelled unless it carries others itself; every
// commit gets exactly one report, in order; a burst of commits of a big pending patch keeps
// memory bounded (issue 15, case 6).
#include "compiler/jit/jit.h"
#include "tests/test_engine_harness.h"

#include <atomic>
#include <map>
#include <mutex>

using namespace chronus;
using namespace chronus::test;

namespace {

/// A factory that compiles with the interpreter once `open` is set, and gives up (as an obsolete
/// compile does) when its compile is cancelled. Records each compile's module count and outcome.
struct GatedFactory {
    std::atomic<bool> open{true};
    /// When false, a compile held at the gate sees its cancel only once the gate opens, so a
    /// test's burst of commits cannot race the pipeline (a slow sanitizer build could start the
    /// second commit's compile between two of the test's commits).
    std::atomic<bool> cancelWhileShut{true};
    std::atomic<int> started{0};
    std::mutex mutex;
    std::vector<std::pair<size_t, std::string>> compiles; ///< (modules, "ok" | "cancelled")

    ProgramFactory factory() {
        return [this](const Schedule& s) -> Expected<std::unique_ptr<Program>> {
            started.fetch_add(1);
            // Cancelled is checked first: a compile cancelled while it waited gives up even if
            // the gate opens before it looks again (as a real one does at its next phase).
            for (;;) {
                if ((cancelWhileShut.load() || open.load()) && compileCancelled()) {
                    std::lock_guard lock(mutex);
                    compiles.emplace_back(s.nodes.size(), "cancelled");
                    return makeError("{}", kCompileCancelled);
                }
                if (open.load()) break;
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
            std::lock_guard lock(mutex);
            compiles.emplace_back(s.nodes.size(), "ok");
            return makeInterpreter(s);
        };
    }
};

struct Reports {
    std::mutex mutex;
    std::vector<CommitReport> list;
    CommitCallback callback() {
        return [this](const CommitReport& r) {
            std::lock_guard lock(mutex);
            list.push_back(r);
        };
    }
};

void waitFor(const std::function<bool()>& done) {
    for (int i = 0; i < 20000 && !done(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    REQUIRE(done());
}

} // namespace

TEST_CASE("a commit replaces the one waiting and cancels the compile in progress",
          "[engine][commit][coalesce]") {
    GatedFactory gate;
    gate.open = false;
    gate.cancelWhileShut = false;
    EngineOptions o;
    o.factory = gate.factory();
    o.tiered = false;
    o.prewarm = false;
    OfflineRig rig(o);
    Reports reports;
    std::vector<uint64_t> seqs;
    auto edit = [&](int k) {
        REQUIRE(rig.engine->create("o" + std::to_string(k), "simple_sine").ok());
    };
    edit(0);
    seqs.push_back(rig.engine->commit(reports.callback())); // compiles (and blocks)
    waitFor([&] { return gate.started.load() == 1; });
    for (int k = 1; k <= 4; ++k) { // the first waits; each later one replaces it
        edit(k);
        seqs.push_back(rig.engine->commit(reports.callback()));
    }
    // The first compile had nothing to carry: the commit behind it cancelled it. The one that
    // runs next is the last, with all five modules.
    gate.open = true;
    REQUIRE(rig.backend->waitForCommit(seqs.back(), 60'000));
    {
        std::lock_guard lock(gate.mutex);
        REQUIRE(gate.compiles.size() == 2);
        CHECK(gate.compiles[0] == std::pair<size_t, std::string>{1, "cancelled"});
        CHECK(gate.compiles[1] == std::pair<size_t, std::string>{5, "ok"});
    }
    // Exactly one report per commit, in order; the last commit's own, the others carried by it.
    std::lock_guard lock(reports.mutex);
    REQUIRE(reports.list.size() == seqs.size());
    for (size_t k = 0; k < seqs.size(); ++k) {
        INFO("commit " << seqs[k] << ": " << reports.list[k].reason);
        CHECK(reports.list[k].seq == seqs[k]);
        CHECK(reports.list[k].ok);
        CHECK(reports.list[k].carriedBy == (k + 1 < seqs.size() ? seqs.back() : 0));
    }
    const EngineStatus st = rig.engine->status();
    CHECK(st.commits == seqs.size());
    CHECK(st.failures == 0);
    CHECK(st.activeSeq == seqs.back());
    CHECK(rig.engine->dump().find("/patch/create o4 simple_sine") != std::string::npos);
}

TEST_CASE("a compile that carries others is not cancelled, so commit storms still play",
          "[engine][commit][coalesce]") {
    GatedFactory gate;
    gate.open = false;
    EngineOptions o;
    o.factory = gate.factory();
    o.tiered = false;
    o.prewarm = false;
    OfflineRig rig(o);
    Reports reports;
    std::vector<uint64_t> seqs;
    int modules = 0;
    auto commitOne = [&] {
        REQUIRE(rig.engine->create("o" + std::to_string(modules++), "simple_sine").ok());
        seqs.push_back(rig.engine->commit(reports.callback()));
    };
    commitOne();
    waitFor([&] { return gate.started.load() == 1; });
    commitOne();                                       // cancels the first; waits
    waitFor([&] { return gate.started.load() == 2; }); // the second compiles, carrying the first
    commitOne();                                       // waits behind it: no cancel this time
    commitOne();                                       // replaces the one waiting
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(gate.started.load() == 2);
    gate.open = true;
    REQUIRE(rig.backend->waitForCommit(seqs.back(), 60'000));
    std::lock_guard glock(gate.mutex);
    REQUIRE(gate.compiles.size() == 3);
    CHECK(gate.compiles[0].second == "cancelled");
    CHECK(gate.compiles[1] == std::pair<size_t, std::string>{2, "ok"}); // played
    CHECK(gate.compiles[2] == std::pair<size_t, std::string>{4, "ok"});
    std::lock_guard lock(reports.mutex);
    REQUIRE(reports.list.size() == 4);
    const uint64_t carriers[] = {seqs[1], 0, seqs[3], 0};
    for (size_t k = 0; k < 4; ++k) {
        CHECK(reports.list[k].seq == seqs[k]);
        CHECK(reports.list[k].ok);
        CHECK(reports.list[k].carriedBy == carriers[k]);
    }
}

TEST_CASE("a failed carrier fails the commits it carries, and the engine plays on",
          "[engine][commit][coalesce]") {
    GatedFactory gate;
    EngineOptions o;
    o.tiered = false;
    o.prewarm = false;
    auto inner = gate.factory();
    o.factory = [inner](const Schedule& s) -> Expected<std::unique_ptr<Program>> {
        if (s.find("bad") != nullptr) return makeError("refused on purpose");
        return inner(s);
    };
    OfflineRig rig(o);
    REQUIRE(rig.engine->create("good", "simple_sine").ok());
    REQUIRE(rig.commit().ok);
    gate.open = false;
    Reports reports;
    REQUIRE(rig.engine->create("slow", "simple_sine").ok());
    const uint64_t a = rig.engine->commit(reports.callback());
    waitFor([&] { return gate.started.load() == 2; });
    REQUIRE(rig.engine->create("bad", "simple_sine").ok());
    const uint64_t b = rig.engine->commit(reports.callback()); // cancels `a`, fails itself
    gate.open = true;
    REQUIRE(rig.backend->waitForCommit(b, 60'000));
    std::lock_guard lock(reports.mutex);
    REQUIRE(reports.list.size() == 2);
    CHECK(reports.list[0].seq == a);
    CHECK_FALSE(reports.list[0].ok);
    CHECK(reports.list[0].carriedBy == b);
    CHECK(reports.list[0].reason.find("refused on purpose") != std::string::npos);
    CHECK(reports.list[1].seq == b);
    CHECK_FALSE(reports.list[1].ok);
    CHECK(rig.engine->status().activeSeq == 1); // the first commit plays on
}

TEST_CASE("a burst of commits of a big pending patch keeps memory bounded",
          "[engine][commit][coalesce][memory]") {
    // Issue 15, case 6: 20,000 pending modules and 1,000 commits in a burst took 85 MB to 2.5 GB,
    // one full copy of the patch per queued commit. Now at most two wait.
    const int kModules = 20000, kCommits = 1000;
    EngineOptions o;
    o.factory = interpreterFactory();
    o.tiered = false;
    o.prewarm = false;
    // Nothing drives the audio during the burst: the first commit waits in its prime until the
    // end, and every later one coalesces behind it.
    o.primeTimeoutMs = 600'000;
    OfflineRig rig(o);
    std::string text;
    for (int k = 0; k < kModules; ++k) text += fmt::format("/patch/create m{} const\n", k);
    rig.apply(text);
    REQUIRE(rig.commit().ok);
    const size_t before = residentBytes();
    Reports reports;
    uint64_t last = 0;
    size_t peak = before;
    for (int k = 0; k < kCommits; ++k) {
        last = rig.engine->commit(reports.callback());
        if (k % 50 == 0) peak = std::max(peak, residentBytes());
    }
    REQUIRE(rig.backend->waitForCommit(last, 300'000));
    peak = std::max(peak, residentBytes());
    WARN(kCommits << " commits of " << kModules << " modules: resident " << before / (1 << 20)
                  << " MB before, at most " << peak / (1 << 20) << " MB during the burst");
    CHECK(peak < before + (size_t{200} << 20));
    std::lock_guard lock(reports.mutex);
    REQUIRE(reports.list.size() == size_t(kCommits));
    size_t carried = 0;
    for (size_t k = 0; k < reports.list.size(); ++k) {
        CHECK(reports.list[k].ok);
        carried += reports.list[k].carriedBy != 0 ? 1 : 0;
        if (k > 0) CHECK(reports.list[k].seq == reports.list[k - 1].seq + 1);
    }
    CHECK(carried > size_t(kCommits / 2)); // most never compiled on their own
    CHECK(rig.engine->status().commits == size_t(kCommits + 1));
}

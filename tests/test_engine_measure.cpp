// Figures, not assertions (hidden: run with `test_engine_measure "[.measure]"`, in a release
// build): commit-to-audible latency of a 16-module patch and the callback's load at 64 frames,
// on the null backend (a real-time-paced audio thread).
#include "runtime/backend.h"
#include "tests/test_engine_harness.h"

#include <algorithm>
#include <chrono>
#include <thread>

using namespace chronus;
using namespace chronus::test;

TEST_CASE("measure: commit-to-audible latency and callback load", "[.measure]") {
    for (const char* engineName : {"jit", "interp"}) {
        auto factory = engineFactory(engineName);
        if (!factory) continue;
        EngineOptions o;
        o.frames = 64;
        o.factory = factory.take();
        auto e = Engine::create(o);
        REQUIRE(e.ok());
        Engine& engine = **e;
        auto backend = makeNullBackend(engine, {});
        REQUIRE(backend->start().ok());
        // 16 modules: four voices of sine -> adsr -> biquad -> gain, summed.
        for (int v = 0; v < 4; ++v) {
            const auto id = [v](const char* p) { return fmt::format("{}{}", p, v); };
            REQUIRE(engine.create(id("osc"), "simple_sine").ok());
            REQUIRE(engine.create(id("env"), "adsr").ok());
            REQUIRE(engine.create(id("filt"), "biquad_filter").ok());
            REQUIRE(engine.create(id("amp"), "gain").ok());
            REQUIRE(engine.setParam(id("osc"), "freq", 220.0f * float(v + 1)).ok());
            REQUIRE(engine.connect(id("osc"), id("env")).ok());
            REQUIRE(engine.connect(id("env"), id("filt")).ok());
            REQUIRE(engine.connect(id("filt"), id("amp")).ok());
            REQUIRE(engine.gate(id("env"), 1).ok());
        }
        std::vector<double> latency, compile, prime;
        for (int k = 0; k < 21; ++k) {
            if (k > 0) {
                // Alternate one voice's wiring so every commit is a different graph of 16 modules.
                if (k % 2)
                    REQUIRE(engine.disconnect("filt3", "amp3").ok());
                else
                    REQUIRE(engine.connect("filt3", "amp3").ok());
            }
            CommitReport r;
            std::chrono::steady_clock::time_point heard;
            const auto t0 = std::chrono::steady_clock::now();
            const uint64_t seq = engine.commit([&](const CommitReport& c) {
                heard = std::chrono::steady_clock::now();
                r = c;
            });
            REQUIRE(engine.waitForCommit(seq, 60'000));
            REQUIRE(r.ok);
            if (k == 0) continue; // the first commit compiles every shape from cold
            latency.push_back(std::chrono::duration<double, std::milli>(heard - t0).count());
            compile.push_back(r.compileMs);
            prime.push_back(r.primeMs);
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        std::this_thread::sleep_for(std::chrono::seconds(2));
        backend->stop();
        auto median = [](std::vector<double> v) {
            std::sort(v.begin(), v.end());
            return v[v.size() / 2];
        };
        const EngineStatus s = engine.status();
        WARN(fmt::format(
            "{}: commit-to-audible median {:.2f} ms (compile {:.2f} ms, prime+swap {:.2f} ms) over "
            "{} "
            "commits; 64 frames @ 48 kHz: callback load p50 {:.4f} p99 {:.4f} max {:.4f} of the "
            "{:.3f} ms budget, {} callbacks, {} overruns, {} xruns",
            engineName, median(latency), median(compile), median(prime), latency.size(), s.loadP50,
            s.loadP99, s.loadMax, 64 / 48.0, s.callbacks, s.overruns, s.xruns));
    }
}

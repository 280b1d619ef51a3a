// The null backend tells apart what a listener would hear as an xrun: a block the engine itself
// could not render in a block's time is the engine's xrun; a block late only because the clock's
// thread woke (or ran) late is the machine's jitter, reported beside it (ClockJitter), and `serve`
// says what each counter means when it stops.
#include "runtime/backend.h"
#include "tests/support/cli_process.h"
#include "tests/test_engine_harness.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <csignal>
#include <ctime>
#include <regex>

using namespace chronus;
using namespace chronus::test;

namespace {

/// A real program that, while `slow` is set, spins for `blocks` blocks' worth of CPU time per
/// render: an engine too slow for its deadline, whatever the clock does.
class SlowProgram final : public Program {
public:
    SlowProgram(std::unique_ptr<Program> inner, const std::atomic<bool>& slow, double seconds)
        : inner_(std::move(inner)), slow_(slow), seconds_(seconds) {}
    const Schedule& schedule() const override { return inner_->schedule(); }
    void render(const std::atomic<float>* params, std::byte* state, float* out,
                uint32_t frames) noexcept override {
        inner_->render(params, state, out, frames);
        if (!slow_.load(std::memory_order_relaxed)) return;
        const double until = cpu() + seconds_;
        while (cpu() < until) {
        }
    }
    std::string_view kind() const override { return "slow"; }

private:
    static double cpu() {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
    }
    std::unique_ptr<Program> inner_;
    const std::atomic<bool>& slow_;
    double seconds_;
};

} // namespace

TEST_CASE("the null backend counts a block the engine rendered too slowly as an xrun",
          "[backend][null][xrun]") {
    static std::atomic<bool> slow{false};
    EngineOptions o;
    o.frames = 256; // 5.3 ms a block
    o.factory = [](const Schedule& s) -> Expected<std::unique_ptr<Program>> {
        return std::unique_ptr<Program>(new SlowProgram(makeInterpreter(s), slow, 0.012));
    };
    auto e = Engine::create(o);
    REQUIRE(e.ok());
    auto backend = makeNullBackend(**e, {});
    REQUIRE(backend->start().ok());
    REQUIRE((*e)->create("osc1", "simple_sine").ok());
    REQUIRE((*e)->waitForCommit((*e)->commit({}), 30'000));
    const uint64_t before = (*e)->status().xruns;
    slow = true;
    const uint64_t at = (*e)->status().callbacks;
    while ((*e)->status().callbacks < at + 5)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    slow = false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    backend->stop();
    const EngineStatus s = (*e)->status();
    const ClockJitter j = backend->clockJitter();
    INFO("xruns " << s.xruns << " (before " << before << "), late wake-ups " << j.lateWakeups
                  << " of " << j.wakeups);
    CHECK(j.measured);
    CHECK(s.xruns - before >= 4); // each block that spun for 12 ms of CPU (a little slack for
                                  // the callback that was running when `slow` changed)
    CHECK(j.wakeups >= s.callbacks - 1);
}

TEST_CASE("serve --device null: a stopped clock thread is jitter, not an xrun, and the summary "
          "says what each counter means",
          "[backend][null][xrun][serve]") {
    Child serve({CHRONUS_BINARY, "serve", "--device", "null", "--no-osc", "--seconds", "2"},
                tempPath("jitter", ".log"));
    REQUIRE(serve.waitForOutput("stopping after 2 s", 30));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    // The whole process stopped for 100 ms: its clock thread wakes up 19 blocks late, though the
    // engine's renders cost what they always do.
    ::kill(serve.pid(), SIGSTOP);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ::kill(serve.pid(), SIGCONT);
    REQUIRE(serve.wait(30) == 0);
    const std::string out = serve.output();
    INFO(out);
    CHECK_THAT(out, Catch::Contains("xruns      0  blocks the engine did not have ready in time"));
    std::smatch m;
    REQUIRE(std::regex_search(out, m, std::regex("jitter +(\\d+) of (\\d+) wake-ups late")));
    CHECK(std::stoi(m[1]) >= 1);
    CHECK_THAT(out, Catch::Contains("overruns"));
    CHECK_THAT(out, Catch::Contains("the machine's scheduling, not the engine"));
}

// Utility modules (mix, delay, z1, const, output), feedback loops, and every descriptor's sanity.
#include "compiler/patch_graph.h"
#include "modules/registry.h"
#include "runtime/offline_render.h"
#include "runtime/patch_file.h"
#include "tests/support/signal_measure.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstddef>
#include <fmt/format.h>
#include <numeric>
#include <string>
#include <vector>

using namespace chronus;

namespace {

constexpr double kRate = 48000;

std::vector<float> render(const std::string& text, double seconds) {
    auto lines = parsePatchText(text);
    if (!lines) FAIL(lines.error().message);
    OfflineRenderOptions opts;
    opts.seconds = seconds;
    opts.sampleRate = float(kRate);
    auto out = renderPatch(*lines, opts);
    if (!out) FAIL(out.error().message);
    return out.take();
}

/// A unit impulse at sample 0 from module `imp`: a const minus itself one sample late.
const std::string kImpulse = "/patch/create one const\n/mod/one/value 1\n/patch/create late z1\n"
                             "/patch/create imp mix 2\n/mod/imp/level2 -1\n"
                             "/patch/connect one imp:in1\n/patch/connect one late\n"
                             "/patch/connect late imp:in2\n";

} // namespace

TEST_CASE("mix sums its inputs times their levels with as many inputs as asked", "[modules][mix]") {
    auto x =
        render("/patch/create a const\n/mod/a/value 1\n/patch/create b const\n/mod/b/value 10\n"
               "/patch/create c const\n/mod/c/value 100\n/patch/create m mix 7\n"
               "/mod/m/level1 0.5\n/mod/m/level2 -2\n/mod/m/level7 3\n"
               "/patch/connect a m:in1\n/patch/connect b m:in2\n/patch/connect c m:in7\n"
               "/patch/commit\n",
               0.01);
    CHECK(x.back() == Approx(0.5 - 20 + 300));

    PatchGraph g;
    REQUIRE(g.create("m", "mix", 3.0f).ok());
    const Module* m = g.find("m");
    REQUIRE(m->layout->inputs.size() == 3);
    CHECK(m->layout->inputs[2].name == "in3");
    CHECK(m->layout->params[2].name == "level3");
    CHECK(m->params == std::vector<float>{1, 1, 1});
    CHECK_FALSE(g.connect("m", "m:in4").ok());
    REQUIRE(g.create("d", "mix").ok());
    CHECK(g.find("d")->layout->inputs.size() == 4); // default
    CHECK_FALSE(g.create("big", "mix", 65.0f).ok());
    REQUIRE(g.create("max", "mix", 64.0f).ok());

    // Every one of 64 inputs counts.
    std::string text = "/patch/create c const\n/mod/c/value 1\n/patch/create m mix 64\n";
    for (int i = 1; i <= 64; ++i) text += fmt::format("/patch/connect c m:in{}\n", i);
    text += "/mod/m/level64 2\n/patch/commit\n";
    CHECK(render(text, 0.01).back() == Approx(65));
}

TEST_CASE("delay: an impulse reappears after time ms and feedback decays", "[modules][delay]") {
    SECTION("whole-sample delay, dry and wet") {
        auto x = render(kImpulse + "/patch/create d delay\n/mod/d/time 10\n/mod/d/feedback 0\n"
                                   "/mod/d/mix 0.25\n/patch/connect imp d\n/patch/commit\n",
                        0.05);
        CHECK(x[0] == Approx(0.75f));   // dry
        CHECK(x[480] == Approx(0.25f)); // 10 ms = 480 samples
        double rest = 0;
        for (size_t i = 1; i < x.size(); ++i) rest += i == 480 ? 0 : std::fabs(x[i]);
        CHECK(rest == 0.0);
    }
    SECTION("fractional delay interpolates linearly") {
        // 10.01 ms = 480.48 samples: 0.52 at 480, 0.48 at 481, centroid 480.48.
        auto x = render(kImpulse + "/patch/create d delay\n/mod/d/time 10.01\n/mod/d/feedback 0\n"
                                   "/mod/d/mix 1\n/patch/connect imp d\n/patch/commit\n",
                        0.05);
        CHECK(x[480] == Approx(0.52f).margin(1e-4));
        CHECK(x[481] == Approx(0.48f).margin(1e-4));
        double centroid = (480.0 * x[480] + 481.0 * x[481]) / (x[480] + x[481]);
        CHECK(centroid == Approx(480.48).margin(0.01));
    }
    SECTION("internal feedback repeats at the delay with geometric decay") {
        auto x = render(kImpulse + "/patch/create d delay\n/mod/d/time 5\n/mod/d/feedback 0.5\n"
                                   "/mod/d/mix 1\n/patch/connect imp d\n/patch/commit\n",
                        0.1);
        for (int k = 1; k <= 8; ++k) {
            INFO("repeat " << k);
            CHECK(x[size_t(240 * k)] == Approx(std::pow(0.5, k - 1)).margin(1e-6));
            CHECK(x[size_t(240 * k) + 1] == 0.0f);
        }
    }
    SECTION("the delay is at least one sample and at most max_ms") {
        auto shortest = render(kImpulse + "/patch/create d delay\n/mod/d/time 0\n"
                                          "/mod/d/feedback 0\n/mod/d/mix 1\n/patch/connect imp d\n"
                                          "/patch/commit\n",
                               0.01);
        CHECK(shortest[0] == 0.0f);
        CHECK(shortest[1] == 1.0f);
        auto longest = render(kImpulse + "/patch/create d delay 3\n/mod/d/time 500\n"
                                         "/mod/d/feedback 0\n/mod/d/mix 1\n"
                                         "/patch/connect imp d\n/patch/commit\n",
                              0.05);
        CHECK(longest[144] == 1.0f); // held at max_ms = 3 ms
    }
}

TEST_CASE("a loop through z1 matches its closed form", "[modules][feedback]") {
    SECTION("accumulator: y[n] = x + y[n-1] = (n + 1) x") {
        // x = 2^-10 keeps every sum exact (and the output small enough for the commit's check).
        auto y = render("/patch/create c const\n/mod/c/value 0.0009765625\n/patch/create m mix 2\n"
                        "/patch/create z z1\n/patch/create o output\n/patch/connect c m:in1\n"
                        "/patch/connect z m:in2\n/patch/connect m z\n/patch/connect m o\n"
                        "/patch/commit\n",
                        0.01);
        for (size_t n = 0; n < y.size(); ++n) REQUIRE(y[n] == float(n + 1) / 1024.0f);
    }
    SECTION("one-pole: y[n] = x[n] + a y[n-1], step response (1 - a^(n+1)) / (1 - a)") {
        const double a = 0.99;
        auto y = render("/patch/create c const\n/mod/c/value 1\n/patch/create m mix 2\n"
                        "/mod/m/level2 0.99\n/patch/create z z1\n/patch/create o output\n"
                        "/patch/connect c m:in1\n/patch/connect z m:in2\n/patch/connect m z\n"
                        "/patch/connect m o\n/patch/commit\n",
                        0.05);
        for (size_t n = 0; n < y.size(); ++n)
            REQUIRE(y[n] == Approx((1 - std::pow(a, double(n + 1))) / (1 - a)).epsilon(1e-5));
    }
}

TEST_CASE("a loop through delay:wet repeats with the loop gain", "[modules][feedback]") {
    // m = impulse + 0.5 * d:wet, d delays m by 1 ms (48 samples): 0.5^k at 48k.
    auto y = render(kImpulse + "/patch/create m mix 2\n/mod/m/level2 0.5\n"
                               "/patch/create d delay 100\n/mod/d/time 1\n/mod/d/feedback 0\n"
                               "/patch/create o output\n/patch/connect imp m:in1\n"
                               "/patch/connect d:wet m:in2\n/patch/connect m d\n"
                               "/patch/connect m o\n/patch/commit\n",
                    0.02);
    for (size_t n = 0; n < y.size(); ++n) {
        float expected = n % 48 == 0 ? float(std::pow(0.5, double(n / 48))) : 0.0f;
        REQUIRE(y[n] == Approx(expected).margin(1e-7));
    }
    PatchGraph g;
    REQUIRE(g.create("d", "delay").ok());
    REQUIRE(g.create("m", "mix").ok());
    REQUIRE(g.connect("m", "d").ok());
    CHECK_FALSE(g.connect("d:out", "m:in2").ok()); // out depends on the current input
    CHECK(g.connect("d:wet", "m:in2").ok());
}

TEST_CASE("const outputs its value and is smoothed when changed", "[modules][const]") {
    auto x = render("/patch/create c const\n/mod/c/value -2.5\n/patch/commit\n"
                    "@0.1 /mod/c/value 4\n",
                    0.3);
    CHECK(x[0] == -2.5f);
    CHECK(x[4799] == -2.5f);
    CHECK(x[4801] > -2.5f);
    CHECK(x[4801] < 0.0f); // smoothed, no jump
    CHECK(x.back() == Approx(4.0f).margin(1e-3));
}

TEST_CASE("with an output module only what reaches it is heard", "[modules][output]") {
    auto x = render("/patch/create heard sine\n/mod/heard/freq 500\n/mod/heard/gain 0.5\n"
                    "/patch/create ignored sine\n/mod/ignored/freq 1500\n/mod/ignored/gain 0.5\n"
                    "/patch/create o dac\n/mod/o/level 2\n/patch/connect heard o\n"
                    "/patch/commit\n",
                    0.2);
    CHECK(test::dftMagnitude(x, kRate, 500) == Approx(0.25).epsilon(0.01)); // 0.5*2 sine, Hann
    CHECK(test::dftMagnitude(x, kRate, 1500) < 1e-6);
    CHECK(test::rms(x) == Approx(1 / std::sqrt(2.0)).epsilon(0.01));

    auto without = render("/patch/create a sine\n/patch/create b sine\n/patch/commit\n", 0.05);
    auto one = render("/patch/create a sine\n/patch/commit\n", 0.05);
    CHECK(without[100] == Approx(2 * one[100])); // no output module: unconnected ones are summed

    PatchGraph g;
    REQUIRE(g.create("o", "output").ok());
    REQUIRE(g.create("v", "gain").ok());
    CHECK_FALSE(g.connect("o", "v").ok()); // nothing can be taken from an output
}

TEST_CASE("every descriptor is consistent and its defaults lie inside its ranges", "[modules]") {
    auto checkParam = [](const ModuleDescriptor& d, const ParamDesc& p) {
        INFO(d.type << ":" << p.name);
        CHECK(p.minValue <= p.defaultValue);
        CHECK(p.defaultValue <= p.maxValue);
        if (!p.choices.empty()) {
            CHECK_FALSE(p.smoothed);
            CHECK(p.minValue == 0);
            CHECK(p.maxValue == float(p.choices.size() - 1));
            CHECK(p.defaultValue == std::floor(p.defaultValue));
        }
    };
    for (const ModuleDescriptor* d : allModules()) {
        INFO(d->type);
        CHECK(findModule(d->type) == d);
        for (auto alias : d->aliases) CHECK(findModule(alias) == d);
        for (const auto& p : d->params) checkParam(*d, p);
        if (d->variadic) checkParam(*d, d->variadic->paramTemplate);
        if (!d->createArg.name.empty()) {
            CHECK(d->createArg.minValue <= d->createArg.defaultValue);
            CHECK(d->createArg.defaultValue <= d->createArg.maxValue);
        }
        bool delayed = false;
        for (const auto& o : d->outputs) delayed = delayed || o.delayed;
        CHECK(delayed == (d->emit != nullptr));
        CHECK(d->tick != nullptr);
        CHECK(d->block != nullptr);
        CHECK(d->init != nullptr);
        CHECK(d->stateSize != nullptr);
        CHECK(d->kernel.size() > 0);
    }
    for (const char* type :
         {"simple_sine", "sine", "saw", "square", "pulse", "triangle", "noise", "lfo", "adsr",
          "biquad_filter", "biquad", "gain", "vca", "mix", "delay", "z1", "const", "output", "dac"})
        CHECK(findModule(type) != nullptr);
}

TEST_CASE("module types have distinct orders, names and aliases, and keep their indices",
          "[modules][registry]") {
    const auto all = allModules();
    std::vector<std::string_view> names;
    for (size_t i = 0; i < all.size(); ++i) {
        INFO(all[i]->type);
        CHECK(all[i]->order > 0); // 0: the descriptor sets none (descriptor.h, `order`)
        if (i > 0) CHECK(all[i - 1]->order < all[i]->order);
        names.push_back(all[i]->type);
        for (auto alias : all[i]->aliases) names.push_back(alias);
    }
    std::sort(names.begin(), names.end());
    CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());
    // Fuzz inputs, their regressions and the seeded random patches of tests and benchmarks pick
    // types by index: a new type is appended (descriptor.h, `order`), these never move.
    const std::vector<std::string_view> first = {
        "simple_sine",   "saw",  "square", "triangle", "noise", "lfo",   "adsr",
        "biquad_filter", "gain", "mix",    "delay",    "z1",    "const", "output"};
    REQUIRE(all.size() >= first.size());
    for (size_t i = 0; i < first.size(); ++i) CHECK(all[i]->type == first[i]);
}

TEST_CASE("ticks leave delayed outputs alone and defaults give finite output", "[modules]") {
    for (const ModuleDescriptor* d : allModules()) {
        INFO(d->type);
        InstanceConfig cfg{d->createArg.defaultValue, 48000, 12345};
        std::vector<std::max_align_t> state(d->stateSize(cfg) / sizeof(std::max_align_t) + 1);
        ModuleLayout layout = makeLayout(*d, cfg.createArg);
        std::vector<float> params;
        for (const auto& p : layout.params) params.push_back(p.desc.defaultValue);
        d->init(state.data(), cfg, params.data());
        std::vector<float> in(layout.kernelInCount());
        for (size_t i = 0; i < layout.inputs.size(); ++i) in[i] = 0.25f;
        for (size_t p = 0; p < params.size(); ++p) in[layout.inputs.size() + p] = params[p];
        const KernelContext ctx{48000, 1.0f / 48000};
        std::vector<float> out(layout.outputs.size());
        for (int n = 0; n < 1000; ++n) {
            if (d->emit) d->emit(state.data(), out.data(), &ctx);
            std::vector<float> emitted = out;
            for (size_t o = 0; o < out.size(); ++o)
                if (!layout.outputs[o].delayed) out[o] = std::nanf("");
            d->tick(state.data(), in.data(), out.data(), &ctx);
            for (size_t o = 0; o < out.size(); ++o) {
                if (layout.outputs[o].delayed) REQUIRE(out[o] == emitted[o]);
                REQUIRE(std::isfinite(out[o]));
            }
        }
    }
}

// What the JIT makes: a sine -> adsr -> biquad chain fuses into one loop with every kernel
// inlined (no call left in the optimised group function), the three IR stages are there, and
// every failure (bad level, missing kernel, broken bitcode, unknown engine) comes back as a
// message rather than an abort.
#include "compiler/interpreter.h"
#include "compiler/jit/fusion.h"
#include "compiler/jit/jit.h"
#include "compiler/jit/kernel_bitcode.h"
#include "compiler/patch_graph.h"
#include "compiler/program_factory.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <unistd.h>

using namespace chronus;

namespace {

Schedule chain(int voices = 1) {
    PatchGraph g;
    for (int v = 0; v < voices; ++v) {
        auto id = [&](const char* what) { return std::string(what) + std::to_string(v); };
        REQUIRE(g.create(id("osc"), "simple_sine").ok());
        REQUIRE(g.create(id("env"), "adsr").ok());
        REQUIRE(g.create(id("filt"), "biquad_filter").ok());
        REQUIRE(g.connect(id("osc"), id("env")).ok());
        REQUIRE(g.connect(id("env"), id("filt")).ok());
        REQUIRE(g.setParam(id("env"), "gate", 1).ok());
    }
    auto s = buildSchedule(g);
    REQUIRE(s.ok());
    return *s;
}

/// The body of `define ... @name(` up to its closing brace.
std::string functionBody(const std::string& ir, const std::string& name) {
    auto start = ir.find("@" + name + "(");
    if (start == std::string::npos) return {};
    start = ir.rfind("\ndefine", start);
    auto end = ir.find("\n}\n", start);
    return ir.substr(start, end - start);
}

/// Callees of every `call` in `body`.
std::vector<std::string> callees(const std::string& body) {
    std::vector<std::string> out;
    std::regex call(R"(call[^@]*@([A-Za-z0-9_.$]+)\()");
    for (auto it = std::sregex_iterator(body.begin(), body.end(), call);
         it != std::sregex_iterator(); ++it)
        out.push_back((*it)[1]);
    return out;
}

} // namespace

TEST_CASE("a sine -> adsr -> biquad chain leaves no call in its optimised loop", "[jit][ir]") {
    JitOptions o;
    o.optLevel = 2;
    auto p = compileJit(chain(), o);
    REQUIRE(p.ok());
    CHECK((*p)->timings().groups == 1);
    CHECK((*p)->timings().shapes == 1);
    auto ir = (*p)->ir("optimized");
    REQUIRE(ir.ok());
    std::string body = functionBody(*ir, "chronus_group");
    REQUIRE_FALSE(body.empty());
    // Intrinsics that become instructions on x86-64 (float and integer min/max, abs, sign,
    // rounding (SSE4.1 roundss), FMA, vector
    // reductions) may remain; any other call (a kernel, libm's sinf, ...) may not.
    const std::regex inline_ok(
        R"(llvm\.(minnum|maxnum|umin|umax|smin|smax|abs|fabs|copysign|floor|ceil|trunc|nearbyint|rint|round|roundeven|fma|fmuladd|sqrt|vector\.reduce\..*|lifetime\..*|assume|experimental\..*)(\..*)?)");
    std::set<std::string> intrinsics;
    for (const std::string& c : callees(body)) {
        INFO("call to @" << c);
        CHECK(std::regex_match(c, inline_ok));
        intrinsics.insert(c);
    }
    std::string list;
    for (const auto& i : intrinsics) list += i + " ";
    WARN("intrinsics left in the loop: " << (list.empty() ? "none" : list));
    CHECK(body.find("chronus_sine_tick") == std::string::npos);

    // The render plan calls the shape's entry; the lowered IR still calls the kernels.
    auto lowered = (*p)->ir("lowered");
    REQUIRE(lowered.ok());
    CHECK_THAT(*lowered, Catch::Contains("call void @chronus_sine_tick"));
    CHECK_THAT(*lowered, Catch::Contains("call void @chronus_biquad_tick"));
    CHECK_THAT(*lowered, Catch::Contains("load atomic float"));
    CHECK_THAT(*lowered, Catch::Contains("llvm.minnum.f32"));
    // Host CPU, flushed denormals and noalias pointers reach the optimiser.
    CHECK_THAT(*ir, Catch::Contains("\"denormal-fp-math\"=\"preserve-sign,preserve-sign\""));
    CHECK_THAT(*ir, Catch::Contains("\"target-cpu\""));
    CHECK_THAT(*ir, !Catch::Contains("\"target-cpu\"=\"x86-64\""));
    CHECK_THAT(body, Catch::Contains("ptr noalias"));
    auto assembly = (*p)->ir("asm");
    REQUIRE(assembly.ok());
    CHECK_THAT(*assembly, Catch::Contains("# render plan"));
    CHECK_THAT(*assembly, Catch::Contains("chronus_group:"));
    CHECK_THAT(*assembly, Catch::Contains("chronus_shape_"));
}

TEST_CASE("identical voices share one compiled shape and run side by side", "[jit][ir][simd]") {
    auto count = [](const std::string& text, const std::string& what) {
        size_t n = 0;
        for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
            ++n;
        return n;
    };
    JitOptions o;
    o.lanes = 4;
    auto p = compileJit(chain(11), o);
    REQUIRE(p.ok());
    const JitTimings& t = (*p)->timings();
    CHECK(t.groups == 11);
    CHECK(t.shapes == 1);
    CHECK(t.lanes == 4);
    CHECK(t.wideGroups == 8); // two calls of four, then three one at a time
    auto ir = (*p)->ir("optimized");
    REQUIRE(ir.ok());
    CHECK(count(*ir, "; ---- shape ") == 1);
    CHECK(count(*ir, "_x4  ; 4 groups side by side") == 2);
    CHECK(count(*ir, "  ; group ") == 3);
    // The wide entry's sample loop runs on vectors of four floats.
    CHECK(count(*ir, "<4 x float>") > 20);
    auto assembly = (*p)->ir("asm");
    REQUIRE(assembly.ok());
    CHECK_THAT(*assembly, Catch::Contains("_x4:"));
    CHECK_THAT(*assembly, Catch::Contains("xmm"));

    o.lanes = 1; // one at a time
    auto alone = compileJit(chain(11), o);
    REQUIRE(alone.ok());
    CHECK((*alone)->timings().wideGroups == 0);
    auto aloneIr = (*alone)->ir("optimized");
    REQUIRE(aloneIr.ok());
    CHECK(count(*aloneIr, "  ; group ") == 11);
}

TEST_CASE("a quick first tier drops the settled path only where the wide entry runs",
          "[jit][ir][tiers]") {
    // The one-instance function of a shape that runs wide keeps only its general path (it is the
    // fallback); a shape with fewer instances than lanes has no wide entry and keeps both.
    auto quickGroup = [](int voices) {
        trimShapeCache(); // the quick tier compiles only what the cache does not hold
        JitOptions o;
        o.quickFirst = true;
        o.lanes = 4;
        auto p = compileJit(chain(voices), o);
        REQUIRE(p.ok());
        CHECK_FALSE((*p)->finalTier());
        auto ir = (*p)->ir("optimized");
        REQUIRE(ir.ok());
        return std::pair{functionBody(*ir, "chronus_group"), (*p)->timings().wideGroups};
    };
    auto [wideBody, wideGroups] = quickGroup(8);
    CHECK(wideGroups == 8);
    REQUIRE_FALSE(wideBody.empty());
    CHECK_THAT(wideBody, !Catch::Contains("settled.sample:"));
    CHECK_THAT(wideBody, Catch::Contains("\nsample:"));
    auto [narrowBody, narrowGroups] = quickGroup(2);
    CHECK(narrowGroups == 0);
    CHECK_THAT(narrowBody, Catch::Contains("settled.sample:"));
    CHECK_THAT(narrowBody, Catch::Contains("\nsample:"));
}

TEST_CASE("JIT failures arrive as messages", "[jit][ir][errors]") {
    Schedule s = chain();

    SECTION("an optimisation level out of range") {
        JitOptions o;
        o.optLevel = 7;
        auto p = compileJit(s, o);
        REQUIRE_FALSE(p.ok());
        CHECK_THAT(p.error().message, Catch::Contains("optimisation level 7"));
        auto f = programFactory("jit", 9);
        REQUIRE_FALSE(f.ok());
        CHECK_THAT(f.error().message, Catch::Contains("level 9"));
    }
    SECTION("an unknown engine") {
        auto f = programFactory("wobble");
        REQUIRE_FALSE(f.ok());
        CHECK_THAT(f.error().message, Catch::Contains("unknown engine 'wobble'"));
    }
    SECTION("a kernel that is not in the bitcode") {
        ModuleDescriptor ghost = *s.nodes[0].desc;
        ghost.kernel = "no_such_kernel";
        s.nodes[0].desc = &ghost;
        auto p = compileJit(s);
        REQUIRE_FALSE(p.ok());
        CHECK_THAT(p.error().message, Catch::Contains("chronus_no_such_kernel_tick"));
        CHECK_THAT(p.error().message, Catch::Contains("CHRONUS_MODULE_SOURCES"));
    }
    SECTION("bitcode LLVM cannot read") {
        static const unsigned char garbage[] = {'n', 'o', 't', ' ', 'b', 'i',
                                                't', 'c', 'o', 'd', 'e', '!'};
        JitOptions o;
        o.kernelBitcode = garbage;
        auto p = compileJit(s, o);
        REQUIRE_FALSE(p.ok());
        CHECK_THAT(p.error().message, Catch::Contains("cannot read the kernel bitcode"));
        CHECK_THAT(p.error().message, Catch::Contains("bitcode header"));
    }
    SECTION("a truncated bitcode file") {
        auto whole = jit::kernelBitcode();
        REQUIRE(whole.size() > 64);
        JitOptions o;
        o.kernelBitcode = whole.first(whole.size() / 2 / 4 * 4);
        auto p = compileJit(s, o);
        REQUIRE_FALSE(p.ok());
        CHECK_THAT(p.error().message, Catch::Contains("JIT:"));
    }
    SECTION("IR stages") {
        auto p = compileJit(s);
        REQUIRE(p.ok());
        auto bad = (*p)->ir("bytecode");
        REQUIRE_FALSE(bad.ok());
        CHECK_THAT(bad.error().message, Catch::Contains("lowered, optimized or asm"));
        auto interp = makeInterpreter(s);
        auto none = interp->ir("optimized");
        REQUIRE_FALSE(none.ok());
        CHECK_THAT(none.error().message, Catch::Contains("interp"));
        // Without IR kept at compile time, it is made again when asked: the same code.
        JitOptions o;
        o.keepIr = false;
        o.shapeCache = false;
        auto lean = compileJit(s, o);
        REQUIRE(lean.ok());
        auto leanIr = (*lean)->ir("lowered");
        REQUIRE(leanIr.ok());
        CHECK_THAT(*leanIr, Catch::Contains("call void @chronus_biquad_tick"));
        auto leanOpt = (*lean)->ir("optimized");
        auto keptOpt = (*p)->ir("optimized");
        REQUIRE(leanOpt.ok());
        REQUIRE(keptOpt.ok());
        auto body = [](const std::string& ir) { return functionBody(ir, "chronus_group"); };
        CHECK_FALSE(body(*leanOpt).empty());
        CHECK(body(*leanOpt) == body(*keptOpt));
    }
}

TEST_CASE("chronus ir prints the code of a patch's last commit", "[jit][ir][cli]") {
    auto run = [](const std::string& args) {
        std::string cmd = std::string(CHRONUS_BINARY) + " ir " + args + " 2>&1";
        std::string out;
        FILE* pipe = popen(cmd.c_str(), "r");
        REQUIRE(pipe != nullptr);
        char buf[4096];
        while (size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
        int status = pclose(pipe);
        return std::pair{status, out};
    };
    const std::string patch = CHRONUS_SOURCE_DIR "/examples/test3_full_chain.patch";
    auto [status, text] = run(patch);
    CHECK(status == 0);
    CHECK_THAT(text, Catch::Contains("define internal fastcc void @chronus_group("));
    CHECK_THAT(text, Catch::Contains("; render plan: 1 groups of 1 shapes"));
    CHECK_THAT(text, Catch::Contains("1 fusion groups"));
    auto [s2, lowered] = run(patch + " --stage lowered --opt 0");
    CHECK(s2 == 0);
    CHECK_THAT(lowered, Catch::Contains("call void @chronus_biquad_tick"));
    auto [s3, assembly] = run(patch + " --stage asm");
    CHECK(s3 == 0);
    CHECK_THAT(assembly, Catch::Contains("chronus_group:"));
    auto [s4, bad] = run(patch + " --stage bytecode");
    CHECK(s4 != 0);
}

TEST_CASE("an empty patch and a patch with no output tap render silence", "[jit][ir]") {
    PatchGraph empty;
    PatchGraph loop; // a z1 feeding itself: every module is connected, so nothing is tapped
    REQUIRE(loop.create("d", "z1").ok());
    REQUIRE(loop.connect("d", "d").ok());
    for (const PatchGraph* g : {&empty, &loop}) {
        auto s = buildSchedule(*g);
        REQUIRE(s.ok());
        CHECK(s->outputTaps.empty());
        auto p = compileJit(*s);
        REQUIRE(p.ok());
        std::vector<float> out(1000, 1.0f);
        alignas(64) std::byte state[256] = {};
        std::atomic<float> params[4] = {};
        (*p)->render(params, state, out.data(), 1000);
        CHECK(std::all_of(out.begin(), out.end(), [](float x) { return x == 0.0f; }));
    }
}

TEST_CASE("fusion keeps each voice whole around a shared LFO and cuts at the mixer",
          "[jit][fusion]") {
    // Per voice: osc -> env -> filt -> vca, env also opens the vca (a fork inside the voice), the
    // shared LFO sweeps every filter, and every vca feeds one mixer.
    PatchGraph g;
    const int voices = 4;
    REQUIRE(g.create("lfo", "lfo").ok());
    REQUIRE(g.create("mix", "mix", float(voices)).ok());
    for (int v = 0; v < voices; ++v) {
        auto id = [&](const char* what) { return std::string(what) + std::to_string(v); };
        for (auto [name, type] :
             {std::pair{"osc", "saw"}, {"env", "adsr"}, {"filt", "biquad_filter"}, {"vca", "gain"}})
            REQUIRE(g.create(id(name), type).ok());
        REQUIRE(g.connect(id("osc"), id("env")).ok());
        REQUIRE(g.connect(id("env"), id("filt")).ok());
        REQUIRE(g.connect(id("filt"), id("vca")).ok());
        REQUIRE(g.connect(id("env"), id("vca") + ":level").ok());
        REQUIRE(g.connect("lfo", id("filt") + ":cutoff").ok());
        REQUIRE(g.connect(id("vca"), "mix:in" + std::to_string(v + 1)).ok());
    }
    auto s = buildSchedule(g);
    REQUIRE(s.ok());
    jit::FusionPlan plan = jit::planFusion(*s);
    REQUIRE(plan.groups.size() == voices + 2);
    REQUIRE(plan.shapes.size() == 3);
    int voiceGroups = 0;
    for (const jit::FusionGroup& group : plan.groups) {
        if (group.nodes.size() != 4) continue;
        ++voiceGroups;
        CHECK(group.inputs.size() == 1);  // the LFO
        CHECK(group.exports.size() == 1); // the vca, into the mixer
        CHECK(s->nodes[group.exports[0].node].desc->type == "gain");
    }
    CHECK(voiceGroups == voices);
    CHECK(plan.shapes[plan.groups[1].shape].instances == voices);
    // Every group runs after the groups it reads.
    std::vector<size_t> groupOf(s->nodes.size());
    for (size_t gi = 0; gi < plan.groups.size(); ++gi)
        for (uint32_t v : plan.groups[gi].nodes) groupOf[v] = gi;
    for (size_t gi = 0; gi < plan.groups.size(); ++gi)
        for (const jit::GroupInput& in : plan.groups[gi].inputs)
            for (const SignalRef& signal : in.signals) CHECK(groupOf[signal.node] < gi);
}

TEST_CASE("the IR comes as files tools read: the plan, then one valid module per shape",
          "[jit][ir][files]") {
    // Voices into one gain: two shapes, and a summed input in the plan.
    PatchGraph g;
    REQUIRE(g.create("master", "gain").ok());
    for (int v = 0; v < 20; ++v) {
        const std::string osc = "o" + std::to_string(v);
        REQUIRE(g.create(osc, "saw").ok());
        REQUIRE(g.connect(osc, "master").ok());
    }
    auto s = buildSchedule(g);
    REQUIRE(s.ok());
    auto p = compileJit(*s);
    REQUIRE(p.ok());
    for (const char* stage : {"lowered", "optimized", "asm"}) {
        INFO(stage);
        auto files = (*p)->irFiles(stage);
        REQUIRE(files.ok());
        REQUIRE(files->size() == 3);
        CHECK((*files)[0].name == "plan.txt");
        CHECK((*files)[0].text.find("sum 20 signals") != std::string::npos);
        for (size_t k = 1; k < files->size(); ++k) {
            const std::string& name = (*files)[k].name;
            CHECK(name.find('/') == std::string::npos);
            CHECK(name.starts_with("chronus_shape_"));
            CHECK(name.ends_with(std::string(stage) == "asm" ? ".s" : ".ll"));
        }
    }
    CHECK_FALSE((*p)->irFiles("bogus").ok());
    auto interp = makeInterpreter(*s);
    CHECK_FALSE(interp->irFiles("optimized").ok());
}

TEST_CASE("chronus ir --dir writes modules that llvm-as accepts", "[jit][ir][files][cli]") {
    char dirTemplate[] = "/tmp/chronus-ir-XXXXXX";
    REQUIRE(::mkdtemp(dirTemplate) != nullptr);
    const std::string dir = dirTemplate;
    const std::string patch = std::string(CHRONUS_SOURCE_DIR) + "/examples/test3_full_chain.patch";
    for (const char* stage : {"lowered", "optimized"}) {
        INFO(stage);
        const std::string list = dir + "/list.txt";
        const std::string cmd = std::string(CHRONUS_BINARY) + " ir " + patch + " --stage " + stage +
                                " --dir " + dir + " > " + list;
        REQUIRE(std::system(cmd.c_str()) == 0);
        std::ifstream in(list);
        std::vector<std::string> modules;
        bool plan = false;
        for (std::string path; std::getline(in, path);) {
            if (path.ends_with("/plan.txt")) plan = true;
            if (path.ends_with(".ll")) modules.push_back(path);
        }
        CHECK(plan);
        REQUIRE_FALSE(modules.empty());
        for (const std::string& m : modules) {
            INFO(m);
            const std::string check = std::string(CHRONUS_LLVM_AS) + " -o /dev/null " + m;
            CHECK(std::system(check.c_str()) == 0);
        }
    }
    std::filesystem::remove_all(dir);
    // A directory that is not there is refused before anything compiles.
    const std::string missing =
        std::string(CHRONUS_BINARY) + " ir " + patch + " --dir /nonexistent/chronus-ir 2>/dev/null";
    CHECK(std::system(missing.c_str()) != 0);
}

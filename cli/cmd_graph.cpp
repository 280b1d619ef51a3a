// `chronus graph PATCH -o patch.svg`: a picture of the patch as of its last commit, with the
// fusion groups the JIT compiles it into (planFusion), drawn by Graphviz (libgvc). libgvc is
// opened here, at run time, not linked: only this command needs it, and linked it made every
// chronus-engine process (a one-second render as much as a graph) load and relocate six more
// shared libraries at start (libgvc, libcgraph, libcdt, libpathplan, libltdl, libexpat).
#include "cli/command_exit.h"
#include "cli/commands.h"
#include "cli/patch_dot.h"
#include "compiler/jit/fusion.h"
#include "compiler/schedule.h"
#include "runtime/patch_player.h"

#include <dlfcn.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <graphviz/gvc.h> // the declarations only: the functions come from dlsym
#include <memory>

namespace chronus::cli {

namespace {

struct GraphArgs {
    std::string patch;
    std::string out;
    float rate = 48000;
};

/// The libgvc functions this command calls, from the library opened at run time (its
/// dependencies, libcgraph's agmemread and agclose among them, are searched through its handle).
struct GraphvizLibrary {
    decltype(&::gvContext) context = nullptr;
    decltype(&::agmemread) memRead = nullptr;
    decltype(&::gvLayout) layout = nullptr;
    decltype(&::gvRenderFilename) renderFilename = nullptr;
    decltype(&::gvFreeLayout) freeLayout = nullptr;
    decltype(&::agclose) close = nullptr;
    decltype(&::gvFreeContext) freeContext = nullptr;
};

template <class F>
bool findSymbol(void* lib, const char* name, F& f) {
    f = reinterpret_cast<F>(::dlsym(lib, name));
    return f != nullptr;
}

/// libgvc by the soname it was built against (CHRONUS_GVC_SONAME, from cli/CMakeLists.txt), else
/// the unversioned name. Kept open for the rest of the process: Graphviz's plugins stay loaded.
Expected<GraphvizLibrary> openGraphviz() {
    void* lib = ::dlopen(CHRONUS_GVC_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) lib = ::dlopen("libgvc.so", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
        const char* why = ::dlerror();
        return makeError("Graphviz's library could not be loaded ({}): install libgvc{}",
                         why != nullptr ? why : CHRONUS_GVC_SONAME, " (Debian: libgvc6)");
    }
    GraphvizLibrary g;
    if (!findSymbol(lib, "gvContext", g.context) || !findSymbol(lib, "agmemread", g.memRead) ||
        !findSymbol(lib, "gvLayout", g.layout) ||
        !findSymbol(lib, "gvRenderFilename", g.renderFilename) ||
        !findSymbol(lib, "gvFreeLayout", g.freeLayout) || !findSymbol(lib, "agclose", g.close) ||
        !findSymbol(lib, "gvFreeContext", g.freeContext))
        return makeError("Graphviz's library ({}) lacks a function chronus graph calls",
                         CHRONUS_GVC_SONAME);
    return g;
}

/// Lays `dot` out and renders it to `path` as `format` (svg, png, pdf) with libgvc.
Status render(const std::string& dot, const std::string& format, const std::string& path) {
    auto gv = openGraphviz();
    if (!gv) return gv.error();
    GVC_t* gvc = gv->context();
    if (gvc == nullptr) return makeError("Graphviz could not start (gvContext)");
    Agraph_t* g = gv->memRead(dot.c_str());
    Status result;
    if (g == nullptr) {
        result = makeError("Graphviz could not read the graph it was given");
    } else if (gv->layout(gvc, g, "dot") != 0) {
        result = makeError("Graphviz could not lay the graph out (is its 'dot' plugin installed?)");
    } else {
        if (gv->renderFilename(gvc, g, format.c_str(), path.c_str()) != 0)
            result = makeError("Graphviz could not write '{}' as {}", path, format);
        gv->freeLayout(gvc, g);
    }
    if (g != nullptr) gv->close(g);
    gv->freeContext(gvc);
    return result;
}

int runGraph(const GraphArgs& a) {
    auto script = loadPatchFile(a.patch);
    if (!script) return failCommand("graph", script.error().message);
    if (!script->committed)
        return failCommand(
            "graph", fmt::format("{} has no /patch/commit: nothing plays before one", a.patch));
    auto schedule = buildSchedule(*script->committed, {a.rate});
    if (!schedule) return failCommand("graph", schedule.error().message);
    const jit::FusionPlan plan = jit::planFusion(*schedule);
    const std::string title =
        fmt::format("{}: {} modules, {} fusion groups of {} shapes",
                    std::filesystem::path(a.patch).filename().string(), schedule->nodes.size(),
                    plan.groups.size(), plan.shapes.size());
    const std::string dot = patchDot(*schedule, plan, title);

    std::string ext = std::filesystem::path(a.out).extension().string();
    if (!ext.empty()) ext.erase(0, 1);
    if (ext == "dot" || ext == "gv") {
        std::ofstream f(a.out, std::ios::binary);
        f << dot;
        if (!f.flush()) return failCommand("graph", fmt::format("cannot write '{}'", a.out));
        return 0;
    }
    if (ext != "svg" && ext != "png" && ext != "pdf")
        return failCommand("graph", fmt::format("'{}': write .svg, .png, .pdf or .dot", a.out));
    if (Status s = render(dot, ext, a.out); !s) return failCommand("graph", s.message());
    return 0;
}

} // namespace

void addGraphCommand(CLI::App& app) {
    auto args = std::make_shared<GraphArgs>();
    auto* cmd = app.add_subcommand(
        "graph", "Draw a patch (as of its last commit) and its fusion groups with Graphviz");
    cmd->add_option("patch", args->patch, "patch file")->required()->check(CLI::ExistingFile);
    cmd->add_option("-o,--output", args->out, "picture to write: .svg, .png, .pdf, or .dot (text)")
        ->required();
    cmd->add_option("-r,--rate", args->rate, "sample rate (shapes depend on it)")
        ->check(CLI::Range(8000.0f, 384000.0f));
    cmd->callback([args] {
        if (int rc = runGraph(*args); rc != 0) throw CLI::RuntimeError(rc);
    });
}

} // namespace chronus::cli

#include "bench/plot.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <map>

namespace chronus::bench {

namespace {

constexpr double kWidth = 860, kHeight = 520;
constexpr double kLeft = 80, kRight = 640, kTop = 70, kBottom = 450; // the plot area

struct Style {
    const char* colour;
    const char* label;
};

Style engineStyle(const std::string& engine) {
    if (engine == kFused) return {"#1f77b4", "fused JIT"};
    if (engine == kBlockInterp) return {"#ff7f0e", "block interpreter"};
    if (engine == kSampleInterp) return {"#7f7f7f", "per-sample interpreter"};
    return {"#2ca02c", "other"};
}

std::string escape(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '&')
            o += "&amp;";
        else if (c == '<')
            o += "&lt;";
        else if (c == '>')
            o += "&gt;";
        else if (c == '"')
            o += "&quot;";
        else
            o += c;
    }
    return o;
}

/// "100 ns", "20.8 \u00b5s", "1 ms": three significant figures at most.
std::string nsLabel(double ns) {
    if (ns >= 1e6) return fmt::format("{:.3g} ms", ns / 1e6);
    if (ns >= 1e3) return fmt::format("{:.3g} \u00b5s", ns / 1e3);
    return fmt::format("{:.3g} ns", ns);
}

struct Point {
    double voices;
    Spread ns;
};

} // namespace

std::string formatSvgPlot(const BenchResults& r) {
    // (family, engine) -> points, in voice order.
    std::map<std::pair<std::string, std::string>, std::vector<Point>> series;
    std::vector<std::string> families;
    double vMin = 1e300, vMax = 0, nsMin = 1e300, nsMax = 0;
    for (const auto& w : r.workloads) {
        if (w.family.empty() || !w.error.empty()) continue;
        if (std::find(families.begin(), families.end(), w.family) == families.end())
            families.push_back(w.family);
        for (const auto& e : w.engines) {
            if (!(e.nsPerSample.p10 > 0)) continue;
            series[{w.family, e.engine}].push_back({double(w.voices), e.nsPerSample});
            vMin = std::min(vMin, double(w.voices));
            vMax = std::max(vMax, double(w.voices));
            nsMin = std::min(nsMin, e.nsPerSample.p10);
            nsMax = std::max(nsMax, e.nsPerSample.p90);
        }
    }
    const double budget = r.budgetNsPerSample();
    std::string s = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
        "{1}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
        "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
        kWidth, kHeight);
    s += fmt::format("<text x=\"{}\" y=\"28\" font-size=\"16\" font-weight=\"bold\">Render cost "
                     "against voices: ns per output sample (lower is better)</text>\n",
                     kLeft);
    s += fmt::format(
        "<text x=\"{}\" y=\"48\" font-size=\"11\" fill=\"#444\">voices of osc \u2192 adsr "
        "\u2192 lowpass \u2192 gain, summed; CPU time, {}-frame blocks, {:g} Hz; {}, {}, "
        "{}</text>\n",
        kLeft, r.blockFrames, r.sampleRate, escape(r.machine.cpu), escape(r.machine.buildType),
        escape(r.machine.date));
    if (series.empty()) {
        s += fmt::format("<text x=\"{}\" y=\"{}\">No voice series was measured.</text>\n</svg>\n",
                         kLeft, (kTop + kBottom) / 2);
        return s;
    }
    if (vMax <= vMin) vMax = vMin * 2;
    const double lx0 = std::log2(vMin), lx1 = std::log2(vMax);
    const double ly0 = std::floor(std::log10(std::min(nsMin, budget)));
    const double ly1 = std::ceil(std::log10(std::max(nsMax, budget) * 1.0001));
    auto x = [&](double v) {
        return kLeft + (std::log2(v) - lx0) / (lx1 - lx0) * (kRight - kLeft);
    };
    auto y = [&](double ns) {
        return kBottom - (std::log10(ns) - ly0) / (ly1 - ly0) * (kBottom - kTop);
    };

    // Grid and axes.
    for (int d = static_cast<int>(ly0); d <= static_cast<int>(ly1); ++d) {
        const double base = std::pow(10.0, d);
        s +=
            fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ccc\"/>\n",
                        kLeft, kRight, y(base), y(base));
        s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", kLeft - 8,
                         y(base) + 4, nsLabel(base));
        if (d == static_cast<int>(ly1)) break;
        for (int m = 2; m <= 9; ++m)
            s += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" "
                             "stroke=\"#eee\"/>\n",
                             kLeft, kRight, y(base * m), y(base * m));
    }
    for (double v = std::exp2(std::ceil(lx0)); v <= vMax * 1.0001; v *= 2) {
        s += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" "
                         "stroke=\"#e4e4e4\"/>\n",
                         x(v), kTop, kBottom);
        s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{:g}</text>\n", x(v),
                         kBottom + 18, v);
    }
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" "
                     "stroke=\"#333\"/>\n",
                     kLeft, kTop, kRight - kLeft, kBottom - kTop);
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">voices (log scale)</text>\n",
                     (kLeft + kRight) / 2, kBottom + 40);
    s += fmt::format("<text transform=\"translate(20 {}) rotate(-90)\" text-anchor=\"middle\">ns "
                     "per output sample (log scale)</text>\n",
                     (kTop + kBottom) / 2);

    // The real-time limit: above this line one core cannot keep up.
    s += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#d62728\" "
                     "stroke-dasharray=\"2 3\" stroke-width=\"1.5\"/>\n",
                     kLeft, kRight, y(budget), y(budget));
    s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" fill=\"#d62728\">real-time limit of one core "
                     "({} per sample)</text>\n",
                     kLeft + 6, y(budget) - 6, nsLabel(budget));

    // One line per engine and family, whiskers from p10 to p90.
    for (const auto& [key, points] : series) {
        const auto& [family, engine] = key;
        const Style st = engineStyle(engine);
        const bool dashed = family != families.front();
        std::string path;
        for (const Point& p : points)
            path += fmt::format("{}{:.1f},{:.1f}", path.empty() ? "" : " ", x(p.voices),
                                y(p.ns.median));
        s +=
            fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{}/>"
                        "\n",
                        path, st.colour, dashed ? " stroke-dasharray=\"7 4\"" : "");
        for (const Point& p : points) {
            s += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\" "
                             "stroke=\"{3}\"/>\n",
                             x(p.voices), y(p.ns.p10), y(p.ns.p90), st.colour);
            if (dashed)
                s += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"7\" height=\"7\" "
                                 "fill=\"white\" stroke=\"{}\" stroke-width=\"1.5\"/>\n",
                                 x(p.voices) - 3.5, y(p.ns.median) - 3.5, st.colour);
            else
                s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\"/>\n",
                                 x(p.voices), y(p.ns.median), st.colour);
        }
    }

    // Legend: engines by colour, families by line style.
    double ly = kTop + 10;
    const double lx = kRight + 20;
    s += fmt::format("<text x=\"{}\" y=\"{}\" font-weight=\"bold\">engine</text>\n", lx, ly);
    for (const auto& engine : r.engines) {
        ly += 20;
        const Style st = engineStyle(engine);
        s += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"{}\" "
                         "stroke-width=\"3\"/>\n",
                         lx, lx + 28, ly - 4, ly - 4, st.colour);
        s += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", lx + 36, ly, st.label);
    }
    ly += 32;
    s += fmt::format("<text x=\"{}\" y=\"{}\" font-weight=\"bold\">oscillator</text>\n", lx, ly);
    for (size_t i = 0; i < families.size(); ++i) {
        ly += 20;
        const bool dashed = i > 0;
        s += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#333\" "
                         "stroke-width=\"2\"{}/>\n",
                         lx, lx + 28, ly - 4, ly - 4, dashed ? " stroke-dasharray=\"7 4\"" : "");
        s += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", lx + 36, ly,
                         families[i] == "saw" ? "band-limited saw" : escape(families[i]));
    }
    ly += 32;
    s += fmt::format("<text x=\"{}\" y=\"{}\" fill=\"#444\">points: median;</text>\n", lx, ly);
    s += fmt::format("<text x=\"{}\" y=\"{}\" fill=\"#444\">whiskers: p10 to p90</text>\n", lx,
                     ly + 16);
    s += "</svg>\n";
    return s;
}

} // namespace chronus::bench

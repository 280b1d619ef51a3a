// WAV files as written: float with the canonical IEEE-float header (sox reads it without the
// warning it gives for libsndfile's own float headers, extensible or not), 24-bit
// rounded to the nearest step, 16-bit rounded after TPDF dither; both clip at full scale rather
// than wrap. And `chronus render --format`.
#include "runtime/wav_file.h"
#include "tests/support/cli_process.h"
#include "tests/test_engine_harness.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sndfile.h>

using namespace chronus;
using namespace chronus::test;

namespace {

/// The fmt chunk's format tag and bits per sample.
std::pair<int, int> fmtOf(const std::string& path) {
    const std::string bytes = fileText(path);
    const auto at = bytes.find("fmt ");
    if (at == std::string::npos || at + 24 > bytes.size()) return {-1, -1};
    auto u16 = [&](std::size_t i) {
        return int(static_cast<unsigned char>(bytes[i])) |
               int(static_cast<unsigned char>(bytes[i + 1])) << 8;
    };
    return {u16(at + 8), u16(at + 22)};
}

std::vector<float> testSignal() {
    std::vector<float> x(4800);
    for (std::size_t i = 0; i < x.size(); ++i)
        x[i] = static_cast<float>(0.5 * std::sin(2 * M_PI * 440 * double(i) / 48000));
    x[100] = 1.5f;  // clips to full scale
    x[101] = -1.5f; // and to negative full scale
    x[102] = 0.0f;  // silence stays within the dither's step
    return x;
}

std::vector<float> roundTrip(WavFormat format, const std::string& path) {
    const std::vector<float> x = testSignal();
    auto w = WavWriter::create(path, 48000, 1, format);
    REQUIRE(w.ok());
    REQUIRE(w->write(x.data(), x.size()).ok());
    REQUIRE(w->close().ok());
    auto back = readWav(path);
    REQUIRE(back.ok());
    REQUIRE(back->samples.size() == x.size());
    return back->samples;
}

} // namespace

TEST_CASE("float WAVs have the canonical IEEE-float header, read back exactly, and sox has no "
          "complaint",
          "[wav]") {
    const std::string path = tempPath("wavfloat", ".wav");
    const std::vector<float> back = roundTrip(WavFormat::float32, path);
    const std::vector<float> x = testSignal();
    CHECK(back == x);
    CHECK(fmtOf(path) == std::make_pair(3, 32));
    const std::string bytes = fileText(path);
    CHECK(bytes.substr(12, 8) == std::string("fmt \x12\0\0\0", 8)); // 18 bytes: with cbSize
    CHECK(bytes.substr(38, 4) == "JUNK");
    if (std::system("command -v sox >/dev/null 2>&1") == 0) {
        Run sox = run({"sox", path, "-n", "stat"}, tempPath("sox", ".log"));
        INFO(sox.output);
        CHECK(sox.rc == 0);
        CHECK(sox.output.find("WARN wav") == std::string::npos); // (stat notes the 1.5s)
        CHECK(sox.output.find("missing extended part") == std::string::npos);
    } else {
        WARN("sox not installed: its reading not checked");
    }
    std::remove(path.c_str());
}

TEST_CASE("24-bit WAVs round to the nearest step and clip", "[wav]") {
    const std::string path = tempPath("wav24", ".wav");
    const std::vector<float> back = roundTrip(WavFormat::pcm24, path);
    const std::vector<float> x = testSignal();
    const double step = 1.0 / 8388608.0;
    double worst = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
        if (i != 100 && i != 101) worst = std::max(worst, std::fabs(double(back[i]) - x[i]));
    CHECK(worst <= 0.5 * step + 1e-12);
    CHECK(back[100] == Approx(1.0).margin(2 * step));
    CHECK(back[101] == -1.0f);
    CHECK(fmtOf(path) == std::make_pair(0xFFFE, 24));
    std::remove(path.c_str());
}

TEST_CASE("16-bit WAVs are dithered (TPDF, one step either way) and clip", "[wav]") {
    const std::string path = tempPath("wav16", ".wav");
    const std::vector<float> back = roundTrip(WavFormat::pcm16, path);
    const std::vector<float> x = testSignal();
    const double step = 1.0 / 32768.0;
    double worst = 0, sum = 0, sq = 0;
    std::size_t n = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (i == 100 || i == 101) continue;
        const double err = double(back[i]) - x[i];
        worst = std::max(worst, std::fabs(err));
        sum += err;
        sq += err * err;
        ++n;
    }
    // Rounding after dither in [-1, 1) steps: never more than 1.5 steps off, unbiased, and with
    // the noise power of TPDF plus rounding (1/6 + 1/12 = 1/4 of a step squared).
    CHECK(worst <= 1.5 * step);
    CHECK(std::fabs(sum / double(n)) < 0.05 * step);
    CHECK(std::sqrt(sq / double(n)) == Approx(0.5 * step).epsilon(0.1));
    CHECK(back[100] == Approx(1.0).margin(2 * step));
    CHECK(back[101] == -1.0f);
    CHECK(fmtOf(path) == std::make_pair(1, 16));
    std::remove(path.c_str());
}

TEST_CASE("chronus render --format writes the format asked for, identically each time",
          "[wav][cli]") {
    const std::string patch = std::string(CHRONUS_SOURCE_DIR) + "/examples/test1_single_osc.patch";
    const std::string a = tempPath("render16a", ".wav"), b = tempPath("render16b", ".wav");
    for (const std::string& out : {a, b}) {
        Run r = run({CHRONUS_BINARY, "render", patch, "-o", out, "-s", "0.5", "--format", "16"},
                    tempPath("render", ".log"));
        INFO(r.output);
        REQUIRE(r.rc == 0);
    }
    CHECK(fmtOf(a) == std::make_pair(1, 16));
    CHECK(fileText(a) == fileText(b)); // the dither comes from a fixed seed
    Run bad = run({CHRONUS_BINARY, "render", patch, "-o", a, "--format", "8"},
                  tempPath("render", ".log"));
    CHECK(bad.rc != 0);
    std::remove(a.c_str());
    std::remove(b.c_str());
}

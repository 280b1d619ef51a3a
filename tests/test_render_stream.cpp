// Issue 15, case 5: an offline render writes as it renders, in bounded memory, any length. The
// streamed output equals what the render held in memory before, sample for sample and byte for
// byte; a 10-minute render's peak memory is a 1-second render's; `render -s 86400 -r 384000`
// starts and stays small instead of dying of std::bad_alloc; past 4 GiB the file is RF64.
#include "runtime/backend_offline.h"
#include "runtime/offline_render.h"
#include "runtime/patch_player.h"
#include "runtime/wav_file.h"
#include "tests/test_engine_harness.h"

#include <filesystem>
#include <fstream>
#include <sys/resource.h>
#include <sys/wait.h>

using namespace chronus;
using namespace chronus::test;

namespace {

const std::string kPatch = std::string(CHRONUS_SOURCE_DIR) + "/examples/test3_full_chain.patch";

std::string bytesOf(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

/// The file's bytes but the time libsndfile stamps into a float WAV's PEAK chunk (two writes of
/// the same audio a second apart differ there alone).
std::string bytesButTimestamp(const std::string& path) {
    std::string b = bytesOf(path);
    if (auto at = b.find("PEAK"); at != std::string::npos && at + 16 <= b.size())
        b.replace(at + 12, 4, 4, '\0'); // id, size, version, then the timestamp
    return b;
}

/// Runs `chronus args...` to the end; its exit code and peak resident memory (KiB).
std::pair<int, long> runMeasured(const std::vector<std::string>& args) {
    std::vector<std::string> argv{CHRONUS_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    const std::string log = tempPath("render_stream", ".log");
    const pid_t pid = spawnProcess(argv, log);
    REQUIRE(pid > 0);
    int status = 0;
    rusage usage{};
    REQUIRE(::wait4(pid, &status, 0, &usage) == pid);
    INFO(readText(log));
    std::remove(log.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, usage.ru_maxrss};
}

long residentKiB(pid_t pid) {
    std::ifstream f(fmt::format("/proc/{}/statm", pid));
    long pages = 0, resident = 0;
    f >> pages >> resident;
    return resident * 4;
}

} // namespace

TEST_CASE("a streamed render equals the render held in memory, sample for sample and byte for "
          "byte",
          "[render][stream]") {
    auto script = loadPatchFile(kPatch);
    REQUIRE(script.ok());
    OfflineRenderOptions o;
    o.seconds = 2;
    o.factory = defaultFactory();

    // As `render` did before: the whole output in one buffer, played by the offline clock.
    std::vector<float> held(static_cast<size_t>(o.seconds * o.sampleRate));
    {
        EngineOptions eo;
        eo.factory = o.factory;
        auto engine = Engine::create(eo);
        REQUIRE(engine.ok());
        OfflineBackend backend(**engine, {});
        PatchPlayer player(**engine, *script);
        REQUIRE(player.playOffline(backend, held.data(), held.size()).ok());
    }
    std::vector<float> streamed;
    std::vector<std::size_t> chunks;
    REQUIRE(renderPatchTo(*script, o, [&](const float* p, std::size_t n) {
                streamed.insert(streamed.end(), p, p + n);
                chunks.push_back(n);
                return Status{};
            }).ok());
    CHECK(streamed == held);
    // In runs of whole blocks, at least 4096 samples but for the last, bounded: memory stays flat.
    CHECK(*std::max_element(chunks.begin(), chunks.end()) < 4096 + o.frames);
    CHECK(chunks.size() > 1);

    // The file `chronus render` writes is the one WavWriter wrote from the held buffer.
    const std::string before = tempPath("render_held", ".wav");
    const std::string now = tempPath("render_streamed", ".wav");
    {
        auto w = WavWriter::create(before, 48000);
        REQUIRE(w.ok());
        REQUIRE(w->write(held.data(), held.size()).ok());
        REQUIRE(w->close().ok());
    }
    REQUIRE(runMeasured({"render", kPatch, "-o", now, "-s", "2"}).first == 0);
    CHECK(bytesButTimestamp(now) == bytesButTimestamp(before));
    std::remove(before.c_str());
    std::remove(now.c_str());
}

TEST_CASE("a 10-minute render needs no more memory than a 1-second one", "[render][stream]") {
    const std::string wav = tempPath("render_long", ".wav");
    const auto [rc1, short1] = runMeasured({"render", kPatch, "-o", wav, "-s", "1"});
    REQUIRE(rc1 == 0);
    const auto header = std::filesystem::file_size(wav) - 48000u * 4u; // the float WAV's header
    const auto [rc600, long600] = runMeasured({"render", kPatch, "-o", wav, "-s", "600"});
    REQUIRE(rc600 == 0);
    CHECK(std::filesystem::file_size(wav) == 600u * 48000u * 4u + header); // mono float
    std::remove(wav.c_str());
    // Held in memory, 600 s of mono float at 48 kHz alone were 110 MiB more.
    WARN("peak resident memory: 1 s render " << short1 / 1024 << " MiB, 600 s render "
                                             << long600 / 1024 << " MiB");
    CHECK(long600 - short1 < 16 * 1024);
}

TEST_CASE("render -s 86400 -r 384000 starts and stays small", "[render][stream]") {
    const std::string log = tempPath("render_day", ".log");
    const pid_t pid = spawnProcess(
        {CHRONUS_BINARY, "render", kPatch, "-o", "/dev/null", "-s", "86400", "-r", "384000"}, log);
    REQUIRE(pid > 0);
    long peak = 0;
    bool alive = true;
    for (int i = 0; i < 30 && alive; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        alive = ::waitpid(pid, nullptr, WNOHANG) == 0;
        if (alive) peak = std::max(peak, residentKiB(pid));
    }
    INFO(readText(log));
    CHECK(alive); // before: std::bad_alloc at once (33 G samples held in memory)
    CHECK(peak < 256 * 1024);
    WARN("render -s 86400 -r 384000: resident " << peak / 1024 << " MiB after 3 s");
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    std::remove(log.c_str());
}

TEST_CASE("a render that fails to write stops at once and says why", "[render][stream]") {
    auto script = loadPatchFile(kPatch);
    REQUIRE(script.ok());
    OfflineRenderOptions o;
    o.seconds = 3600; // an hour: it must not render on after the failure
    o.factory = interpreterFactory();
    std::size_t written = 0;
    const auto t0 = std::chrono::steady_clock::now();
    Status s = renderPatchTo(*script, o, [&](const float*, std::size_t n) -> Status {
        written += n;
        if (written > 48000) return makeError("the disk is full");
        return {};
    });
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    REQUIRE_FALSE(s.ok());
    CHECK(s.message() == "the disk is full");
    CHECK(written < 48000 + 4096);
    CHECK(took < 30); // rendering the hour in the debug interpreter would take minutes
}

TEST_CASE("a render past a WAV's 4 GiB is written as RF64", "[render][stream]") {
    const std::string path = tempPath("render_rf64", ".wav");
    const uint64_t day384k = 86400ull * 384000ull;
    {
        auto w = WavWriter::createForFrames(path, 384000, 1, day384k);
        REQUIRE(w.ok());
        std::vector<float> x(1000, 0.25f);
        REQUIRE(w->write(x.data(), x.size()).ok());
        REQUIRE(w->close().ok());
    }
    CHECK(bytesOf(path).substr(0, 4) == "RF64");
    auto back = readWav(path);
    REQUIRE(back.ok());
    CHECK(back->samples.size() == 1000);
    CHECK(back->samples[999] == 0.25f);
    {
        auto w = WavWriter::createForFrames(path, 48000, 1, 48000 * 60);
        REQUIRE(w.ok());
    }
    CHECK(bytesOf(path).substr(0, 4) == "RIFF"); // what fits stays a plain WAV
    std::remove(path.c_str());
}

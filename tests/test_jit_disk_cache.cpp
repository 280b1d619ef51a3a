// The code cache on disk (compiler/jit/object_cache.h): a second process, or a program whose
// shapes the memory cache has let go, loads compiled shapes instead of compiling them, and plays
// the same bits; an entry that is truncated, corrupt, another key's, or of another CPU or LLVM is
// found out, removed and rebuilt, never loaded; writes never follow a symlink; the directory stays
// within its size bound, least recently used first; the second `chronus render` compiles nothing.
#include "compiler/interpreter.h"
#include "compiler/jit/jit.h"
#include "compiler/jit/object_cache.h"
#include "compiler/patch_graph.h"
#include "runtime/wav_file.h"
#include "tests/support/render_program.h"
#include "tests/support/signal_measure.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace chronus;
namespace fs = std::filesystem;

namespace {

/// A fresh directory under the system's temporary one, removed with everything in it at the end.
struct TempDir {
    fs::path path;
    TempDir() {
        std::string templ = (fs::temp_directory_path() / "chronus-cache-XXXXXX").string();
        REQUIRE(::mkdtemp(templ.data()) != nullptr);
        path = templ;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

/// Turns the process's disk cache on in `dir` for the test's length, and the memory cache's idle
/// shapes out, so that compiles really meet the disk.
struct DiskCacheOn {
    explicit DiskCacheOn(const fs::path& dir, uint64_t maxBytes = uint64_t{256} << 20) {
        REQUIRE(setDiskCache({dir.string(), maxBytes}).ok());
        trimShapeCache();
    }
    ~DiskCacheOn() {
        (void)setDiskCache({});
        trimShapeCache();
    }
};

/// `voices` saws through filters into one gain, at `rate` (the rate is in every shape key: a rate
/// of its own makes shapes no other test of the process has).
Schedule patchAt(float rate, int voices = 3) {
    PatchGraph g;
    REQUIRE(g.create("master", "gain").ok());
    for (int v = 0; v < voices; ++v) {
        const std::string osc = "o" + std::to_string(v), filt = "f" + std::to_string(v);
        REQUIRE(g.create(osc, "saw").ok());
        REQUIRE(g.setParam(osc, "freq", 90.0f + 40.0f * float(v)).ok());
        REQUIRE(g.create(filt, "biquad_filter").ok());
        REQUIRE(g.connect(osc, filt).ok());
        REQUIRE(g.connect(filt, "master").ok());
    }
    auto s = buildSchedule(g, {rate, 10});
    REQUIRE(s.ok());
    return s.take();
}

struct Compiled {
    JitTimings timings;
    std::vector<float> out;
};

/// Compiles `s` at O1 (every disk look-up goes through the memory cache first: the program made
/// before is gone, and the memory cache trimmed), renders it.
Compiled compileAndRender(const Schedule& s) {
    trimShapeCache();
    JitOptions o;
    o.optLevel = 1;
    o.keepIr = false;
    auto p = compileJit(s, o);
    REQUIRE(p.ok());
    Compiled c;
    c.timings = (*p)->timings();
    c.out = test::renderProgram(**p, 2400, {64, 7, 300}, -1, 0);
    return c;
}

std::vector<float> interpreted(const Schedule& s) {
    auto p = makeInterpreter(s);
    return test::renderProgram(*p, 2400, {64, 7, 300}, -1, 0);
}

std::vector<fs::path> entries(const fs::path& dir) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".chs") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

std::string readFile(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

/// The samples of a WAV file, bit for bit (its header holds the time it was written: not compared).
std::vector<uint32_t> samplesOf(const fs::path& p) {
    auto wav = readWav(p.string());
    REQUIRE(wav.ok());
    std::vector<uint32_t> bits(wav->samples.size());
    std::memcpy(bits.data(), wav->samples.data(), bits.size() * sizeof(float));
    return bits;
}

void writeFile(const fs::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << bytes;
}

} // namespace

TEST_CASE("a shape compiled once is loaded from the disk and plays the same bits",
          "[jit][cache][disk]") {
    TempDir dir;
    DiskCacheOn on(dir.path);
    const Schedule s = patchAt(44101);
    const auto reference = interpreted(s);
    const Compiled first = compileAndRender(s);
    CHECK(first.timings.shapesCompiled == first.timings.shapes);
    CHECK(first.timings.shapesLoaded == 0);
    flushDiskCache();
    CHECK(entries(dir.path).size() == first.timings.shapes);
    const Compiled second = compileAndRender(s);
    CHECK(second.timings.shapesCompiled == 0);
    CHECK(second.timings.shapesLoaded == second.timings.shapes);
    CHECK(second.out == first.out);
    CHECK(second.out == reference);
    CHECK(test::rms(reference) > 1e-3);
}

TEST_CASE("a bad entry is found out, removed and rebuilt, never loaded", "[jit][cache][disk]") {
    enum Damage { kTruncated, kHalfHeader, kFlippedObject, kFlippedKey, kSwapped, kEmpty };
    const char* names[] = {"truncated",
                           "header only",
                           "a byte of the object flipped",
                           "a byte of the key flipped",
                           "swapped with another key's",
                           "empty"};
    float rate = 44201;
    for (Damage damage : {kTruncated, kHalfHeader, kFlippedObject, kFlippedKey, kSwapped, kEmpty}) {
        INFO(names[damage]);
        TempDir dir;
        DiskCacheOn on(dir.path);
        const Schedule s = patchAt(rate += 1);
        const auto reference = interpreted(s);
        const Compiled first = compileAndRender(s);
        flushDiskCache();
        auto files = entries(dir.path);
        REQUIRE(files.size() == 2); // the voice and the master
        std::string bytes = readFile(files[0]);
        switch (damage) {
        case kTruncated:
            bytes.resize(bytes.size() - 100);
            break;
        case kHalfHeader:
            bytes.resize(40);
            break;
        case kFlippedObject:
            bytes[bytes.size() - 50] ^= 0x10;
            break;
        case kFlippedKey:
            bytes[100] ^= 0x01;
            break;
        case kSwapped:
            bytes = readFile(files[1]);
            writeFile(files[1], readFile(files[0]));
            break;
        case kEmpty:
            bytes.clear();
            break;
        }
        writeFile(files[0], bytes);
        const uint64_t rejectedBefore = diskCacheStats().rejected;
        const Compiled second = compileAndRender(s);
        CHECK(diskCacheStats().rejected > rejectedBefore);
        CHECK(second.timings.shapesCompiled >= 1); // rebuilt
        CHECK(second.out == reference);
        // The rebuilt entries are good again: the next compile loads every shape.
        flushDiskCache();
        const Compiled third = compileAndRender(s);
        CHECK(third.timings.shapesCompiled == 0);
        CHECK(third.timings.shapesLoaded == third.timings.shapes);
        CHECK(third.out == reference);
    }
}

TEST_CASE("an entry made for another CPU or LLVM, or under another format, is not loaded",
          "[jit][cache][disk]") {
    // Written whole and intact (a valid checksum) but for a key that differs in one field, then
    // put where the real key's entry belongs: the header's key hash and the key itself say so.
    TempDir dir;
    auto cache = jit::ObjectCache::open({dir.path.string(), uint64_t{1} << 20});
    REQUIRE(cache.ok());
    const std::string key = "shape|O2|x8|znver4|+avx2|llvm 19.1.7|code 1234";
    jit::CachedObject e;
    e.entryName = "chronus_shape_x";
    e.object = std::string("\x7f"
                           "ELF",
                           4) +
               std::string(200, 'x');
    for (const std::string& other :
         {std::string("shape|O2|x8|znver3|+avx2|llvm 19.1.7|code 1234"),
          std::string("shape|O2|x8|znver4|+avx2|llvm 18.1.8|code 1234"),
          std::string("shape|O2|x8|znver4|+avx2|llvm 19.1.7|code 9999")}) {
        INFO(other);
        e.key = other;
        REQUIRE((*cache)->write(e).ok());
        fs::rename(dir.path / jit::ObjectCache::fileName(other),
                   dir.path / jit::ObjectCache::fileName(key));
        const uint64_t before = (*cache)->stats().rejected;
        CHECK_FALSE((*cache)->load(key).has_value());
        CHECK((*cache)->stats().rejected == before + 1);
        CHECK_FALSE(fs::exists(dir.path / jit::ObjectCache::fileName(key))); // removed
    }
    // The real key's entry loads; the same bytes with the format version changed do not.
    e.key = key;
    REQUIRE((*cache)->write(e).ok());
    auto loaded = (*cache)->load(key);
    REQUIRE(loaded.has_value());
    CHECK(loaded->object == e.object);
    CHECK(loaded->entryName == e.entryName);
    const fs::path path = dir.path / jit::ObjectCache::fileName(key);
    std::string bytes = readFile(path);
    bytes[8] = 2; // the format version's low byte
    writeFile(path, bytes);
    CHECK_FALSE((*cache)->load(key).has_value());
}

TEST_CASE("cache writes never follow a symlink planted in the directory", "[jit][cache][disk]") {
    TempDir dir, outside;
    const fs::path precious = outside.path / "precious.txt";
    writeFile(precious, "precious");
    auto cache = jit::ObjectCache::open({dir.path.string(), uint64_t{1} << 20});
    REQUIRE(cache.ok());
    jit::CachedObject e;
    e.key = "a key";
    e.entryName = "chronus_shape_y";
    e.object = std::string("\x7f"
                           "ELF",
                           4) +
               std::string(100, 'y');
    // At the temporary path: the write refuses (O_EXCL|O_NOFOLLOW) and leaves the target alone.
    fs::create_symlink(precious, dir.path / jit::ObjectCache::tempName(e.key));
    auto written = (*cache)->write(e);
    CHECK_FALSE(written.ok());
    CHECK(readFile(precious) == "precious");
    CHECK_FALSE(fs::exists(dir.path / jit::ObjectCache::fileName(e.key)));
    fs::remove(dir.path / jit::ObjectCache::tempName(e.key));
    // At the entry's path: a load does not follow it (and removes the link, not its target), and
    // a write replaces the link, not what it points to.
    fs::create_symlink(precious, dir.path / jit::ObjectCache::fileName(e.key));
    CHECK_FALSE((*cache)->load(e.key).has_value());
    CHECK(readFile(precious) == "precious");
    fs::create_symlink(precious, dir.path / jit::ObjectCache::fileName(e.key));
    REQUIRE((*cache)->write(e).ok());
    CHECK(readFile(precious) == "precious");
    CHECK_FALSE(fs::is_symlink(dir.path / jit::ObjectCache::fileName(e.key)));
    CHECK((*cache)->load(e.key).has_value());
}

TEST_CASE("a compile whose cache writes meet planted symlinks still compiles, writing nothing",
          "[jit][cache][disk]") {
    TempDir scout, dir, outside;
    const fs::path precious = outside.path / "precious.txt";
    writeFile(precious, "precious");
    const Schedule s = patchAt(44301);
    std::vector<std::string> names; // the entries this patch makes, found in another directory
    {
        DiskCacheOn on(scout.path);
        (void)compileAndRender(s);
        flushDiskCache();
        for (const fs::path& p : entries(scout.path)) names.push_back(p.filename().string());
    }
    REQUIRE(names.size() == 2);
    for (const std::string& name : names) fs::create_symlink(precious, dir.path / (name + ".tmp"));
    DiskCacheOn on(dir.path);
    const uint64_t failedBefore = diskCacheStats().storeFailures;
    const Compiled c = compileAndRender(s);
    flushDiskCache();
    CHECK(c.timings.shapesCompiled == 2);
    CHECK(c.out == interpreted(s));
    CHECK(readFile(precious) == "precious");
    CHECK(diskCacheStats().storeFailures == failedBefore + 2);
    CHECK(entries(dir.path).empty());
}

TEST_CASE("the cache directory stays within its bound, least recently used first",
          "[jit][cache][disk]") {
    TempDir dir;
    const uint64_t bound = 64 * 1024;
    auto cache = jit::ObjectCache::open({dir.path.string(), bound});
    REQUIRE(cache.ok());
    auto entry = [](int k) {
        jit::CachedObject e;
        e.key = fmt::format("key {}", k);
        e.entryName = "chronus_shape_z";
        e.object = std::string("\x7f"
                               "ELF",
                               4) +
                   std::string(10000, char('a' + k % 26));
        return e;
    };
    for (int k = 0; k < 5; ++k) REQUIRE((*cache)->write(entry(k)).ok());
    // Access times one second apart, oldest first; then key 0 is used again.
    for (int k = 0; k < 5; ++k) {
        const fs::path p = dir.path / jit::ObjectCache::fileName(entry(k).key);
        struct timespec times[2] = {{1000000 + k, 0}, {1000000 + k, 0}};
        REQUIRE(::utimensat(AT_FDCWD, p.c_str(), times, 0) == 0);
    }
    REQUIRE((*cache)->load(entry(0).key).has_value());
    for (int k = 5; k < 12; ++k) {
        REQUIRE((*cache)->write(entry(k)).ok());
        const fs::path p = dir.path / jit::ObjectCache::fileName(entry(k).key);
        struct timespec times[2] = {{2000000 + k, 0}, {2000000 + k, 0}};
        REQUIRE(::utimensat(AT_FDCWD, p.c_str(), times, 0) == 0);
    }
    (*cache)->trim();
    uint64_t total = 0;
    for (const fs::path& p : entries(dir.path)) total += fs::file_size(p);
    CHECK(total <= bound);
    CHECK((*cache)->stats().evicted > 0);
    // Key 0, used last, stays; keys 1 and 2, the least recently used, went first.
    CHECK(fs::exists(dir.path / jit::ObjectCache::fileName(entry(0).key)));
    CHECK_FALSE(fs::exists(dir.path / jit::ObjectCache::fileName(entry(1).key)));
    CHECK_FALSE(fs::exists(dir.path / jit::ObjectCache::fileName(entry(2).key)));
    CHECK(fs::exists(dir.path / jit::ObjectCache::fileName(entry(11).key)));
}

TEST_CASE("a cache directory that cannot be used is refused, changing nothing",
          "[jit][cache][disk]") {
    TempDir dir;
    writeFile(dir.path / "file", "x");
    CHECK_FALSE(setDiskCache({(dir.path / "file").string(), 1 << 20}).ok());
    CHECK_FALSE(setDiskCache({(dir.path / "file" / "sub").string(), 1 << 20}).ok());
    CHECK(diskCacheStats().directory.empty()); // still off
    if (::geteuid() != 0) {                    // root writes anywhere
        fs::create_directory(dir.path / "ro");
        fs::permissions(dir.path / "ro", fs::perms::owner_read | fs::perms::owner_exec);
        CHECK_FALSE(setDiskCache({(dir.path / "ro").string(), 1 << 20}).ok());
        fs::permissions(dir.path / "ro", fs::perms::owner_all);
    }
}

namespace {

/// Runs the chronus binary with `args`; returns its exit status, its stderr in `err`.
int runChronus(const std::string& args, std::string& err, const std::string& env = "") {
    const std::string log =
        (fs::temp_directory_path() / fmt::format("chronus-cache-{}.log", ::getpid())).string();
    const std::string cmd =
        fmt::format("{} CHRONUS_VERBOSE=1 {} {} 2>{} >/dev/null", env, CHRONUS_BINARY, args, log);
    const int rc = std::system(cmd.c_str());
    err = readFile(log);
    fs::remove(log);
    return rc;
}

} // namespace

TEST_CASE("the second chronus render of a patch compiles nothing and writes the same file",
          "[jit][cache][disk][cli]") {
    TempDir dir;
    const fs::path patch = dir.path / "voices.patch";
    std::string text = "/patch/create master gain\n";
    for (int v = 0; v < 20; ++v)
        text += fmt::format("/patch/create o{0} saw\n/mod/o{0}/freq {1}\n/patch/create f{0} "
                            "biquad_filter\n/patch/connect o{0} f{0}\n/patch/connect f{0} master\n",
                            v, 100 + 13 * v);
    text += "/patch/commit\n";
    writeFile(patch, text);
    const fs::path cache = dir.path / "cache";
    std::string err;
    auto render = [&](const fs::path& out, const std::string& extra) {
        const int rc = runChronus(
            fmt::format("render {} -o {} -s 0.5 -r 44411 {}", patch.string(), out.string(), extra),
            err);
        INFO(err);
        REQUIRE(rc == 0);
    };
    render(dir.path / "a.wav", "--cache-dir " + cache.string());
    CHECK(err.find("JIT: 0 shapes compiled") == std::string::npos);
    render(dir.path / "b.wav", "--cache-dir " + cache.string());
    CHECK(err.find("JIT: 0 shapes compiled, 2 loaded from the code cache") != std::string::npos);
    CHECK(samplesOf(dir.path / "a.wav") == samplesOf(dir.path / "b.wav"));
    // Off by option and by the environment: everything compiles again.
    render(dir.path / "c.wav", "--cache-dir " + cache.string() + " --no-cache");
    CHECK(err.find("JIT: 0 shapes compiled") == std::string::npos);
    CHECK(err.find("code cache off") != std::string::npos);
    const int rc =
        runChronus(fmt::format("render {} -o {} -s 0.5 -r 44411 --cache-dir {}", patch.string(),
                               (dir.path / "d.wav").string(), cache.string()),
                   err, "CHRONUS_CACHE=0");
    REQUIRE(rc == 0);
    CHECK(err.find("code cache off") != std::string::npos);
    CHECK(samplesOf(dir.path / "c.wav") == samplesOf(dir.path / "a.wav"));
    // A cache directory that cannot be used: a clear error, nothing rendered.
    writeFile(dir.path / "notadir", "x");
    CHECK(runChronus(fmt::format("render {} -o {} -s 0.5 --cache-dir {}", patch.string(),
                                 (dir.path / "e.wav").string(), (dir.path / "notadir").string()),
                     err) != 0);
    CHECK(err.find("notadir") != std::string::npos);
    CHECK_FALSE(fs::exists(dir.path / "e.wav"));
}

// Issue 15, cases 1-3 and 10: with `serve --state`, nothing acknowledged is lost and nothing is
// overwritten that did not restore whole. A commit that cannot be written (a full disk, a
// directory where the file should be) is acknowledged as played but not saved; a restart plays
// the last commit that was saved. A state file cut short, or one whose commit fails, is never
// overwritten: serve stops, or with --state-reset sets it aside. `--state DIR` is refused at
// start. Temporary files are never followed through a planted symlink.
#include "runtime/atomic_file.h"
#include "runtime/patch_state.h"
#include "tests/test_engine_harness.h"
#include "tests/test_osc_client.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/stat.h>

using namespace chronus;
using chronus::test::freeUdpPort;
using chronus::test::OscClient;
using chronus::test::OscReply;
namespace fs = std::filesystem;

namespace {

/// A fresh directory for one test.
struct TempDir {
    explicit TempDir(const std::string& stem)
        : path(fs::temp_directory_path() / fmt::format("chronus-{}-{}", stem, ::getpid())) {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
    fs::path path;
};

/// A tiny tmpfs (root only): a disk that fills up. Nothing when it cannot be mounted (or
/// CHRONUS_TEST_NO_TMPFS is set, to run the tests' other way).
struct TinyDisk {
    explicit TinyDisk(const std::string& dir, const char* options = "size=16k") : path(dir) {
        fs::create_directories(dir);
        mounted = std::getenv("CHRONUS_TEST_NO_TMPFS") == nullptr &&
                  std::system(fmt::format("mount -t tmpfs -o {} chronus-test '{}' 2>/dev/null",
                                          options, dir)
                                  .c_str()) == 0;
    }
    ~TinyDisk() {
        if (mounted) (void)std::system(fmt::format("umount -l '{}'", path).c_str());
    }
    std::string path;
    bool mounted = false;
};

/// `chronus serve --device null --engine interp --state FILE ...` on its own port. `fileLimit`:
/// files it writes may not grow past this many 512-byte blocks (where no tmpfs can be mounted, a
/// full disk as the writer sees it: writes fail with EFBIG).
class Serve {
public:
    Serve(const std::string& state, const std::string& log, std::vector<std::string> extra = {},
          int fileLimit = 0)
        : port_(freeUdpPort()) {
        std::vector<std::string> argv{
            CHRONUS_BINARY, "serve",   "--device", "null",   "--engine",
            "interp",       "--state", state,      "--port", std::to_string(port_)};
        argv.insert(argv.end(), extra.begin(), extra.end());
        if (fileLimit > 0) {
            std::vector<std::string> sh{
                "/bin/sh", "-c", fmt::format("ulimit -f {}; trap '' XFSZ; exec \"$@\"", fileLimit),
                "sh"};
            argv.insert(argv.begin(), sh.begin(), sh.end());
        }
        pid_ = test::spawnProcess(argv, log);
    }
    ~Serve() { kill(); }
    int port() const { return port_; }
    /// Waits until it answers /engine/status; its reply.
    std::optional<OscReply> ready(OscClient& c) {
        for (int i = 0; i < 200; ++i) {
            c.send("/engine/status");
            if (auto r = c.waitFor("/engine/status", 0.05)) return r;
        }
        return std::nullopt;
    }
    void kill() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    int quit(OscClient& c) {
        c.send("/engine/quit");
        const int rc = test::waitExit(pid_, 10);
        pid_ = -1;
        return rc;
    }

private:
    int port_;
    pid_t pid_ = -1;
};

struct Run {
    int rc = -1;
    std::string log;
};

Run runServe(const std::vector<std::string>& args, const std::string& log) {
    std::vector<std::string> argv{CHRONUS_BINARY, "serve",  "--device", "null",
                                  "--engine",     "interp", "--no-osc"};
    argv.insert(argv.end(), args.begin(), args.end());
    const pid_t pid = test::spawnProcess(argv, log);
    REQUIRE(pid > 0);
    Run r;
    r.rc = test::waitExit(pid, 60);
    r.log = test::readText(log);
    return r;
}

std::string dumpOf(OscClient& c) {
    c.send("/patch/dump");
    std::string text;
    for (;;) {
        auto r = c.waitFor("/patch/dump", 5);
        REQUIRE(r);
        text += r->str(2);
        if (r->num(0) + 1 >= r->num(1)) return text;
    }
}

/// The notes a /patch/committed reply carries after its five numbers and words.
std::vector<std::string> notesOf(const OscReply& r) {
    std::vector<std::string> out;
    for (std::size_t i = 5; i < r.args.size(); ++i) out.push_back(r.str(i));
    return out;
}

std::size_t temporaries(const fs::path& dir) {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().ends_with(".tmp")) ++n;
    return n;
}

} // namespace

TEST_CASE("writeFileAtomically on a full disk fails whole: the old file stays, no temporary",
          "[state][files]") {
    TempDir dir("full-disk");
    TinyDisk disk(dir.file("disk"));
    const std::string path = disk.path + "/s.patch";
    const std::string big(64 * 1024, '#');
    if (disk.mounted) {
        REQUIRE(writeFileAtomically(path, "/patch/create a saw\n").ok());
        Status s = writeFileAtomically(path, big);
        REQUIRE_FALSE(s.ok());
        CHECK_THAT(s.message(), Catch::Contains(path) && Catch::Contains("No space left"));
        CHECK(test::readText(path) == "/patch/create a saw\n");
        CHECK(temporaries(disk.path) == 0);
    } else {
        // No tmpfs here: the same failure through a file-size limit, in a child process.
        REQUIRE(writeFileAtomically(path, "/patch/create a saw\n").ok());
        const pid_t pid = ::fork();
        if (pid == 0) {
            ::signal(SIGXFSZ, SIG_IGN);
            rlimit limit{8192, 8192};
            ::setrlimit(RLIMIT_FSIZE, &limit);
            ::_exit(writeFileAtomically(path, big).ok() ? 0 : 3);
        }
        int status = 0;
        ::waitpid(pid, &status, 0);
        CHECK(WEXITSTATUS(status) == 3);
        CHECK(test::readText(path) == "/patch/create a saw\n");
        CHECK(temporaries(disk.path) == 0);
        WARN("no tmpfs could be mounted: the full disk was a file-size limit");
    }
}

TEST_CASE("temporary files are never followed: symlinks planted in the directory redirect nothing",
          "[state][files]") {
    TempDir dir("symlinks");
    const std::string outside = dir.file("outside.txt");
    std::ofstream(outside) << "precious\n";
    fs::create_directories(dir.path / "state");
    const std::string path = dir.file("state/live.patch");
    // The temporary names a writer used before, and the name itself.
    fs::create_symlink(outside, dir.file("state/.live.patch.tmp"));
    fs::create_symlink(outside, dir.file(fmt::format("state/.live.patch.{}.0.tmp", ::getpid())));
    fs::create_symlink(outside, path);
    for (int i = 0; i < 5; ++i) REQUIRE(writeFileAtomically(path, "/patch/create a saw\n").ok());
    CHECK(test::readText(outside) == "precious\n");
    CHECK(fs::is_regular_file(fs::symlink_status(path))); // the link at the name was replaced
    CHECK(test::readText(path) == "/patch/create a saw\n");
    // A writer killed mid-write leaves temporaries: cleared, links removed, never followed.
    removeStaleTemporaries(path);
    CHECK(temporaries(dir.path / "state") == 0);
    CHECK(test::readText(outside) == "precious\n");
}

TEST_CASE("checkStatePath and readStateFile refuse what is not a whole state file",
          "[state][files]") {
    TempDir dir("state-check");
    const std::string subdir = dir.file("d");
    fs::create_directories(subdir);
    CHECK_THAT(checkStatePath(subdir).message(), Catch::Contains("is a directory"));
    CHECK_THAT(readStateFile(subdir).error().message, Catch::Contains("is a directory"));
    const std::string link = dir.file("link.patch");
    fs::create_symlink(dir.file("elsewhere.patch"), link);
    CHECK_THAT(checkStatePath(link).message(), Catch::Contains("is a symbolic link"));
    CHECK_THAT(readStateFile(link).error().message, Catch::Contains("symbolic link"));
    CHECK(checkStatePath(dir.file("absent.patch")).ok());
    CHECK_THAT(checkStatePath(dir.file("no/such/dir/x")).message(),
               Catch::Contains("does not exist"));

    // What the writer writes: header, the patch, footer. Cut anywhere short of the footer, it is
    // not whole, even when what is left parses ("/mod/osc1/freq 44" of "440").
    const std::string whole = std::string(kStateHeader) +
                              "/patch/create osc1 simple_sine\n/mod/osc1/freq 440\n" +
                              std::string(kStateFooter);
    const std::string path = dir.file("s.patch");
    std::ofstream(path) << whole;
    auto ok = readStateFile(path);
    REQUIRE(ok.ok());
    REQUIRE(ok->has_value());
    CHECK((*ok)->steps.size() == 2);
    for (std::size_t cut : {whole.size() - 1, whole.size() - kStateFooter.size(),
                            whole.size() - kStateFooter.size() - 2}) {
        std::ofstream(path, std::ios::trunc) << whole.substr(0, cut);
        auto bad = readStateFile(path);
        REQUIRE_FALSE(bad.ok());
        CHECK_THAT(bad.error().message, Catch::Contains("cut short"));
    }
    // A file without the header (an older version's, or written by hand) is read as before.
    std::ofstream(path, std::ios::trunc) << "/patch/create osc1 simple_sine\n";
    CHECK(readStateFile(path).ok());
    // Raw bytes in a bad line are not echoed to the terminal.
    std::ofstream(path, std::ios::trunc) << "/patch/create osc1 \x1b[2J\x07\xff\n";
    auto junk = readStateFile(path);
    REQUIRE_FALSE(junk.ok());
    for (char c : junk.error().message) {
        INFO(junk.error().message);
        REQUIRE((c >= 0x20 && c < 0x7f));
    }
    CHECK_THAT(junk.error().message, Catch::Contains("\\x1b[2J\\x07\\xff"));
}

TEST_CASE("serve --state: a commit that cannot be saved is acknowledged as not saved, and a "
          "restart plays the last one saved",
          "[state][serve][e2e]") {
    TempDir dir("not-saved");
    TinyDisk disk(dir.file("disk"));
    const std::string state = disk.path + "/live.patch";
    const std::string log = dir.file("serve.log");
    {
        Serve serve(state, log, {}, disk.mounted ? 0 : 16);
        OscClient c(serve.port());
        REQUIRE(serve.ready(c));
        c.send("/patch/create", {"osc1", "simple_sine"});
        c.send("/patch/commit");
        auto first = c.waitFor("/patch/committed", 10);
        REQUIRE(first);
        CHECK(first->str(3) == "ok");
        CHECK(notesOf(*first).empty()); // saved
        const std::string saved = dumpOf(c);

        // 250 more modules with long names: a state file larger than the disk (or the limit)
        // can take, of a patch that costs little to render.
        for (int i = 0; i < 250; ++i) {
            c.send("/patch/create",
                   {fmt::format("a_module_with_a_name_as_long_as_ids_may_be_{:03}", i), "const"});
            if (i % 50 == 0) (void)c.drain(0.01);
        }
        (void)c.drain(0.2);
        c.send("/patch/commit");
        auto second = c.waitFor("/patch/committed", 30);
        INFO("serve log:\n" << test::readText(log));
        REQUIRE(second);
        CHECK(second->num(0) == 2);
        CHECK(second->str(3) == "ok"); // the first four arguments as ever
        const auto notes = notesOf(*second);
        REQUIRE(notes.size() >= 1);
        CHECK_THAT(notes[0], Catch::StartsWith("not saved: cannot write '" + state + "'"));
        WARN("/patch/committed 2 ... \"" << notes[0] << "\"");
        CHECK_THAT(test::readText(log), Catch::Contains("--state: cannot write"));
        serve.kill();

        Serve again(state, log);
        OscClient c2(again.port());
        auto st = again.ready(c2);
        REQUIRE(st);
        CHECK(st->field("active_seq") == 1); // restored and committed
        CHECK(dumpOf(c2) == saved);
        CHECK(again.quit(c2) == 0);
        CHECK(temporaries(disk.path) == 0); // the one the kill left was cleared at start
    }
    if (!disk.mounted) WARN("no tmpfs could be mounted: the full disk was a file-size limit");
}

TEST_CASE("serve --state refuses a directory, a symlink or an unwritable directory at start",
          "[state][serve][e2e]") {
    TempDir dir("state-start");
    const std::string log = dir.file("serve.log");
    fs::create_directories(dir.path / "d");
    Run asDir = runServe({"--seconds", "1", "--state", dir.file("d")}, log);
    CHECK(asDir.rc == 1);
    CHECK_THAT(asDir.log, Catch::Contains("is a directory"));
    CHECK_THAT(asDir.log, !Catch::Contains("restored"));

    fs::create_symlink(dir.file("target.patch"), dir.file("link.patch"));
    Run asLink = runServe({"--seconds", "1", "--state", dir.file("link.patch")}, log);
    CHECK(asLink.rc == 1);
    CHECK_THAT(asLink.log, Catch::Contains("symbolic link"));

    // Read-only: a read-only mount (root writes through permissions), else permissions.
    TinyDisk ro(dir.file("ro"), "size=16k,ro");
    if (!ro.mounted) ::chmod(ro.path.c_str(), 0555);
    Run readOnly = runServe({"--seconds", "1", "--state", ro.path + "/live.patch"}, log);
    if (ro.mounted || ::geteuid() != 0) {
        CHECK(readOnly.rc == 1);
        CHECK_THAT(readOnly.log, Catch::Contains("is not writable"));
    }
    ::chmod(ro.path.c_str(), 0755);
}

TEST_CASE(
    "serve --state: a file that does not restore whole is kept, and --state-reset sets it aside",
    "[state][serve][e2e]") {
    TempDir dir("not-whole");
    const std::string log = dir.file("serve.log");
    const std::string state = dir.file("live.patch");
    std::string chain = "/patch/create osc1 simple_sine\n/patch/create f biquad_filter\n";
    for (int i = 0; i < 70; ++i)
        chain += fmt::format("/patch/create g{} gain\n/mod/g{}/level 4\n/patch/connect {} g{}\n", i,
                             i, i == 0 ? std::string("osc1") : fmt::format("g{}", i - 1), i);
    chain += "/patch/connect g69 f\n";
    const std::string whole = std::string(kStateHeader) +
                              "/patch/create osc1 simple_sine\n/mod/osc1/freq 440\n" +
                              std::string(kStateFooter);
    const std::vector<std::pair<std::string, std::string>> files = {
        {"cut short", whole.substr(0, whole.size() - kStateFooter.size() - 2)},
        {"a line refused", "/patch/create osc1 simple_sine\n/patch/create x no_such_type\n"},
        {"its commit fails (runaway in warm-up)", chain}};
    for (const auto& [what, text] : files) {
        INFO(what);
        std::ofstream(state, std::ios::trunc) << text;
        Run stopped = runServe({"--seconds", "2", "--state", state}, log);
        INFO(stopped.log);
        CHECK(stopped.rc != 0);
        CHECK_THAT(stopped.log, Catch::Contains("does not restore whole, so it is left as it is") &&
                                    Catch::Contains("--state-reset"));
        CHECK(test::readText(state) == text); // never overwritten

        for (const auto& e : fs::directory_iterator(dir.path))
            if (e.path().filename().string().find(".bad-") != std::string::npos)
                fs::remove(e.path());
        Serve serve(state, log, {"--state-reset"});
        OscClient c(serve.port());
        auto st = serve.ready(c);
        INFO(test::readText(log));
        REQUIRE(st);
        CHECK(st->field("active_seq") == 0); // started afresh: nothing committed
        std::optional<std::string> aside;
        for (const auto& e : fs::directory_iterator(dir.path))
            if (e.path().filename().string().starts_with("live.patch.bad-"))
                aside = e.path().string();
        REQUIRE(aside);
        CHECK(test::readText(*aside) == text);
        CHECK_THAT(test::readText(log), Catch::Contains("set aside as " + *aside));
        CHECK_FALSE(fs::exists(state));
        c.send("/patch/create", {"fresh", "saw"});
        c.send("/patch/commit");
        auto r = c.waitFor("/patch/committed", 10);
        REQUIRE(r);
        CHECK(notesOf(*r).empty());
        CHECK_THAT(test::readText(state), Catch::Contains("/patch/create fresh saw"));
        CHECK(serve.quit(c) == 0);
    }
}

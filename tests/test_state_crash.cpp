// `chronus serve --state FILE` survives SIGKILL: a subprocess is driven over OSC with a chain of
// commits and a parameter storm, killed at a random moment (often mid-commit), and restarted; the
// restored patch must be the last one committed or the one before (if the kill landed before its
// write), never torn, never unparsable, and it must play at once. A reader reads the file all
// along and parses every version it sees. A final quiet round checks that parameter changes made
// after a commit are kept too.
#include "runtime/patch_file.h"
#include "runtime/patch_state.h"
#include "tests/test_engine_harness.h"
#include "tests/test_osc_client.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <netinet/in.h>
#include <random>
#include <set>
#include <sys/socket.h>
#include <thread>

using namespace chronus;
using chronus::test::freeUdpPort;
using chronus::test::OscClient;

namespace {

/// The lines that define a patch's shape (creates and connections), in order.
std::string structureOf(const std::string& text) {
    std::string out;
    auto lines = parsePatchText(text);
    if (!lines) return "<unparsable: " + lines.error().message + ">";
    for (const PatchLine& l : *lines) {
        if (l.address != "/patch/create" && l.address != "/patch/connect") continue;
        out += l.address;
        for (const PatchArg& a : l.args)
            out += " " + (std::holds_alternative<std::string>(a)
                              ? std::get<std::string>(a)
                              : fmt::format("{}", std::get<float>(a)));
        out += "\n";
    }
    return out;
}

/// The value a `/mod/id/param v` line sets, if the text has one.
std::optional<float> paramIn(const std::string& text, const std::string& address) {
    auto lines = parsePatchText(text);
    if (!lines) return std::nullopt;
    for (const PatchLine& l : *lines)
        if (l.address == address && l.args.size() == 1 && std::holds_alternative<float>(l.args[0]))
            return std::get<float>(l.args[0]);
    return std::nullopt;
}

/// The patch without the state file's comment lines, as /patch/dump sends it.
std::string withoutComments(const std::string& text) {
    std::string out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        if (text[pos] != '#') out += text.substr(pos, end - pos + 1);
        pos = end + 1;
    }
    return out;
}

/// `chronus serve --device null --state FILE` on its own port.
class Serve {
public:
    Serve(const std::string& state, const std::string& log) : port_(freeUdpPort()), log_(log) {
        pid_ = test::spawnProcess({CHRONUS_BINARY, "serve", "--device", "null", "--engine",
                                   "interp", "--state", state, "--port", std::to_string(port_)},
                                  log);
    }
    ~Serve() { kill(); }
    int port() const { return port_; }
    pid_t pid() const { return pid_; }
    /// Waits until it answers /engine/status; its reply.
    std::optional<test::OscReply> ready(OscClient& c) {
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

private:
    int port_;
    std::string log_;
    pid_t pid_ = -1;
};

/// The committed patch as the server dumps it (all chunks).
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

/// Parameter writes from their own socket until stopped, every value from `values`.
class Storm {
public:
    Storm(int port, const std::vector<float>& values) {
        thread_ = std::thread([this, port, values] {
            OscClient c(port);
            std::mt19937 rng(7);
            std::uniform_int_distribution<std::size_t> pick(0, values.size() - 1);
            while (!stop_) {
                for (int i = 0; i < 4; ++i) c.send("/mod/osc1/freq", {values[pick(rng)]});
                (void)c.drain(0.001);
            }
        });
    }
    ~Storm() {
        stop_ = true;
        thread_.join();
    }

private:
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

/// Reads the state file over and over; every version must parse and be a known patch.
class Reader {
public:
    explicit Reader(std::string path) : path_(std::move(path)) {
        thread_ = std::thread([this] {
            while (!stop_) {
                auto lines = readStateFile(path_);
                ++reads_;
                if (!lines) {
                    std::lock_guard lock(mutex_);
                    bad_.push_back(lines.error().message);
                } else if (*lines) {
                    std::lock_guard lock(mutex_);
                    seen_.insert(structureOf(test::readText(path_)));
                }
                std::this_thread::sleep_for(std::chrono::microseconds(500));
            }
        });
    }
    ~Reader() { stop(); }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    std::vector<std::string> bad() {
        std::lock_guard lock(mutex_);
        return bad_;
    }
    std::set<std::string> seen() {
        std::lock_guard lock(mutex_);
        return seen_;
    }
    uint64_t reads() const { return reads_; }

private:
    std::string path_;
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> reads_{0};
    std::mutex mutex_;
    std::vector<std::string> bad_;
    std::set<std::string> seen_;
    std::thread thread_;
};

} // namespace

TEST_CASE("serve --state: a patch killed mid-commit with SIGKILL comes back as last committed",
          "[state][serve][e2e]") {
    const auto dir =
        std::filesystem::temp_directory_path() / fmt::format("chronus-state-{}", ::getpid());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const std::string state = (dir / "live.patch").string();
    const std::string log = (dir / "serve.log").string();

    std::vector<float> stormValues;
    for (int i = 0; i < 200; ++i) stormValues.push_back(200.0f + 1.25f * float(i));
    const std::set<float> stormSet(stormValues.begin(), stormValues.end());

    std::mt19937 rng(20260601);
    std::vector<std::string> structures; // every commit's shape, in order
    std::string previousVoice;
    auto editsFor = [&](OscClient& c, const std::string& voice) {
        if (!previousVoice.empty()) c.send("/patch/delete", {previousVoice});
        c.send("/patch/create", {voice, "saw"});
        c.send("/mod/" + voice + "/gain", {0.05f});
        c.send("/patch/connect", {voice, "osc1:freq"});
        previousVoice = voice;
        return "/patch/create osc1 simple_sine\n/patch/create " + voice + " saw\n/patch/connect " +
               voice + ":out osc1:freq\n";
    };

    Reader reader(state);
    std::optional<std::string> expectedDump; // what the restarted server must play
    int restoredChecks = 0, lastAccepted = 0, beforeAccepted = 0;
    const int kRounds = 6;
    for (int round = 0; round < kRounds; ++round) {
        Serve serve(state, log);
        REQUIRE(serve.pid() > 0);
        OscClient client(serve.port());
        auto st = serve.ready(client);
        INFO("round " << round << ", serve log:\n" << test::readText(log));
        REQUIRE(st);
        if (expectedDump) {
            // Restored, committed and playing before OSC even started.
            CHECK(st->field("active_seq") == 1);
            CHECK(dumpOf(client) == *expectedDump);
            ++restoredChecks;
        } else {
            client.send("/patch/create", {"osc1", "simple_sine"});
            structures.push_back(editsFor(client, "v0"));
            client.send("/patch/commit");
            REQUIRE(client.waitFor("/patch/committed", 10));
        }

        if (round + 1 < kRounds) {
            // Commits under a parameter storm; the kill lands after commit `killAfter` was sent,
            // 0-30 ms later, without waiting for it.
            Storm storm(serve.port(), stormValues);
            const int commits = 5;
            const int killAfter = std::uniform_int_distribution<int>(1, commits)(rng);
            const int delayMs = std::uniform_int_distribution<int>(0, 30)(rng);
            std::size_t acked = structures.size() - 1; // the restored or first commit
            for (int k = 1; k <= killAfter; ++k) {
                structures.push_back(editsFor(client, fmt::format("v{}_{}", round + 1, k)));
                client.send("/patch/commit");
                if (k < killAfter) {
                    REQUIRE(client.waitFor("/patch/committed", 10));
                    acked = structures.size() - 1;
                }
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(delayMs));
            serve.kill();

            const std::string text = test::readText(state);
            auto parsed = parsePatchText(text);
            INFO("state file after the kill:\n" << text);
            REQUIRE(parsed.ok());
            const std::string shape = structureOf(text);
            // Commits are durable before they are acknowledged: the file holds the last commit
            // sent (if it swapped in and was written before the kill) or, if the kill landed
            // before that, the one before it, which was acknowledged.
            const std::size_t last = structures.size() - 1;
            std::optional<std::size_t> found;
            for (std::size_t i = acked; i <= last; ++i)
                if (structures[i] == shape) found = i;
            INFO("commits " << acked << " acknowledged, " << last << " sent; the file has:\n"
                            << shape);
            if (!found)
                for (std::size_t i = 0; i <= last; ++i) UNSCOPED_INFO(i << ":\n" << structures[i]);
            REQUIRE(found);
            (*found == last ? lastAccepted : beforeAccepted) += 1;
            if (auto f = paramIn(text, "/mod/osc1/freq")) CHECK(stormSet.count(*f) == 1);
            expectedDump = withoutComments(text);
            // The next round edits from what was restored.
            previousVoice = shape.substr(shape.find("/patch/create v") + 14,
                                         shape.find(" saw") - shape.find("/patch/create v") - 14);
            structures.push_back(shape);
        } else {
            // Quiet round: a commit, then parameter changes, then the kill well after the
            // debounce: all of it must come back.
            structures.push_back(editsFor(client, "quiet"));
            client.send("/patch/commit");
            REQUIRE(client.waitFor("/patch/committed", 10));
            client.send("/mod/osc1/freq", {333.25f});
            client.send("/mod/quiet/gain", {0.125f});
            std::this_thread::sleep_for(std::chrono::milliseconds(800));
            serve.kill();
            const std::string text = test::readText(state);
            INFO(text);
            CHECK(structureOf(text) == structures.back());
            CHECK(paramIn(text, "/mod/osc1/freq") == 333.25f);
            CHECK(paramIn(text, "/mod/quiet/gain") == 0.125f);

            Serve again(state, log);
            OscClient c2(again.port());
            auto st2 = again.ready(c2);
            REQUIRE(st2);
            CHECK(st2->field("active_seq") == 1);
            CHECK(dumpOf(c2) == withoutComments(text));
        }
    }
    reader.stop();
    INFO(reader.reads() << " reads of the state file");
    CHECK(reader.bad().empty());
    for (const auto& b : reader.bad()) WARN(b);
    const std::set<std::string> known(structures.begin(), structures.end());
    for (const std::string& s : reader.seen()) {
        INFO("the reader saw a patch that was never committed:\n" << s);
        CHECK(known.count(s) == 1);
    }
    CHECK(restoredChecks == kRounds - 1);
    WARN("state after SIGKILL: the last commit sent "
         << lastAccepted << " times, an earlier " << beforeAccepted << " times; " << reader.reads()
         << " reads, all parsed");
    std::filesystem::remove_all(dir);
}

TEST_CASE("writeFileAtomically replaces a file whole and leaves no temporary behind", "[state]") {
    const auto dir =
        std::filesystem::temp_directory_path() / fmt::format("chronus-state-unit-{}", ::getpid());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "s.patch").string();
    REQUIRE(writeFileAtomically(path, "/patch/create a saw\n").ok());
    REQUIRE(writeFileAtomically(path, "/patch/create b saw\n").ok());
    CHECK(test::readText(path) == "/patch/create b saw\n");
    int files = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        (void)e;
        ++files;
    }
    CHECK(files == 1);
    auto lines = readStateFile(path);
    REQUIRE(lines.ok());
    REQUIRE(lines->has_value());
    CHECK((*lines)->steps.size() == 1);
    // Checked whole as any patch file: a bad line refuses the file, naming it and the line.
    REQUIRE(writeFileAtomically(path, "/patch/create b saw\n/patch/create c no_such_type\n").ok());
    auto bad = readStateFile(path);
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.error().message,
               Catch::StartsWith(path + ":2: ") && Catch::Contains("unknown module type"));
    auto none = readStateFile((dir / "absent.patch").string());
    REQUIRE(none.ok());
    CHECK(!none->has_value());
    CHECK(!writeFileAtomically((dir / "no/such/dir/x").string(), "x").ok());
    std::filesystem::remove_all(dir);
}

// The OSC namespace against a client that shares no code with Chronus: tests/support/osc_talk.py
// (Python's standard library, as Debian's python3-minimal has it) sends the messages and prints
// the replies. /status, /sync, /notify, read-back, /patch/list and /modules, `chronus send`
// beside it, and a bad request to each new address: a precise /error, and nothing changed.
#include "tests/support/cli_process.h"
#include "tests/test_engine_harness.h"
#include "tests/test_osc_client.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>

using namespace chronus;
using namespace chronus::test;

namespace {

const std::string kTalk = std::string(CHRONUS_SOURCE_DIR) + "/tests/support/osc_talk.py";

/// One reply as osc_talk.py prints it.
struct Line {
    std::string socket, address, types;
    std::vector<std::string> args;
    std::string arg(std::size_t i) const { return i < args.size() ? args[i] : "<missing>"; }
};

std::vector<Line> parse(const std::string& out) {
    std::vector<Line> lines;
    std::istringstream in(out);
    std::string text;
    while (std::getline(in, text)) {
        std::vector<std::string> f;
        std::size_t at = 0;
        for (;;) {
            const auto tab = text.find('\t', at);
            f.push_back(text.substr(at, tab == std::string::npos ? tab : tab - at));
            if (tab == std::string::npos) break;
            at = tab + 1;
        }
        if (f.size() < 3 || (f[0] != "A" && f[0] != "B")) continue; // not a reply line
        lines.push_back({f[0], f[1], f[2], {f.begin() + 3, f.end()}});
    }
    return lines;
}

/// A null-device serve on a free port, answering.
struct Server {
    explicit Server(std::vector<std::string> extra = {}) : serve(argv(extra), log) {}
    int port = freeUdpPort();
    std::string log = tempPath("independent", ".log");
    Child serve;

    std::vector<std::string> argv(const std::vector<std::string>& extra) {
        std::vector<std::string> a{CHRONUS_BINARY, "serve", "--device", "null",
                                   "--seconds",    "60",    "--port",   std::to_string(port)};
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    }
    bool up() {
        OscClient probe(port);
        for (int i = 0; i < 100; ++i) {
            probe.send("/engine/status");
            if (probe.waitFor("/engine/status", 0.1)) return true;
        }
        return false;
    }
    /// The messages, sent by osc_talk.py; its replies (all of them: it ends at its /synced).
    std::vector<Line> talk(const std::vector<std::string>& messages, bool watch = false) {
        std::vector<std::string> a{"python3", kTalk, std::to_string(port)};
        if (watch) a.push_back("--watch");
        a.insert(a.end(), messages.begin(), messages.end());
        Run r = run(a, tempPath("talk", ".log"), 60);
        INFO(r.output);
        REQUIRE(r.rc == 0);
        return parse(r.output);
    }
    Run send(const std::vector<std::string>& args) {
        std::vector<std::string> a{CHRONUS_BINARY, "send", "--port", std::to_string(port)};
        a.insert(a.end(), args.begin(), args.end());
        return run(a, tempPath("send", ".log"), 30);
    }
};

std::vector<Line> only(const std::vector<Line>& lines, const std::string& address,
                       const std::string& socket = "A") {
    std::vector<Line> out;
    for (const Line& l : lines)
        if (l.address == address && l.socket == socket) out.push_back(l);
    return out;
}

/// The text of a chunked reply (`address index count text`), checked whole and in order.
std::string chunks(const std::vector<Line>& lines, const std::string& address) {
    std::string text;
    const auto parts = only(lines, address);
    REQUIRE_FALSE(parts.empty());
    for (std::size_t i = 0; i < parts.size(); ++i) {
        REQUIRE(parts[i].types == "iis");
        CHECK(parts[i].arg(0) == std::to_string(i));
        CHECK(parts[i].arg(1) == std::to_string(parts.size()));
        std::string chunk = parts[i].arg(2);
        for (std::size_t at = 0; (at = chunk.find("\\n", at)) != std::string::npos;)
            chunk.replace(at, 2, "\n");
        for (std::size_t at = 0; (at = chunk.find("\\t", at)) != std::string::npos;)
            chunk.replace(at, 2, "\t");
        text += chunk;
    }
    return text;
}

std::string errorAbout(const std::vector<Line>& lines, const std::string& address) {
    for (const Line& l : only(lines, "/error"))
        if (l.arg(0) == address) return l.arg(1);
    return "<no /error about " + address + ">";
}

} // namespace

TEST_CASE("a plain Python client: /status, /sync after the commit, /notify to a second socket",
          "[osc][e2e][independent]") {
    Server s;
    INFO(fileText(s.log));
    REQUIRE(s.up());
    const auto lines = s.talk({"/status", "/patch/create osc1 saw", "/patch/commit", "/sync 7"},
                              /*watch=*/true);
    const auto status = only(lines, "/status.reply");
    REQUIRE(status.size() == 1);
    CHECK(status[0].types == "iiiiiffdd");
    CHECK(status[0].arg(1) == "0"); // nothing plays yet

    // /synced 7 only after the commit's outcome.
    std::vector<std::string> order;
    for (const Line& l : lines)
        if (l.socket == "A" && (l.address == "/patch/committed" || l.address == "/synced"))
            order.push_back(l.address + " " + l.arg(0));
    CHECK(order == std::vector<std::string>{"/patch/committed 1", "/synced 7", "/synced 999999"});
    // The watcher was told of a commit it did not send.
    CHECK(only(lines, "/patch/committed", "B").size() == 1);

    // Refused, precisely: /notify 2 subscribes nobody.
    const auto bad = s.talk({"/notify 2", "/sync x"});
    CHECK_THAT(errorAbout(bad, "/notify"), Catch::Contains("1 (subscribe) or 0"));
    CHECK_THAT(errorAbout(bad, "/sync"), Catch::Contains("whole number"));
}

TEST_CASE("read-back replies with the message that sets the value back",
          "[osc][e2e][independent]") {
    Server s;
    INFO(fileText(s.log));
    REQUIRE(s.up());
    auto lines = s.talk({"/patch/create osc1 saw", "/patch/create f1 biquad_filter",
                         "/mod/osc1/freq f:330.5", "/mod/f1/mode hp", "/mod/osc1/freq",
                         "/mod/osc1/gain", "/mod/f1/mode", "/mod/f1/cutoff"});
    auto freq = only(lines, "/mod/osc1/freq");
    REQUIRE(freq.size() == 1);
    CHECK(freq[0].types == "f");
    CHECK(freq[0].arg(0) == "330.5");
    auto gain = only(lines, "/mod/osc1/gain");
    REQUIRE(gain.size() == 1);
    CHECK(std::stod(gain[0].arg(0)) == Approx(0.2)); // the default
    auto mode = only(lines, "/mod/f1/mode");
    REQUIRE(mode.size() == 1);
    CHECK(mode[0].types == "s"); // a choice by name, as /patch/dump writes it
    CHECK(mode[0].arg(0) == "hp");
    CHECK(only(lines, "/mod/f1/cutoff").size() == 1);

    // Sent back as it came, the reply sets the same value; reading again gives it again.
    lines = s.talk({"/mod/f1/mode " + mode[0].arg(0), "/mod/osc1/freq f:" + freq[0].arg(0),
                    "/mod/f1/mode", "/mod/osc1/freq"});
    CHECK(only(lines, "/error").empty());
    CHECK(only(lines, "/mod/f1/mode").at(0).arg(0) == "hp");
    CHECK(only(lines, "/mod/osc1/freq").at(0).arg(0) == "330.5");

    // Refused as a set is, with did-you-mean; nothing changed (read again).
    lines = s.talk({"/mod/osc1/freqq", "/mod/osc2/freq", "/mod/osc1/freq"});
    CHECK_THAT(errorAbout(lines, "/mod/osc1/freqq"), Catch::Contains("did you mean 'freq'"));
    CHECK_THAT(errorAbout(lines, "/mod/osc2/freq"), Catch::Contains("unknown module id 'osc2'"));
    CHECK(only(lines, "/mod/osc1/freq").at(0).arg(0) == "330.5");
}

TEST_CASE("/patch/list: the structure of the playing or the pending patch, chunked, then its end",
          "[osc][e2e][independent]") {
    Server s;
    INFO(fileText(s.log));
    REQUIRE(s.up());
    auto lines = s.talk({"/patch/create osc1 saw", "/patch/create d1 delay 500",
                         "/patch/connect osc1 d1", "/patch/list", "/patch/list pending"});
    // Nothing committed: the playing patch is empty; the pending one has the edits.
    auto ends = only(lines, "/patch/list.end");
    REQUIRE(ends.size() == 2);
    CHECK(ends[0].args == std::vector<std::string>{"playing", "0", "0"});
    CHECK(ends[1].args == std::vector<std::string>{"pending", "2", "1"});
    const auto parts = only(lines, "/patch/list");
    REQUIRE(parts.size() == 2); // one (empty) chunk each
    CHECK(parts[0].arg(2).empty());
    CHECK(parts[1].arg(2) == "/patch/create osc1 saw\\n/patch/create d1 delay 500\\n"
                             "/patch/connect osc1:out d1:in\\n");

    // Committed, and grown past one chunk: the chunks reassemble in order, the end counts all.
    // The commit reported first (a talk ends at its /synced), so that the playing patch has it.
    s.talk({"/patch/commit"});
    std::vector<std::string> many;
    for (int i = 0; i < 80; ++i)
        many.push_back("/patch/create voice_number_" + std::to_string(i) + " saw");
    many.push_back("/patch/list pending");
    many.push_back("/patch/list playing");
    lines = s.talk(many);
    ends = only(lines, "/patch/list.end");
    REQUIRE(ends.size() == 2);
    CHECK(ends[0].args == std::vector<std::string>{"pending", "82", "1"});
    CHECK(ends[1].args == std::vector<std::string>{"playing", "2", "1"});
    const auto pendingChunks = only(lines, "/patch/list");
    CHECK(pendingChunks.size() > 2);
    std::vector<Line> first(pendingChunks.begin(),
                            pendingChunks.begin() + std::stol(pendingChunks[0].arg(1)));
    const std::string text = chunks(first, "/patch/list");
    CHECK(std::count(text.begin(), text.end(), '\n') == 83);
    CHECK_THAT(text, Catch::Contains("/patch/create voice_number_79 saw\n"));

    // Refused: an unknown version, two arguments; the patch is as it was.
    lines = s.talk({"/patch/list 3", "/patch/list playing pending", "/patch/list pending"});
    CHECK_THAT(errorAbout(lines, "/patch/list"), Catch::Contains("playing"));
    CHECK(only(lines, "/error").size() == 2);
    CHECK(only(lines, "/patch/list.end").at(0).args ==
          std::vector<std::string>{"pending", "82", "1"});
}

TEST_CASE("/modules: the descriptor table as data, chunked, then its end",
          "[osc][e2e][independent]") {
    Server s;
    INFO(fileText(s.log));
    REQUIRE(s.up());
    auto lines = s.talk({"/modules"});
    const std::string text = chunks(lines, "/modules");
    const auto end = only(lines, "/modules.end");
    REQUIRE(end.size() == 1);
    int types = 0;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) types += l.starts_with("type\t") ? 1 : 0;
    CHECK(types >= 14);
    CHECK(end[0].arg(0) == std::to_string(types));
    CHECK_THAT(text, Catch::Contains("type\tsaw\tband-limited sawtooth oscillator (PolyBLEP)\t\n"));
    CHECK_THAT(text, Catch::Contains("output\tsaw\tout\t0\n"));
    CHECK_THAT(text, Catch::Contains("param\tsaw\tfreq\t220\t-20000\t20000\tHz\t1\t1\t\n"));
    CHECK_THAT(text,
               Catch::Contains("param\tbiquad_filter\tmode\t0\t0\t3\t\t0\t1\tlp,hp,bp,notch\n"));
    CHECK_THAT(text, Catch::Contains("create\tdelay\tmax_ms\t2000\t1\t10000\tms\t"));
    CHECK_THAT(text, Catch::Contains("variadic\tmix\t"));

    lines = s.talk({"/modules all"});
    CHECK_THAT(errorAbout(lines, "/modules"), Catch::Contains("takes no arguments"));
    CHECK(only(lines, "/modules").empty());
}

TEST_CASE("/sync waits for the /patch/ir sent before it", "[osc][e2e][independent]") {
    const std::string dir = tempPath("independent_ir", "");
    std::filesystem::create_directories(dir);
    Server s({"--ir-dir", dir});
    INFO(fileText(s.log));
    REQUIRE(s.up());
    s.talk({"/patch/create osc1 saw", "/patch/commit"}); // reported before the talk ends
    // The IR files are written by the server's worker thread, after the receive thread has
    // taken the /sync's datagram: the /synced still comes after both paths.
    const auto lines = s.talk({"/patch/ir", "/patch/ir lowered", "/sync 3"});
    std::vector<std::string> order;
    for (const Line& l : lines) order.push_back(l.address);
    CHECK(order == std::vector<std::string>{"/patch/ir", "/patch/ir", "/synced", "/synced"});
    for (const Line& l : only(lines, "/patch/ir")) CHECK(std::filesystem::exists(l.arg(0)));
    std::filesystem::remove_all(dir);
}

TEST_CASE("chronus send prints read-back, /patch/list and /modules readably, and the Python "
          "client sees what it did",
          "[osc][e2e][independent][send]") {
    Server s;
    INFO(fileText(s.log));
    REQUIRE(s.up());
    REQUIRE(s.send({"/patch/create", "osc1", "saw"}).rc == 0);
    REQUIRE(s.send({"/mod/osc1/freq", "110"}).rc == 0);
    REQUIRE(s.send({"/patch/commit"}).rc == 0);
    const auto lines = s.talk({"/patch/list", "/mod/osc1/freq"});
    CHECK(only(lines, "/patch/list").at(0).arg(2) == "/patch/create osc1 saw\\n");
    CHECK(only(lines, "/mod/osc1/freq").at(0).arg(0) == "110.0");

    Run r = s.send({"/mod/osc1/freq"});
    CHECK(r.rc == 0);
    CHECK_THAT(r.output, Catch::Contains("/mod/osc1/freq 110\n"));
    r = s.send({"/patch/list", "pending"});
    CHECK(r.rc == 0);
    CHECK_THAT(r.output, Catch::Contains("/patch/create osc1 saw\n/patch/list.end (pending patch: "
                                         "1 modules, 0 connections)"));
    r = s.send({"/modules"});
    CHECK(r.rc == 0);
    CHECK_THAT(r.output, Catch::Contains("param\tsaw\tfreq\t220"));
    CHECK_THAT(r.output, Catch::Contains("module types)"));
    r = s.send({"/engine/status"});
    CHECK(r.rc == 0);
    CHECK_THAT(r.output, Catch::Contains("/engine/status sample_rate 48000, block_frames "));
    r = s.send({"/mod/osc1/frq"});
    CHECK(r.rc == 1);
    CHECK_THAT(r.output, Catch::Contains("did you mean 'freq'"));
}

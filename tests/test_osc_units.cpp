// The OSC adapter's pure parts: datagram decoding and type checks, the timetag -> sample mapping,
// dump chunking and IR file naming, the labelled /engine/status, the query replies' text.
#include "osc/dump_chunks.h"
#include "osc/ir_file.h"
#include "osc/osc_limits.h"
#include "osc/osc_packet.h"
#include "osc/osc_time.h"
#include "osc/query_replies.h"
#include "osc/status_reply.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <lo/lo.h>
#include <unistd.h>

using namespace chronus;
using namespace chronus::osc;

namespace {

std::vector<std::byte> serialise(const char* path, lo_message m) {
    size_t size = 0;
    void* data = lo_message_serialise(m, path, nullptr, &size);
    std::vector<std::byte> out(static_cast<const std::byte*>(data),
                               static_cast<const std::byte*>(data) + size);
    std::free(data);
    lo_message_free(m);
    return out;
}

Packet decode(const std::vector<std::byte>& d) {
    return decodePacket(d.data(), d.size());
}

} // namespace

TEST_CASE("a message decodes into typed arguments", "[osc][packet]") {
    lo_message m = lo_message_new();
    lo_message_add_string(m, "osc1");
    lo_message_add_int32(m, 3);
    lo_message_add_float(m, 2.5f);
    lo_message_add_double(m, -1.25);
    lo_message_add_int64(m, 1000000);
    lo_message_add_symbol(m, "hp");
    Packet p = decode(serialise("/patch/create", m));
    REQUIRE(p.errors.empty());
    REQUIRE(p.messages.size() == 1);
    const InMessage& in = p.messages[0];
    CHECK(in.address == "/patch/create");
    CHECK_FALSE(in.inBundle);
    CHECK(in.time.immediate());
    REQUIRE(in.args.size() == 6);
    CHECK(std::get<std::string>(in.args[0]) == "osc1");
    CHECK(std::get<float>(in.args[1]) == 3.0f);
    CHECK(std::get<float>(in.args[2]) == 2.5f);
    CHECK(std::get<float>(in.args[3]) == -1.25f);
    CHECK(std::get<float>(in.args[4]) == 1e6f);
    CHECK(std::get<std::string>(in.args[5]) == "hp");
}

TEST_CASE("a whole number a float cannot hold is refused, never stored as another",
          "[osc][packet][errors]") {
    // Issue 15, case 11: int32 16777217 (a noise seed) would have become 16777216.
    for (bool asInt64 : {false, true}) {
        lo_message m = lo_message_new();
        lo_message_add_string(m, "n1");
        lo_message_add_string(m, "noise");
        if (asInt64)
            lo_message_add_int64(m, 16777217);
        else
            lo_message_add_int32(m, 16777217);
        Packet p = decode(serialise("/patch/create", m));
        REQUIRE(p.messages.empty());
        REQUIRE(p.errors.size() == 1);
        CHECK_THAT(p.errors[0].reason,
                   Catch::Contains("argument 3") && Catch::Contains("16777217 is a whole number"));
    }
    lo_message m = lo_message_new();
    lo_message_add_int32(m, 16777216);
    Packet p = decode(serialise("/mod/a/b", m));
    REQUIRE(p.errors.empty());
    CHECK(std::get<float>(p.messages[0].args[0]) == 16777216.0f);
}

TEST_CASE("refused argument types and values name the argument", "[osc][packet][errors]") {
    auto reasonFor = [](lo_message m) {
        Packet p = decode(serialise("/mod/a/b", m));
        REQUIRE(p.messages.empty());
        REQUIRE(p.errors.size() == 1);
        CHECK(p.errors[0].address == "/mod/a/b");
        return p.errors[0].reason;
    };
    lo_message m = lo_message_new();
    lo_message_add_float(m, NAN);
    CHECK_THAT(reasonFor(m), Catch::Contains("argument 1 (float) must be finite"));
    m = lo_message_new();
    lo_message_add_int32(m, 1);
    lo_message_add_double(m, -INFINITY);
    CHECK_THAT(reasonFor(m), Catch::Contains("argument 2 (double) must be finite"));
    m = lo_message_new();
    lo_message_add_nil(m);
    CHECK_THAT(reasonFor(m), Catch::Contains("'N' (nil)"));
    m = lo_message_new();
    lo_message_add_char(m, 'x');
    CHECK_THAT(reasonFor(m), Catch::Contains("(char)"));
    m = lo_message_new();
    lo_message_add_string(m, std::string(kMaxStringBytes + 1, 'a').c_str());
    CHECK_THAT(reasonFor(m), Catch::Contains("longer than 256 bytes"));
    m = lo_message_new();
    lo_message_add_string(m, std::string(kMaxStringBytes, 'a').c_str());
    Packet ok = decode(serialise("/mod/a/b", m));
    CHECK(ok.errors.empty());
}

TEST_CASE("malformed datagrams are reported, never dropped silently", "[osc][packet][errors]") {
    auto bytes = [](const std::string& s) {
        std::vector<std::byte> v(s.size());
        std::memcpy(v.data(), s.data(), s.size());
        return v;
    };
    CHECK_THAT(decodePacket(nullptr, 0).errors.at(0).reason, Catch::Contains("empty"));
    CHECK_THAT(decode(bytes(std::string("/abc", 4))).errors.at(0).reason,
               Catch::Contains("not a terminated"));
    CHECK_THAT(decode(bytes(std::string("/a b\0\0\0\0,\0\0\0", 12))).errors.at(0).reason,
               Catch::Contains("space"));
    CHECK_THAT(decode(bytes(std::string("#bundle\0\0\0\0\0", 12))).errors.at(0).reason,
               Catch::Contains("no timetag"));
    // A bundle of a bundle of ... nested too deep.
    std::string b = std::string("/x\0\0,\0\0\0", 8);
    for (int i = 0; i < kMaxBundleDepth + 1; ++i) {
        std::string size(4, '\0');
        size[3] = static_cast<char>(b.size() & 0xff);
        size[2] = static_cast<char>((b.size() >> 8) & 0xff);
        b = std::string("#bundle\0\0\0\0\0\0\0\0\1", 16) + size + b;
    }
    CHECK_THAT(decode(bytes(b)).errors.at(0).reason, Catch::Contains("nested"));
}

TEST_CASE("bundles carry their timetags to every message, nested ones their own", "[osc][packet]") {
    lo_bundle outer = lo_bundle_new({100, 0});
    lo_message m1 = lo_message_new();
    lo_message_add_float(m1, 1.0f);
    lo_bundle_add_message(outer, "/mod/a/b", m1);
    lo_bundle inner = lo_bundle_new({200, 5});
    lo_message m2 = lo_message_new();
    lo_message_add_int32(m2, 1);
    lo_bundle_add_message(inner, "/gate/e", m2);
    lo_bundle_add_bundle(outer, inner);
    size_t size = 0;
    void* data = lo_bundle_serialise(outer, nullptr, &size);
    Packet p = decodePacket(static_cast<const std::byte*>(data), size);
    std::free(data);
    lo_bundle_free_recursive(outer);
    REQUIRE(p.errors.empty());
    CHECK(p.isBundle);
    REQUIRE(p.messages.size() == 2);
    CHECK(p.messages[0].address == "/mod/a/b");
    CHECK(p.messages[0].time == Timetag{100, 0});
    CHECK(p.messages[1].address == "/gate/e");
    CHECK(p.messages[1].time == Timetag{200, 5});
    CHECK(p.messages[1].inBundle);
}

TEST_CASE("timetags map to engine samples", "[osc][time]") {
    const Timetag now{3900000000u, 0};
    // Half a second ahead at 48 kHz from position 1000: sample 25000.
    CHECK(timetagToSample({3900000000u, 0x80000000u}, now, 1000, 48000) == 25000u);
    CHECK(timetagToSample({3900000002u, 0}, now, 0, 44100) == 88200u);
    // Now, the past and "immediately" apply at once.
    CHECK_FALSE(timetagToSample(now, now, 1000, 48000));
    CHECK_FALSE(timetagToSample({3899999999u, 0}, now, 1000, 48000));
    CHECK_FALSE(timetagToSample({0, 1}, now, 1000, 48000));
    // Rounded to the nearest sample; less than half a sample ahead is now.
    const auto oneSample = static_cast<uint32_t>(4294967296.0 / 48000);
    CHECK(timetagToSample({now.sec, oneSample}, now, 10, 48000) == 11u);
    CHECK_FALSE(timetagToSample({now.sec, oneSample / 3}, now, 10, 48000));
    CHECK(timetagDiff({5, 0x40000000u}, {4, 0xC0000000u}) == 0.5);
    const double lag =
        timetagDiff(timetagNow(), Timetag{static_cast<uint32_t>(time(nullptr) + 2208988800u), 0});
    CHECK(std::fabs(lag) < 2.0);
}

TEST_CASE("dump text is cut at line ends into chunks that reassemble", "[osc][dump]") {
    CHECK(splitDump("", 16) == std::vector<std::string>{""});
    CHECK(splitDump("abc\n", 16) == std::vector<std::string>{"abc\n"});
    CHECK(splitDump("aaaa\nbbbb\ncccc\n", 10) ==
          std::vector<std::string>{"aaaa\nbbbb\n", "cccc\n"});
    CHECK(splitDump("aaaaaaaaaaaaaaa\nb\n", 10) ==
          std::vector<std::string>{"aaaaaaaaaa", "aaaaa\nb\n"});
    std::string big;
    for (int i = 0; i < 500; ++i) big += "/patch/create osc" + std::to_string(i) + " simple_sine\n";
    auto chunks = splitDump(big, kDumpChunkBytes);
    std::string joined;
    for (const auto& c : chunks) {
        CHECK(c.size() <= kDumpChunkBytes);
        CHECK(c.back() == '\n');
        joined += c;
    }
    CHECK(joined == big);
}

TEST_CASE("IR files get server-chosen names inside the IR directory", "[osc][ir]") {
    CHECK(irFileName(7, "") == "commit-7-optimized.ll");
    CHECK(irFileName(7, "lowered") == "commit-7-lowered.ll");
    CHECK(irFileName(12, "asm") == "commit-12-asm.s");
    const auto dir =
        std::filesystem::temp_directory_path() / ("chronus-ir-unit-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto path = writeIrFile(dir.string(), 3, "lowered", "define void @f() {}\n");
    REQUIRE(path);
    CHECK(*path == (dir / "commit-3-lowered.ll").string());
    std::ifstream in(*path);
    std::string line;
    std::getline(in, line);
    CHECK(line == "define void @f() {}");
    CHECK_FALSE(writeIrFile(dir.string(), 3, "../evil", "x"));
    CHECK_FALSE(writeIrFile((dir / "missing").string(), 3, "asm", "x"));
    std::filesystem::remove_all(dir);
}

TEST_CASE("/engine/status is name/value pairs that decode by name, and older servers' unlabelled "
          "values still read",
          "[osc][status]") {
    EngineStatus st;
    st.sampleRate = 44100;
    st.frames = 128;
    st.activeSeq = 3;
    st.xruns = 2;
    st.loadP99 = 0.25;
    st.samplePosition = uint64_t{1} << 40; // past 32 bits: an int64
    st.guardTrips = 1;
    st.guardCause = "runaway";
    OscMessage m{"/engine/status", encodeStatus(st)};
    REQUIRE(m.args.size() == 2 * kStatusFields.size());
    for (std::size_t i = 0; i < kStatusFields.size(); ++i)
        CHECK(m.string(2 * i) == std::string(kStatusFields[i]));
    auto back = decodeStatus(m);
    REQUIRE(back);
    CHECK(back->sampleRate == 44100);
    CHECK(back->frames == 128);
    CHECK(back->activeSeq == 3);
    CHECK(back->xruns == 2);
    CHECK(back->loadP99 == Approx(0.25));
    CHECK(back->samplePosition == uint64_t{1} << 40);
    CHECK(back->guardCause == "runaway");
    CHECK(statusText(m).starts_with("sample_rate 44100, block_frames 128, active_seq 3,"));

    // A field a newer server added is skipped; the known ones still read.
    m.args.insert(m.args.begin(), {std::string("voices"), int32_t{8}});
    REQUIRE(decodeStatus(m));
    CHECK(decodeStatus(m)->activeSeq == 3);

    // An older server's values alone, in order.
    OscMessage old{"/engine/status",
                   {48000.0f, int32_t{256}, int32_t{5}, int32_t{10}, int32_t{0}, 0.1f, 0.2f,
                    int32_t{5}, int32_t{0}, int32_t{0}, 0.3f, int64_t{2560}}};
    auto oldSt = decodeStatus(old);
    REQUIRE(oldSt);
    CHECK(oldSt->activeSeq == 5);
    CHECK(oldSt->samplePosition == 2560);
    CHECK(statusText(old).starts_with("sample_rate 48000, block_frames 256,"));

    // Refused: an odd count of labelled arguments, a value that is not a number.
    OscMessage odd{"/engine/status", {std::string("xruns")}};
    CHECK_FALSE(decodeStatus(odd));
    OscMessage word{"/engine/status", {std::string("xruns"), std::string("many")}};
    CHECK_FALSE(decodeStatus(word));
}

TEST_CASE("query replies: read-back addresses, /patch/list's argument and text, the module table",
          "[osc][queries]") {
    CHECK(modAddress("/mod/osc1/freq") == std::pair<std::string, std::string>{"osc1", "freq"});
    CHECK_FALSE(modAddress("/mod/osc1"));
    CHECK_FALSE(modAddress("/mod//freq"));
    CHECK_FALSE(modAddress("/mod/a/b/c"));
    CHECK(isQueryMessage({"/mod/osc1/freq", {}, {}, false}));
    CHECK_FALSE(isQueryMessage({"/mod/osc1/freq", {PatchArg{440.0f}}, {}, false}));
    CHECK(isQueryMessage({"/patch/list", {PatchArg{std::string("x")}}, {}, false}));

    CHECK(readBackArgs({440, ""}) == std::vector<OscValue>{440.0f});
    CHECK(readBackArgs({1, "hp"}) == std::vector<OscValue>{std::string("hp")});

    CHECK(*listedPatch({}) == ListedPatch::playing);
    CHECK(*listedPatch({PatchArg{std::string("pending")}}) == ListedPatch::pending);
    CHECK_THAT(listedPatch({PatchArg{2.0f}}).error().message, Catch::Contains("got '2'"));
    CHECK_THAT(
        listedPatch({PatchArg{std::string("a")}, PatchArg{std::string("b")}}).error().message,
        Catch::Contains("at most one argument"));

    PatchListing l;
    l.modules = {{"osc1", "saw", std::nullopt}, {"d1", "delay", 250.0f}};
    l.connections = {{"osc1:out", "d1:in"}};
    CHECK(listingText(l) ==
          "/patch/create osc1 saw\n/patch/create d1 delay 250\n/patch/connect osc1:out d1:in\n");

    const std::string table = moduleTableText(moduleTable());
    CHECK_THAT(table, Catch::Contains("\nparam\tadsr\tattack\t"));
    CHECK_THAT(table, Catch::Contains("type\tbiquad_filter\t"));
    CHECK_THAT(table, Catch::Contains("\tbiquad\n")); // its alias
}

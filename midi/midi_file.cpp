#include "midi/midi_file.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <fstream>
#include <iterator>
#include <optional>

namespace chronus::midi {

namespace {

std::string hexBytes(const uint8_t* p, std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += fmt::format("{}{:02X}", i ? " " : "", p[i]);
    return s;
}

uint32_t readBe(const uint8_t* p, int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; ++i) v = v << 8 | p[i];
    return v;
}

const char* statusName(uint8_t status) {
    switch (status & 0xF0) {
    case 0x80:
        return "note-off";
    case 0x90:
        return "note-on";
    case 0xA0:
        return "poly pressure";
    case 0xB0:
        return "control change";
    case 0xC0:
        return "program change";
    case 0xD0:
        return "channel pressure";
    default:
        return "pitch bend";
    }
}

struct TrackEvent {
    uint64_t tick;
    MidiMessage message;
};

/// Reads one track chunk's events: [begin, end) are absolute offsets into the file.
class TrackReader {
public:
    TrackReader(const uint8_t* file, std::size_t begin, std::size_t end, uint16_t track)
        : file_(file), pos_(begin), end_(end), track_(track) {}

    Status read(std::vector<TrackEvent>& events, std::vector<TempoChange>& tempo, std::string& name,
                bool smpte, std::size_t& sysex, uint64_t& endTick) {
        uint64_t tick = 0;
        uint8_t running = 0;
        bool named = false;
        while (pos_ < end_) {
            auto delta = readVarLen("a delta time");
            if (!delta) return delta.error();
            tick += *delta;
            if (pos_ >= end_) return ends("an event after its delta time");
            const std::size_t at = pos_;
            const uint8_t b = file_[pos_];
            if (b == 0xFF) {
                ++pos_;
                if (pos_ >= end_) return ends("a meta event type");
                const uint8_t type = file_[pos_++];
                auto len = readVarLen("a meta event length");
                if (!len) return len.error();
                if (*len > end_ - pos_)
                    return at_(at, fmt::format("meta event 0x{:02X} declares {} bytes, but only {} "
                                               "remain in the track chunk",
                                               type, *len, end_ - pos_));
                const uint8_t* data = file_ + pos_;
                pos_ += *len;
                if (type == 0x2F) { // End of Track: whatever follows in the chunk is ignored
                    endTick = tick;
                    return {};
                }
                if (type == 0x51) {
                    if (*len != 3)
                        return at_(at,
                                   fmt::format("expected a Set Tempo of 3 bytes, found {}", *len));
                    const uint32_t us = readBe(data, 3);
                    if (us == 0)
                        return at_(at,
                                   "expected a Set Tempo above 0 microseconds per quarter note");
                    if (!smpte) tempo.push_back({tick, us});
                } else if (type == 0x03 && !named) {
                    name.assign(reinterpret_cast<const char*>(data), *len);
                    named = true;
                }
            } else if (b == 0xF0 || b == 0xF7) {
                ++pos_;
                auto len = readVarLen("a sysex length");
                if (!len) return len.error();
                if (*len > end_ - pos_)
                    return at_(at, fmt::format("sysex event declares {} bytes, but only {} remain "
                                               "in the track chunk",
                                               *len, end_ - pos_));
                pos_ += *len;
                ++sysex;
            } else if (b >= 0xF0) {
                return at_(at, fmt::format("expected an event (a channel message, 0xF0/0xF7 sysex "
                                           "or 0xFF meta), found 0x{:02X}",
                                           b));
            } else {
                uint8_t status = b;
                if (b < 0x80) {
                    if (running == 0)
                        return at_(at, fmt::format("data byte 0x{:02X} without a running status "
                                                   "(no channel message before it in the track)",
                                                   b));
                    status = running;
                } else {
                    ++pos_;
                    running = status;
                }
                const int n = channelDataBytes(status);
                uint8_t data[2] = {0, 0};
                for (int i = 0; i < n; ++i) {
                    if (pos_ >= end_)
                        return ends(fmt::format("data byte {} of {} of a {} at byte {}", i + 1, n,
                                                statusName(status), at));
                    const uint8_t d = file_[pos_];
                    if (d >= 0x80)
                        return at_(pos_,
                                   fmt::format("expected data byte {} of {} (below 0x80) of a "
                                               "{} at byte {}, found 0x{:02X}",
                                               i + 1, n, statusName(status), at, d));
                    data[i] = d;
                    ++pos_;
                }
                events.push_back({tick, makeChannelMessage(status, data[0], data[1])});
            }
        }
        endTick = tick; // no End of Track: the track ends with its last event
        return {};
    }

private:
    Error at_(std::size_t offset, const std::string& what) const {
        return makeError("byte {} (track {}): {}", offset, track_, what);
    }
    Error ends(const std::string& expected) const {
        return makeError("byte {} (track {}): the track chunk ends here; expected {}", pos_, track_,
                         expected);
    }

    /// A variable-length quantity: at most 4 bytes, 7 bits each, high bit set on all but the last.
    Expected<uint32_t> readVarLen(const char* what) {
        const std::size_t at = pos_;
        uint32_t v = 0;
        for (int i = 0; i < 4; ++i) {
            if (pos_ >= end_) return ends(what);
            const uint8_t b = file_[pos_++];
            v = v << 7 | (b & 0x7Fu);
            if ((b & 0x80) == 0) return v;
        }
        return at_(at, fmt::format("expected {}, found a variable-length quantity longer than 4 "
                                   "bytes ({})",
                                   what, hexBytes(file_ + at, 4)));
    }

    const uint8_t* file_;
    std::size_t pos_, end_;
    uint16_t track_;
};

/// At one tick, a (channel, note)'s note-offs go before its note-ons; everything else keeps its
/// place. The events of each (channel, note) are rewritten into the positions they already hold.
void noteOffsFirst(std::vector<MidiFileEvent>& ev, std::size_t begin, std::size_t end,
                   std::vector<std::pair<uint32_t, std::size_t>>& scratch) {
    scratch.clear();
    for (std::size_t i = begin; i < end; ++i) {
        const MidiMessage& m = ev[i].message;
        if (m.kind == MidiKind::NoteOn || m.kind == MidiKind::NoteOff)
            scratch.emplace_back(uint32_t(m.channel) << 7 | m.data1, i);
    }
    if (scratch.size() < 2) return;
    std::sort(scratch.begin(), scratch.end()); // by note, then position: (key, index) is unique
    std::vector<MidiFileEvent> group;
    for (std::size_t g = 0; g < scratch.size();) {
        std::size_t h = g;
        while (h < scratch.size() && scratch[h].first == scratch[g].first) ++h;
        if (h - g > 1) {
            group.clear();
            for (std::size_t k = g; k < h; ++k)
                if (ev[scratch[k].second].message.kind == MidiKind::NoteOff)
                    group.push_back(ev[scratch[k].second]);
            for (std::size_t k = g; k < h; ++k)
                if (ev[scratch[k].second].message.kind == MidiKind::NoteOn)
                    group.push_back(ev[scratch[k].second]);
            for (std::size_t k = g; k < h; ++k) ev[scratch[k].second] = group[k - g];
        }
        g = h;
    }
}

} // namespace

Expected<MidiFile> parseMidiFile(const uint8_t* data, std::size_t size) {
    auto ends = [&](std::size_t at, const std::string& expected) {
        return makeError("byte {}: the file ends here; expected {}", at, expected);
    };
    if (size < 4 || std::string_view(reinterpret_cast<const char*>(data), 4) != "MThd") {
        if (size < 4) return ends(size, "the header chunk \"MThd\"");
        return makeError("byte 0: expected the header chunk \"MThd\" of a Standard MIDI File, "
                         "found {}",
                         hexBytes(data, 4));
    }
    if (size < 8) return ends(size, "the header chunk's length");
    const uint32_t headerLen = readBe(data + 4, 4);
    if (headerLen < 6)
        return makeError("byte 4: expected a header chunk length of at least 6, found {}",
                         headerLen);
    if (headerLen > size - 8)
        return ends(size, fmt::format("the {} bytes of the header chunk from byte 8", headerLen));

    MidiFile file;
    const uint16_t format = uint16_t(readBe(data + 8, 2));
    if (format == 2)
        return makeError("byte 8: MIDI file format 2 (independent sequences) is not supported: "
                         "only formats 0 and 1");
    if (format > 2) return makeError("byte 8: expected MIDI file format 0 or 1, found {}", format);
    file.format = format;
    file.trackCount = uint16_t(readBe(data + 10, 2));
    if (file.trackCount == 0) return makeError("byte 10: expected at least one track, found 0");
    if (format == 0 && file.trackCount != 1)
        return makeError("byte 10: a format 0 file has exactly one track, the header says {}",
                         file.trackCount);
    const uint16_t division = uint16_t(readBe(data + 12, 2));
    bool smpte = false;
    if (division & 0x8000) {
        const int fps = -int(static_cast<int8_t>(division >> 8));
        const auto ticksPerFrame = uint8_t(division & 0xFF);
        if (fps != 24 && fps != 25 && fps != 29 && fps != 30)
            return makeError("byte 12: expected SMPTE frames per second 24, 25, 29 or 30, found {}",
                             fps);
        if (ticksPerFrame == 0)
            return makeError("byte 13: expected at least 1 tick per SMPTE frame, found 0");
        file.tempo = TempoMap::smpte(fps, ticksPerFrame);
        smpte = true;
    } else if (division == 0) {
        return makeError("byte 12: expected a division of at least 1 tick per quarter note, "
                         "found 0");
    }

    std::vector<TempoChange> tempo;
    std::vector<std::vector<TrackEvent>> tracks(file.trackCount);
    file.trackNames.resize(file.trackCount);
    std::size_t pos = 8 + headerLen;
    for (uint16_t t = 0; t < file.trackCount;) {
        const std::string chunk =
            fmt::format("track chunk {} of {} (\"MTrk\")", t, file.trackCount);
        if (size - pos < 8) return ends(pos, chunk);
        const uint32_t len = readBe(data + pos + 4, 4);
        const bool isTrack =
            std::string_view(reinterpret_cast<const char*>(data + pos), 4) == "MTrk";
        if (len > size - pos - 8)
            return makeError("byte {}: {} declares {} bytes, but only {} remain in the file", pos,
                             isTrack ? chunk : "chunk " + hexBytes(data + pos, 4), len,
                             size - pos - 8);
        if (isTrack) {
            TrackReader reader(data, pos + 8, pos + 8 + len, t);
            uint64_t endTick = 0;
            if (Status s = reader.read(tracks[t], tempo, file.trackNames[t], smpte,
                                       file.sysexSkipped, endTick);
                !s)
                return s.error();
            file.endTick = std::max(file.endTick, endTick);
            ++t;
        } // any other chunk type is skipped, as the standard asks
        pos += 8 + std::size_t(len);
    }
    if (!smpte) file.tempo = TempoMap::metrical(division, std::move(tempo));

    // Merged in tick order; equal ticks in file order (track by track, then as written): sorted
    // by (tick, position in the file), as std::stable_sort is an error with libstdc++ 12 and
    // clang 19 -Werror (get_temporary_buffer is deprecated).
    std::vector<std::pair<uint64_t, std::size_t>> order;
    std::vector<MidiFileEvent> inFileOrder;
    for (uint16_t t = 0; t < file.trackCount; ++t)
        for (const TrackEvent& e : tracks[t]) {
            order.emplace_back(e.tick, inFileOrder.size());
            inFileOrder.push_back({0, e.tick, t, e.message});
        }
    std::sort(order.begin(), order.end());
    file.events.reserve(order.size());
    for (const auto& [tick, i] : order) file.events.push_back(inFileOrder[i]);
    std::vector<std::pair<uint32_t, std::size_t>> scratch;
    for (std::size_t i = 0; i < file.events.size();) {
        std::size_t j = i;
        while (j < file.events.size() && file.events[j].tick == file.events[i].tick) ++j;
        if (j - i > 1) noteOffsFirst(file.events, i, j, scratch);
        const double s = file.tempo.secondsAt(file.events[i].tick);
        for (std::size_t k = i; k < j; ++k) file.events[k].seconds = s;
        i = j;
    }
    file.endSeconds = file.tempo.secondsAt(file.endTick);
    return file;
}

Expected<MidiFile> readMidiFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return makeError("{}: cannot open the MIDI file", path);
    in.seekg(0, std::ios::end);
    const auto length = in.tellg();
    if (length < 0) return makeError("{}: cannot read the MIDI file", path);
    if (std::size_t(length) > kMaxMidiFileBytes)
        return makeError("{}: {} bytes, more than the {} MiB a MIDI file may have here", path,
                         std::size_t(length), kMaxMidiFileBytes >> 20);
    in.seekg(0);
    std::vector<uint8_t> bytes(static_cast<std::size_t>(length));
    if (!in.read(reinterpret_cast<char*>(bytes.data()), length))
        return makeError("{}: cannot read the MIDI file", path);
    auto file = parseMidiFile(bytes.data(), bytes.size());
    if (!file) return makeError("{}: {}", path, file.error().message);
    return file;
}

uint64_t sampleAt(double seconds, double sampleRate) {
    const double s = seconds * sampleRate;
    if (!(s > 0)) return 0; // also NaN
    if (s >= 9.2e18) return uint64_t(9.2e18);
    return static_cast<uint64_t>(std::llround(s));
}

} // namespace chronus::midi

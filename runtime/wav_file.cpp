#include "runtime/wav_file.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sndfile.h>

namespace chronus {

namespace {

uint32_t le32(const unsigned char* p) {
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
void put16(unsigned char* p, uint32_t v) {
    p[0] = static_cast<unsigned char>(v);
    p[1] = static_cast<unsigned char>(v >> 8);
}
void put32(unsigned char* p, uint32_t v) {
    put16(p, v);
    put16(p + 2, v >> 16);
}

/// libsndfile writes a float WAV's format either as WAVE_FORMAT_IEEE_FLOAT without the cbSize
/// field that every non-PCM format must have (16 bytes), or as WAVE_FORMAT_EXTENSIBLE (40 bytes),
/// and sox 14.4 warns about both ("wave header missing extended part of fmt chunk": its reader
/// wants a cbSize after the extensible part too). The canonical header, WAVE_FORMAT_IEEE_FLOAT
/// with cbSize 0 (18 bytes), is read by all: the extensible one libsndfile wrote is turned into it
/// in place, the 22 bytes it frees becoming a JUNK chunk (RIFF's padding, which readers skip), so
/// no sample moves. Anything not as expected is left as libsndfile wrote it.
void canonicalFloatHeader(const std::string& path) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    std::array<unsigned char, 60> h{};
    if (!f.read(reinterpret_cast<char*>(h.data()), h.size())) return;
    if (std::memcmp(h.data(), "RIFF", 4) != 0 || std::memcmp(h.data() + 8, "WAVEfmt ", 8) != 0 ||
        le32(h.data() + 16) != 40 || h[20] != 0xFE || h[21] != 0xFF)
        return;
    std::array<unsigned char, 48> fmt{}; // "fmt " 18 + its 18 bytes, "JUNK" 14 + 14 zeros
    std::memcpy(fmt.data(), "fmt ", 4);
    put32(fmt.data() + 4, 18);
    put16(fmt.data() + 8, 3);                        // WAVE_FORMAT_IEEE_FLOAT
    std::memcpy(fmt.data() + 10, h.data() + 22, 14); // channels, rate, bytes/s, align, bits
    put16(fmt.data() + 24, 0);                       // cbSize: no extra format bytes
    std::memcpy(fmt.data() + 26, "JUNK", 4);
    put32(fmt.data() + 30, 14);
    f.seekp(12);
    f.write(reinterpret_cast<const char*>(fmt.data()), fmt.size());
}

} // namespace

Expected<WavFormat> parseWavFormat(std::string_view name) {
    if (name == "float") return WavFormat::float32;
    if (name == "24") return WavFormat::pcm24;
    if (name == "16") return WavFormat::pcm16;
    return makeError("unknown WAV format '{}': use 16, 24 or float", name);
}

void WavWriter::Closer::operator()(void* f) const {
    sf_close(static_cast<SNDFILE*>(f));
}

namespace {
int bytesPerSample(WavFormat format) {
    switch (format) {
    case WavFormat::float32:
        return 4;
    case WavFormat::pcm24:
        return 3;
    case WavFormat::pcm16:
        return 2;
    }
    return 4;
}
} // namespace

Expected<WavWriter> WavWriter::open(const std::string& path, int sampleRate, int channels,
                                    WavFormat format, bool rf64) {
    SF_INFO info{};
    info.samplerate = sampleRate;
    info.channels = channels;
    int container = SF_FORMAT_WAV;
    int subtype = SF_FORMAT_FLOAT;
    switch (format) {
    case WavFormat::float32:
        // Extensible, made canonical when the file is closed (canonicalFloatHeader).
        container = SF_FORMAT_WAVEX;
        subtype = SF_FORMAT_FLOAT;
        break;
    case WavFormat::pcm24:
        container = SF_FORMAT_WAVEX;
        subtype = SF_FORMAT_PCM_24;
        break;
    case WavFormat::pcm16:
        container = SF_FORMAT_WAV;
        subtype = SF_FORMAT_PCM_16;
        break;
    }
    info.format = (rf64 ? SF_FORMAT_RF64 : container) | subtype;
    SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
    if (f == nullptr) return makeError("cannot write '{}': {}", path, sf_strerror(nullptr));
    WavWriter w;
    w.file_.reset(f);
    w.path_ = path;
    w.channels_ = channels;
    w.format_ = format;
    w.rf64_ = rf64;
    return w;
}

Expected<WavWriter> WavWriter::create(const std::string& path, int sampleRate, int channels,
                                      WavFormat format) {
    return open(path, sampleRate, channels, format, false);
}

Expected<WavWriter> WavWriter::createForFrames(const std::string& path, int sampleRate,
                                               int channels, uint64_t frames, WavFormat format) {
    constexpr uint64_t kWavLimit = 0xFFFFFFFFull - 4096; // 32-bit sizes, less room for the header
    const bool rf64 = frames * uint64_t(channels) * uint64_t(bytesPerSample(format)) > kWavLimit;
    return open(path, sampleRate, channels, format, rf64);
}

Status WavWriter::write(const float* interleaved, uint64_t frames) {
    auto* f = static_cast<SNDFILE*>(file_.get());
    if (f == nullptr) return makeError("'{}' is closed", path_);
    const auto n = static_cast<sf_count_t>(frames);
    const std::size_t count =
        static_cast<std::size_t>(frames) * static_cast<std::size_t>(channels_);
    sf_count_t written = 0;
    switch (format_) {
    case WavFormat::float32:
        written = sf_writef_float(f, interleaved, n);
        break;
    case WavFormat::pcm24: {
        // libsndfile's int interface is 32-bit full scale and keeps the top 24 bits: round to the
        // 24-bit step here, so nothing is truncated there.
        ints_.resize(count);
        for (std::size_t i = 0; i < count; ++i) {
            const double v = std::nearbyint(double(interleaved[i]) * 8388608.0);
            ints_[i] = static_cast<int32_t>(std::clamp(v, -8388608.0, 8388607.0)) * 256;
        }
        written = sf_writef_int(f, ints_.data(), n);
        break;
    }
    case WavFormat::pcm16: {
        shorts_.resize(count);
        auto uniform = [this] { // xorshift32 -> [-0.5, 0.5)
            ditherState_ ^= ditherState_ << 13;
            ditherState_ ^= ditherState_ >> 17;
            ditherState_ ^= ditherState_ << 5;
            return double(ditherState_) * 0x1p-32 - 0.5;
        };
        for (std::size_t i = 0; i < count; ++i) {
            const double dither = uniform() + uniform();
            const double v = std::nearbyint(double(interleaved[i]) * 32768.0 + dither);
            shorts_[i] = static_cast<int16_t>(std::clamp(v, -32768.0, 32767.0));
        }
        written = sf_writef_short(f, shorts_.data(), n);
        break;
    }
    }
    if (written != n) return makeError("writing '{}': {}", path_, sf_strerror(f));
    return {};
}

Status WavWriter::close() {
    if (!file_) return {};
    file_.reset(); // libsndfile writes the final header
    if (format_ == WavFormat::float32 && channels_ <= 2 && !rf64_) canonicalFloatHeader(path_);
    return {};
}

Expected<WavData> readWav(const std::string& path) {
    SF_INFO info{};
    SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
    if (f == nullptr) return makeError("cannot read '{}': {}", path, sf_strerror(nullptr));
    WavData d;
    d.sampleRate = info.samplerate;
    d.channels = info.channels;
    d.samples.resize(static_cast<size_t>(info.frames * info.channels));
    sf_readf_float(f, d.samples.data(), info.frames);
    sf_close(f);
    return d;
}

} // namespace chronus

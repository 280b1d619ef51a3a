#include "runtime/wav_file.h"

#include <sndfile.h>

namespace chronus {

void WavWriter::Closer::operator()(void* f) const {
    sf_close(static_cast<SNDFILE*>(f));
}

Expected<WavWriter> WavWriter::create(const std::string& path, int sampleRate, int channels) {
    SF_INFO info{};
    info.samplerate = sampleRate;
    info.channels = channels;
    info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
    if (f == nullptr) return makeError("cannot write '{}': {}", path, sf_strerror(nullptr));
    WavWriter w;
    w.file_.reset(f);
    w.path_ = path;
    return w;
}

Expected<WavWriter> WavWriter::createForFrames(const std::string& path, int sampleRate,
                                               int channels, uint64_t frames) {
    constexpr uint64_t kWavLimit = 0xFFFFFFFFull - 4096; // 32-bit sizes, less room for the header
    if (frames * uint64_t(channels) * sizeof(float) <= kWavLimit)
        return create(path, sampleRate, channels);
    SF_INFO info{};
    info.samplerate = sampleRate;
    info.channels = channels;
    info.format = SF_FORMAT_RF64 | SF_FORMAT_FLOAT;
    SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
    if (f == nullptr) return makeError("cannot write '{}': {}", path, sf_strerror(nullptr));
    WavWriter w;
    w.file_.reset(f);
    w.path_ = path;
    return w;
}

Status WavWriter::write(const float* interleaved, uint64_t frames) {
    auto* f = static_cast<SNDFILE*>(file_.get());
    if (f == nullptr) return makeError("'{}' is closed", path_);
    auto n = static_cast<sf_count_t>(frames);
    if (sf_writef_float(f, interleaved, n) != n)
        return makeError("writing '{}': {}", path_, sf_strerror(f));
    return {};
}

Status WavWriter::close() {
    file_.reset();
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

// WAV output through libsndfile: 32-bit float, mono or interleaved.
#pragma once

#include "base/expected.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace chronus {

class WavWriter {
public:
    static Expected<WavWriter> create(const std::string& path, int sampleRate, int channels = 1);
    /// create() for a file that will hold `frames` frames: past a WAV's 4 GiB limit it is RF64
    /// (the WAV with 64-bit sizes, EBU 3306: libsndfile, sox, ffmpeg and Audacity read it), since
    /// libsndfile would write a WAV whose sizes wrap.
    static Expected<WavWriter> createForFrames(const std::string& path, int sampleRate,
                                               int channels, uint64_t frames);
    /// Control thread only (it calls into libsndfile).
    Status write(const float* interleaved, uint64_t frames);
    Status close();

private:
    struct Closer {
        void operator()(void* f) const;
    };
    std::unique_ptr<void, Closer> file_;
    std::string path_;
};

struct WavData {
    int sampleRate = 0;
    int channels = 0;
    std::vector<float> samples; ///< interleaved
};

Expected<WavData> readWav(const std::string& path);

} // namespace chronus

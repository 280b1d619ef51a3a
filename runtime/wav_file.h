// WAV files through libsndfile: written as 32-bit float (with the canonical IEEE-float header,
// which sox reads without a warning), 24-bit or 16-bit integer; mono or interleaved.
#pragma once

#include "base/expected.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace chronus {

/// A WAV file's sample format. Integer formats clip at full scale and round to the nearest step;
/// 16-bit adds TPDF dither (triangular, up to one step either way, from a fixed seed so
/// a render is identical on every run), which turns the quantisation of quiet tails into a steady
/// noise floor near -96 dBFS instead of distortion; at 24 bits that floor is below any converter's
/// own, so 24-bit is rounded without dither.
enum class WavFormat { float32, pcm24, pcm16 };

/// "float", "24" or "16" (the `--format` option's values).
Expected<WavFormat> parseWavFormat(std::string_view name);

class WavWriter {
public:
    static Expected<WavWriter> create(const std::string& path, int sampleRate, int channels = 1,
                                      WavFormat format = WavFormat::float32);
    /// create() for a file that will hold `frames` frames: past a WAV's 4 GiB limit it is RF64
    /// (the WAV with 64-bit sizes, EBU 3306: libsndfile, sox, ffmpeg and Audacity read it), since
    /// libsndfile would write a WAV whose sizes wrap.
    static Expected<WavWriter> createForFrames(const std::string& path, int sampleRate,
                                               int channels, uint64_t frames,
                                               WavFormat format = WavFormat::float32);
    /// Control thread only (it calls into libsndfile).
    Status write(const float* interleaved, uint64_t frames);
    /// Finishes the file (a float file's header made canonical). Without it the file is closed
    /// when the writer goes, valid but with libsndfile's extensible header.
    Status close();

private:
    static Expected<WavWriter> open(const std::string& path, int sampleRate, int channels,
                                    WavFormat format, bool rf64);
    struct Closer {
        void operator()(void* f) const;
    };
    std::unique_ptr<void, Closer> file_;
    std::string path_;
    int channels_ = 1;
    WavFormat format_ = WavFormat::float32;
    bool rf64_ = false;                  ///< an RF64 file keeps libsndfile's header
    uint32_t ditherState_ = 0x9e3779b9u; ///< xorshift32 of the 16-bit dither
    std::vector<int32_t> ints_;          ///< integer samples of one write
    std::vector<int16_t> shorts_;
};

struct WavData {
    int sampleRate = 0;
    int channels = 0;
    std::vector<float> samples; ///< interleaved
};

Expected<WavData> readWav(const std::string& path);

} // namespace chronus

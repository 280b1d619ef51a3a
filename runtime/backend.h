// Audio backends: each drives Engine::audioThreadRender from its own audio thread (PortAudio's
// callback, a clock-paced thread, or as fast as possible) on its channels (the engine maps the
// patch's onto them: a mono patch plays on every one), hands it audio in where there is any,
// reports xruns to the engine and hands each block to an optional Recorder (interleaved).
#pragma once

#include "base/expected.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace chronus {

/// Audio in from memory (a sound file read whole: `--input FILE`), planar: one vector per
/// channel, all of one length. The null backend plays it in a loop, the offline one once, then
/// silence.
struct InputAudio {
    std::vector<std::vector<float>> channels;
    uint64_t frames() const { return channels.empty() ? 0 : channels[0].size(); }

    /// `samples` interleaved in `count` channels (a sound file as read), made planar.
    static std::shared_ptr<InputAudio> fromInterleaved(const std::vector<float>& samples,
                                                       std::size_t count) {
        auto in = std::make_shared<InputAudio>();
        const std::size_t frames = samples.size() / count;
        in->channels.assign(count, std::vector<float>(frames));
        for (std::size_t f = 0; f < frames; ++f)
            for (std::size_t c = 0; c < count; ++c) in->channels[c][f] = samples[f * count + c];
        return in;
    }
};

class Engine;
class Recorder;

struct BackendOptions {
    /// PortAudio: a device index or a case-insensitive part of its name ("system", "JACK");
    /// empty: the default output device.
    std::string device;
    Recorder* recorder = nullptr; ///< receives every block the callback produced
    /// Called once on the audio thread before its first callback (tests arm allocation guards
    /// here). Must itself be real-time safe.
    void (*onAudioThreadStart)() = nullptr;
    /// Called on a backend-owned audio thread after its last callback, before the thread ends
    /// (whose teardown frees memory). Null and threaded offline backends only.
    void (*onAudioThreadEnd)() = nullptr;
    /// offline backend, threaded: stop after this many samples (0: until stop()).
    uint64_t maxSamples = 0;
    /// Output channels. 0: the backend's default (PortAudio: every channel the device has, up to
    /// 64; null and offline: 1). PortAudio refuses more than the device has.
    uint32_t channels = 0;
    /// PortAudio: device input channels to open beside the output (duplex; the patch's `input`
    /// modules read them); 0: no input. Refused if the device has fewer.
    uint32_t inputChannels = 0;
    /// PortAudio: the input device (as `device`); empty: the output device if it has inputs,
    /// else the default input device.
    std::string inputDevice;
    /// Null and offline backends: audio in from memory (see InputAudio); null: silence.
    std::shared_ptr<const InputAudio> input;
};

/// How punctually the clock that paces a backend's audio thread woke it, measured beside the
/// engine in the same run. Only the null backend paces itself; a device's callbacks come on the
/// device's (or JACK's) clock, which reports its own xruns.
struct ClockJitter {
    bool measured = false; ///< false: this backend does not pace itself (the rest are 0)
    uint64_t wakeups = 0;  ///< blocks the clock woke the thread for
    /// Blocks that were late although the engine rendered them within a block's time: the thread
    /// woke so late that a device would have run dry. The machine's scheduling, not the engine.
    uint64_t lateWakeups = 0;
    double worstLateMs = 0; ///< the latest wake-up, after the moment it was due
};

class AudioBackend {
public:
    virtual ~AudioBackend() = default;
    /// Starts calling the engine. Control thread.
    virtual Status start() = 0;
    /// Stops; after it returns no callback runs. Idempotent. Control thread.
    virtual void stop() = 0;
    /// True while callbacks run (false once a threaded offline render reached maxSamples).
    virtual bool running() const = 0;
    /// "PortAudio [JACK Audio Connection Kit] system, 2 channels, 48000 Hz, 256 frames"
    virtual std::string describe() const = 0;
    /// Any thread: the pacing clock's punctuality so far (see ClockJitter).
    virtual ClockJitter clockJitter() const { return {}; }
};

/// The clock-paced thread: one block every frames/rate seconds, no device needed. It tells apart
/// what a device would hear as an xrun: a block the engine took longer than a block's time to
/// render is the engine's xrun (Engine::audioThreadAddXruns, EngineStatus::xruns); a block late
/// only because the thread woke late is the machine's jitter (clockJitter()).
std::unique_ptr<AudioBackend> makeNullBackend(Engine& engine, const BackendOptions& options);

/// PortAudio (ALSA, JACK, ...): opens the device now, so a bad name fails here.
Expected<std::unique_ptr<AudioBackend>> openPortAudioBackend(Engine& engine,
                                                             const BackendOptions& options);

/// Every PortAudio output device, one per line: index, host API, name, channels, default rate.
Expected<std::string> listPortAudioDevices();

/// True when PortAudio has a default output device.
bool havePortAudioDefaultOutput();

} // namespace chronus

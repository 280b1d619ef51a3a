// Audio backends: each drives Engine::audioThreadRender from its own audio thread (PortAudio's
// callback, a clock-paced thread, or as fast as possible), copies the mono output to every
// device channel, reports xruns to the engine and hands each block to an optional Recorder.
#pragma once

#include "base/expected.h"

#include <cstdint>
#include <memory>
#include <string>

namespace chronus {

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
};

/// The clock-paced thread: one block every frames/rate seconds, no device needed. Late wake-ups
/// (a whole block or more) count as xruns.
std::unique_ptr<AudioBackend> makeNullBackend(Engine& engine, const BackendOptions& options);

/// PortAudio (ALSA, JACK, ...): opens the device now, so a bad name fails here.
Expected<std::unique_ptr<AudioBackend>> openPortAudioBackend(Engine& engine,
                                                             const BackendOptions& options);

/// Every PortAudio output device, one per line: index, host API, name, channels, default rate.
Expected<std::string> listPortAudioDevices();

/// True when PortAudio has a default output device.
bool havePortAudioDefaultOutput();

} // namespace chronus

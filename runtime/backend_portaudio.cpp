// PortAudio: ALSA, JACK (a JACK server with the dummy driver gives real callbacks without a sound
// card) and whatever else the library was built with.
#include "runtime/backend.h"
#include "runtime/engine.h"
#include "runtime/recorder.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fmt/format.h>
#include <optional>
#include <portaudio.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace chronus {

namespace {

/// Pa_Initialize / Pa_Terminate for one scope. ALSA's probing prints pages of "cannot find card"
/// on machines without a sound card; that goes to /dev/null unless CHRONUS_VERBOSE is set. JACK
/// is never started as a side effect (JACK_NO_START_SERVER).
class PaSession {
public:
    PaSession() {
        setenv("JACK_NO_START_SERVER", "1", 0);
        const char* verbose = std::getenv("CHRONUS_VERBOSE");
        const bool quiet = verbose == nullptr || std::string_view(verbose) == "0";
        int saved = -1;
        if (quiet) {
            std::fflush(stderr);
            saved = dup(STDERR_FILENO);
            int devnull = open("/dev/null", O_WRONLY);
            if (devnull >= 0) {
                dup2(devnull, STDERR_FILENO);
                close(devnull);
            }
        }
        err_ = Pa_Initialize();
        if (saved >= 0) {
            std::fflush(stderr);
            dup2(saved, STDERR_FILENO);
            close(saved);
        }
    }
    ~PaSession() {
        if (err_ == paNoError) Pa_Terminate();
    }
    PaSession(const PaSession&) = delete;
    PaSession& operator=(const PaSession&) = delete;
    Status status() const {
        if (err_ == paNoError) return {};
        return makeError("PortAudio: {}", Pa_GetErrorText(err_));
    }

private:
    PaError err_ = paNotInitialized;
};

std::string lower(std::string_view s) {
    std::string r(s);
    for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
}

std::string hostApiName(const PaDeviceInfo* d) {
    const PaHostApiInfo* h = Pa_GetHostApiInfo(d->hostApi);
    return h != nullptr ? h->name : "?";
}

/// A device index from an index or a part of "host API name" ("system", "jack", "JACK Audio").
Expected<PaDeviceIndex> findDevice(const std::string& want) {
    const PaDeviceIndex count = Pa_GetDeviceCount();
    if (count < 0) return makeError("PortAudio: {}", Pa_GetErrorText(count));
    if (want.empty()) {
        PaDeviceIndex d = Pa_GetDefaultOutputDevice();
        if (d == paNoDevice) return makeError("PortAudio has no default output device");
        return d;
    }
    if (!want.empty() && std::all_of(want.begin(), want.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c));
        })) {
        long i = std::strtol(want.c_str(), nullptr, 10);
        if (i >= count)
            return makeError("no audio device {} (there are {}; chronus serve --list-devices)", i,
                             count);
        const PaDeviceInfo* d = Pa_GetDeviceInfo(static_cast<PaDeviceIndex>(i));
        if (d->maxOutputChannels <= 0)
            return makeError("audio device {} ({}) has no outputs", i, d->name);
        return static_cast<PaDeviceIndex>(i);
    }
    const std::string needle = lower(want);
    std::optional<PaDeviceIndex> partial;
    for (PaDeviceIndex i = 0; i < count; ++i) {
        const PaDeviceInfo* d = Pa_GetDeviceInfo(i);
        if (d->maxOutputChannels <= 0) continue;
        if (lower(d->name) == needle) return i;
        if (!partial && lower(hostApiName(d) + " " + d->name).find(needle) != std::string::npos)
            partial = i;
    }
    if (partial) return *partial;
    return makeError(
        "no audio output device matches '{}' (chronus serve --list-devices lists them)", want);
}

/// The input device: `want` as findDevice reads it (among devices with inputs); empty: the
/// output device `output` if it has inputs, else the default input device.
Expected<PaDeviceIndex> findInputDevice(const std::string& want, PaDeviceIndex output) {
    const PaDeviceIndex count = Pa_GetDeviceCount();
    if (count < 0) return makeError("PortAudio: {}", Pa_GetErrorText(count));
    if (want.empty()) {
        if (Pa_GetDeviceInfo(output)->maxInputChannels > 0) return output;
        PaDeviceIndex d = Pa_GetDefaultInputDevice();
        if (d == paNoDevice) return makeError("PortAudio has no audio input device");
        return d;
    }
    const std::string needle = lower(want);
    std::optional<PaDeviceIndex> partial;
    for (PaDeviceIndex i = 0; i < count; ++i) {
        const PaDeviceInfo* d = Pa_GetDeviceInfo(i);
        if (d->maxInputChannels <= 0) continue;
        if (std::to_string(i) == want || lower(d->name) == needle) return i;
        if (!partial && lower(hostApiName(d) + " " + d->name).find(needle) != std::string::npos)
            partial = i;
    }
    if (partial) return *partial;
    return makeError("no audio input device matches '{}' (chronus serve --list-devices)", want);
}

class PortAudioBackend final : public AudioBackend {
public:
    PortAudioBackend(Engine& engine, const BackendOptions& o) : engine_(engine), opts_(o) {}
    ~PortAudioBackend() override {
        stop();
        if (stream_ != nullptr) Pa_CloseStream(stream_);
    }

    Status open() {
        if (Status s = pa_.status(); !s) return s;
        auto dev = findDevice(opts_.device);
        if (!dev) return dev.error();
        const PaDeviceInfo* info = Pa_GetDeviceInfo(*dev);
        name_ = fmt::format("[{}] {}", hostApiName(info), info->name);
        const int most = std::min(info->maxOutputChannels, 64);
        if (opts_.channels > static_cast<uint32_t>(most))
            return makeError(
                "audio device {} has {} output channel(s); --channels {} asks for more", name_,
                info->maxOutputChannels, opts_.channels);
        channels_ = opts_.channels > 0 ? static_cast<int>(opts_.channels) : most;
        const EngineOptions& eo = engine_.options();
        frames_ = eo.frames;
        planar_.assign(std::size_t{frames_} * static_cast<std::size_t>(channels_), 0.0f);
        for (int c = 0; c < channels_; ++c)
            out_.push_back(planar_.data() + static_cast<std::size_t>(c) * frames_);
        if (opts_.recorder != nullptr)
            recordScratch_.assign(std::size_t{frames_} * opts_.recorder->channels(), 0.0f);
        PaStreamParameters out{};
        out.device = *dev;
        out.channelCount = channels_;
        out.sampleFormat = paFloat32;
        out.suggestedLatency = info->defaultLowOutputLatency;
        // Duplex when the patch reads audio in: the output device's inputs, else the default
        // input device's.
        PaStreamParameters in{};
        if (opts_.inputChannels > 0) {
            auto inDev = findInputDevice(opts_.inputDevice, *dev);
            if (!inDev) return inDev.error();
            const PaDeviceInfo* ii = Pa_GetDeviceInfo(*inDev);
            if (static_cast<uint32_t>(ii->maxInputChannels) < opts_.inputChannels)
                return makeError("audio device [{}] {} has {} input channel(s); the patch reads {}",
                                 hostApiName(ii), ii->name, ii->maxInputChannels,
                                 opts_.inputChannels);
            inputs_ = opts_.inputChannels;
            inName_ = fmt::format("[{}] {}", hostApiName(ii), ii->name);
            in.device = *inDev;
            in.channelCount = static_cast<int>(inputs_);
            in.sampleFormat = paFloat32;
            in.suggestedLatency = ii->defaultLowInputLatency;
            inPlanar_.assign(std::size_t{frames_} * inputs_, 0.0f);
            for (uint32_t k = 0; k < inputs_; ++k)
                in_.push_back(inPlanar_.data() + std::size_t{k} * frames_);
        }
        PaError err =
            Pa_OpenStream(&stream_, inputs_ > 0 ? &in : nullptr, &out, double(eo.sampleRate),
                          frames_, paClipOff, &PortAudioBackend::callback, this);
        if (err != paNoError) {
            stream_ = nullptr;
            return makeError("cannot open audio device {}{} at {} Hz, {} frames: {}", name_,
                             inputs_ > 0 ? fmt::format(" (input {})", inName_) : "", eo.sampleRate,
                             frames_, Pa_GetErrorText(err));
        }
        return {};
    }

    Status start() override {
        if (running_) return {};
        PaError err = Pa_StartStream(stream_);
        if (err != paNoError)
            return makeError("cannot start audio device {}: {}", name_, Pa_GetErrorText(err));
        running_ = true;
        return {};
    }
    void stop() override {
        if (!running_) return;
        Pa_StopStream(stream_); // waits for the last callback
        running_ = false;
    }
    bool running() const override { return running_ && Pa_IsStreamActive(stream_) == 1; }
    std::string describe() const override {
        return fmt::format("PortAudio {}, {} channel(s){}, {} Hz, {} frames", name_, channels_,
                           inputs_ > 0 ? fmt::format(", {} in from {}", inputs_, inName_) : "",
                           engine_.options().sampleRate, frames_);
    }

private:
    /// The audio thread (PortAudio's): audio in de-interleaved, render every channel, interleave
    /// it into the device's buffer, record.
    static int callback(const void* input, void* output, unsigned long frameCount,
                        const PaStreamCallbackTimeInfo*, PaStreamCallbackFlags flags, void* user) {
        auto* self = static_cast<PortAudioBackend*>(user);
        if (!self->threadStarted_) {
            self->threadStarted_ = true;
            if (self->opts_.onAudioThreadStart != nullptr) self->opts_.onAudioThreadStart();
        }
        if ((flags & (paOutputUnderflow | paOutputOverflow | paInputOverflow | paInputUnderflow)) !=
            0)
            self->engine_.audioThreadAddXruns(1);
        auto* out = static_cast<float*>(output);
        const auto* in = static_cast<const float*>(input);
        const auto channels = static_cast<uint32_t>(self->channels_);
        const uint32_t inputs = self->inputs_;
        while (frameCount > 0) {
            const auto n =
                static_cast<uint32_t>(std::min<unsigned long>(frameCount, self->frames_));
            for (uint32_t f = 0; f < n; ++f)
                for (uint32_t k = 0; k < inputs; ++k)
                    self->in_[k][f] = in != nullptr ? *in++ : 0.0f;
            self->engine_.audioThreadRender(self->out_.data(), channels, self->in_.data(), inputs,
                                            n);
            if (self->opts_.recorder != nullptr)
                self->opts_.recorder->audioThreadPushPlanar(self->out_.data(), channels, n,
                                                            self->recordScratch_.data());
            for (uint32_t f = 0; f < n; ++f)
                for (uint32_t c = 0; c < channels; ++c) *out++ = self->out_[c][f];
            frameCount -= n;
        }
        return paContinue;
    }

    Engine& engine_;
    BackendOptions opts_;
    PaSession pa_;
    PaStream* stream_ = nullptr;
    std::string name_;
    int channels_ = 0;
    uint32_t frames_ = 0;
    std::vector<float> planar_;        ///< a block of every output channel
    std::vector<float*> out_;          ///< into planar_
    std::vector<float> recordScratch_; ///< a block interleaved for the recorder
    uint32_t inputs_ = 0;              ///< input channels open (duplex)
    std::string inName_;
    std::vector<float> inPlanar_; ///< a block of every input channel
    std::vector<float*> in_;      ///< into inPlanar_
    bool threadStarted_ = false;  ///< audio thread only
    bool running_ = false;
};

} // namespace

Expected<std::unique_ptr<AudioBackend>> openPortAudioBackend(Engine& engine,
                                                             const BackendOptions& options) {
    auto b = std::make_unique<PortAudioBackend>(engine, options);
    if (Status s = b->open(); !s) return s.error();
    return std::unique_ptr<AudioBackend>(std::move(b));
}

Expected<std::string> listPortAudioDevices() {
    PaSession pa;
    if (Status s = pa.status(); !s) return s.error();
    const PaDeviceIndex count = Pa_GetDeviceCount();
    if (count < 0) return makeError("PortAudio: {}", Pa_GetErrorText(count));
    const PaDeviceIndex def = Pa_GetDefaultOutputDevice();
    std::string text;
    for (PaDeviceIndex i = 0; i < count; ++i) {
        const PaDeviceInfo* d = Pa_GetDeviceInfo(i);
        if (d->maxOutputChannels <= 0) continue;
        text += fmt::format("{:3} {} [{}] {}: {} output channel(s), default {} Hz\n", i,
                            i == def ? '*' : ' ', hostApiName(d), d->name, d->maxOutputChannels,
                            d->defaultSampleRate);
    }
    if (text.empty()) text = "no PortAudio output devices (use --device null)\n";
    return text;
}

bool havePortAudioDefaultOutput() {
    PaSession pa;
    return pa.status().ok() && Pa_GetDefaultOutputDevice() != paNoDevice;
}

} // namespace chronus

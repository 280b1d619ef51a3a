// A JACK client of the tests' own with one MIDI output port: the control thread hands it a batch
// of events, its process callback writes them into one cycle at their frame offsets and notes
// when (the monotonic clock at the callback's start, and JACK's frame time of the cycle).
//
// JACK itself loses MIDI when a client misses its cycle (an xrun: on a loaded machine the dummy
// driver's clients are late now and then), and tells every client. sendUntil() therefore sends a
// batch again only when JACK reported an xrun while it was under way: a batch lost without one
// is a failure.
#pragma once

#include "midi/midi_clock.h"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <fmt/format.h>
#include <jack/jack.h>
#include <jack/midiport.h>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace chronus::test {

class JackMidiWriter {
public:
    struct Event {
        uint32_t offset = 0; ///< frame in the cycle; a batch must be in nondecreasing order
        std::vector<uint8_t> bytes;
    };
    struct Sent {
        uint64_t processStartNs = 0;   ///< monotonic clock at the start of the writing callback
        jack_nframes_t cycleFrame = 0; ///< jack_last_frame_time of that cycle
        uint32_t written = 0;          ///< events JACK accepted
    };

    /// Opens `clientName` on the default server (JACK_DEFAULT_SERVER, which JackServer sets).
    explicit JackMidiWriter(const std::string& clientName) {
        jack_status_t status{};
        client_ = jack_client_open(clientName.c_str(), JackNoStartServer, &status);
        if (client_ == nullptr) {
            why_ = fmt::format("jack_client_open failed (status 0x{:x})", unsigned(status));
            return;
        }
        port_ = jack_port_register(client_, "out", JACK_DEFAULT_MIDI_TYPE, JackPortIsOutput, 0);
        if (port_ == nullptr || jack_set_process_callback(client_, process, this) != 0 ||
            jack_set_xrun_callback(client_, onXrun, this) != 0 || jack_activate(client_) != 0) {
            why_ = "could not register and activate the writer's MIDI port";
            return;
        }
        portName_ = jack_port_name(port_);
    }
    ~JackMidiWriter() {
        if (client_ != nullptr) {
            jack_deactivate(client_);
            jack_client_close(client_);
        }
    }
    JackMidiWriter(const JackMidiWriter&) = delete;
    JackMidiWriter& operator=(const JackMidiWriter&) = delete;

    bool ok() const { return !portName_.empty(); }
    const std::string& why() const { return why_; }
    const std::string& portName() const { return portName_; } ///< "client:out"
    jack_client_t* client() const { return client_; }
    jack_nframes_t bufferSize() const { return jack_get_buffer_size(client_); }

    /// Waits until something is connected to the output port.
    bool waitConnected(int timeoutMs = 5000) const {
        for (int i = 0; i < timeoutMs / 10; ++i) {
            if (jack_port_connected(port_) > 0) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }

    /// Writes `events` in one coming cycle and waits until it has (empty on a timeout).
    std::optional<Sent> send(const std::vector<Event>& events, int timeoutMs = 5000) {
        if (events.size() > batch_.size()) return std::nullopt;
        for (std::size_t i = 0; i < events.size(); ++i) batch_[i] = events[i];
        count_ = events.size();
        state_.store(kPending, std::memory_order_release);
        for (int i = 0; i < timeoutMs; ++i) {
            if (state_.load(std::memory_order_acquire) == kDone) {
                state_.store(kIdle, std::memory_order_relaxed);
                return sent_;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        state_.store(kIdle, std::memory_order_relaxed);
        return std::nullopt;
    }

    /// Sends `events` until `arrived()` (polled, on this thread) is true: again after each
    /// attempt during which JACK reported an xrun, at most `attempts` times. Empty when they did
    /// not arrive within `timeoutMs` of an attempt without an xrun, or after the last attempt.
    template <class Arrived>
    std::optional<Sent> sendUntil(const std::vector<Event>& events, Arrived arrived,
                                  int timeoutMs = 3000, int attempts = 5) {
        for (int a = 0; a < attempts; ++a) {
            const uint64_t x0 = xruns();
            auto sent = send(events, timeoutMs);
            if (!sent) return std::nullopt;
            for (int i = 0; i < timeoutMs; ++i) {
                if (arrived()) return sent;
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
            if (xruns() == x0) return std::nullopt;
            ++resent_;
        }
        return std::nullopt;
    }

    /// xruns JACK reported to this client; batches sendUntil() sent again after one.
    uint64_t xruns() const { return xruns_.load(std::memory_order_relaxed); }
    uint64_t resent() const { return resent_; }

    /// JACK's estimate of when a frame is, on its clock (microseconds).
    jack_time_t frameTimeUs(jack_nframes_t frame) const {
        return jack_frames_to_time(client_, frame);
    }

private:
    enum : int { kIdle, kPending, kDone };

    static int onXrun(void* arg) {
        static_cast<JackMidiWriter*>(arg)->xruns_.fetch_add(1, std::memory_order_relaxed);
        return 0;
    }

    static int process(jack_nframes_t frames, void* arg) {
        auto* self = static_cast<JackMidiWriter*>(arg);
        void* buffer = jack_port_get_buffer(self->port_, frames);
        jack_midi_clear_buffer(buffer);
        if (self->state_.load(std::memory_order_acquire) != kPending) return 0;
        self->sent_.processStartNs = midi::monotonicNowNs();
        self->sent_.cycleFrame = jack_last_frame_time(self->client_);
        self->sent_.written = 0;
        for (std::size_t i = 0; i < self->count_; ++i) {
            const Event& e = self->batch_[i];
            if (e.offset < frames &&
                jack_midi_event_write(buffer, e.offset, e.bytes.data(), e.bytes.size()) == 0)
                ++self->sent_.written;
        }
        self->state_.store(kDone, std::memory_order_release);
        return 0;
    }

    jack_client_t* client_ = nullptr;
    jack_port_t* port_ = nullptr;
    std::string portName_, why_;
    std::array<Event, 64> batch_; // filled before kPending is published, read only after it
    std::size_t count_ = 0;
    Sent sent_;
    std::atomic<int> state_{kIdle};
    std::atomic<uint64_t> xruns_{0};
    uint64_t resent_ = 0;
};

} // namespace chronus::test

// MidiInput::open for the JACK tests. On a loaded machine (CI under ASan, load 8) jack2 now and
// then refuses a client's open as if no server ran, moments after another client of the same
// server opened: RtMidi reports any refusal as "JACK server not running?". A test that means to
// open retries that one error for a few seconds; every other error is returned at once.
#pragma once

#include "midi/midi_input.h"

#include <chrono>
#include <string>
#include <thread>

namespace chronus::test {

inline Expected<std::unique_ptr<midi::MidiInput>>
openMidiInputRetrying(const midi::MidiInputOptions& options, double seconds = 5) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    for (;;) {
        auto input = midi::MidiInput::open(options);
        if (input || input.error().message.find("server not running") == std::string::npos ||
            std::chrono::steady_clock::now() >= until)
            return input;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

} // namespace chronus::test

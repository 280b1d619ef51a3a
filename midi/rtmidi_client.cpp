#include "midi/rtmidi_client.h"

#include <algorithm>
#include <unistd.h>

namespace chronus::midi::detail {

namespace {

RtMidi::Api toRtMidi(MidiApi api) {
    return api == MidiApi::Jack ? RtMidi::UNIX_JACK : RtMidi::LINUX_ALSA;
}

void collectError(RtMidiError::Type, const std::string& text, void* self) {
    static_cast<RtMidiClient*>(self)->lastError = text;
}

} // namespace

Expected<std::unique_ptr<RtMidiClient>> RtMidiClient::open(MidiApi api,
                                                           const std::string& clientName) {
    std::vector<RtMidi::Api> compiled;
    RtMidi::getCompiledApi(compiled);
    if (std::find(compiled.begin(), compiled.end(), toRtMidi(api)) == compiled.end())
        return makeError("this build of RtMidi ({}) has no {} support", RtMidi::getVersion(),
                         midiApiName(api));
    // Without the device, alsa-lib prints its own error before RtMidi's: say it once, here.
    if (api == MidiApi::Alsa && access("/dev/snd/seq", R_OK | W_OK) != 0)
        return makeError("no ALSA sequencer (/dev/snd/seq is missing: no snd-seq kernel module "
                         "or no sound devices in this container)");
    auto client = std::make_unique<RtMidiClient>();
    try {
        client->in = std::make_unique<RtMidiIn>(toRtMidi(api), clientName);
        client->in->setErrorCallback(collectError, client.get());
        // JACK: RtMidi connects lazily and only warns when there is no server; asking for the
        // port count retries the connection, now reporting through collectError.
        (void)client->in->getPortCount();
    } catch (const RtMidiError& e) {
        return makeError("{}", e.getMessage());
    }
    if (!client->lastError.empty()) return makeError("{}", client->lastError);
    return client;
}

std::vector<std::string> RtMidiClient::portNames() {
    std::vector<std::string> names;
    const unsigned n = in->getPortCount();
    for (unsigned i = 0; i < n; ++i) {
        std::string name = in->getPortName(i);
        if (!name.empty()) names.push_back(std::move(name)); // "" : gone since the count
    }
    return names;
}

} // namespace chronus::midi::detail

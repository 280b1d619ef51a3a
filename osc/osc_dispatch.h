// The OSC handler: every datagram is decoded and type-checked (osc_packet), each message becomes a
// ControlCommand (decodeCommand, shared with patch files), classified by commandKind (shared with
// the patch player) and run by Engine::apply (a future bundle's writes by Engine::applyAt);
// replies and errors go back to the sender. The server's own messages (server_messages.h) and the
// reads of the control side's data (query_replies.h: read-back, /patch/list, /modules) are
// answered here, alone, without a command. Runs on the OSC receive thread and never
// compiles, renders or blocks: a commit is started and its outcome replied from the engine's
// thread; /patch/ir is written by a worker thread.
#pragma once

#include "osc/osc_packet.h"
#include "osc/osc_reply.h"
#include "osc/osc_server.h"
#include "osc/serial_worker.h"
#include "runtime/control_command.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace chronus::osc {

class Dispatcher {
public:
    Dispatcher(Engine& engine, Replier replier, const OscOptions& options);

    /// OSC receive thread: handles one datagram of `size` bytes (more than `capacity`: it was cut
    /// to fit the buffer and is refused).
    void handleDatagram(const std::byte* data, std::size_t size, std::size_t capacity,
                        const Endpoint& from) noexcept;

    bool quitRequested() const { return quit_.load(std::memory_order_acquire); }

    /// OSC receive thread, a few times a second: tells `/notify` subscribers of new xruns.
    void watch();

private:
    struct Ready {
        const InMessage* message;
        ControlCommand command;
        std::optional<uint64_t> atSample; ///< a future bundle time, for /mod and /gate
    };

    void handlePacket(const Packet& packet, const Endpoint& from);
    void apply(const Ready& r, const Endpoint& from);
    void log(const Endpoint& from, const InMessage& m, const std::optional<uint64_t>& at) const;

    /// The replies: what a command's kind (commandKind) answers, with the command's own text.
    void commit(const Endpoint& from);
    void query(const Ready& r, const Endpoint& from);
    void writeIr(const IrCommand& c, const Ready& r, const Endpoint& from);

    /// `/version`, `/status`, `/sync id` (server_messages.h).
    void serverMessage(const InMessage& m, const Endpoint& from);
    /// Read-back, `/patch/list`, `/modules` (query_replies.h).
    void queryMessage(const InMessage& m, const Endpoint& from);
    /// Text in `/address index count text` chunks (as /patch/dump), then `end`.
    void sendChunks(const Endpoint& to, const std::string& address, const std::string& text,
                    const std::string& end, const std::vector<ReplyArg>& endArgs);

    /// `/done address args...` on success, `/error address reason` otherwise.
    void done(const Status& s, const Ready& r, const Endpoint& from, std::vector<ReplyArg> args);

    Engine& engine_;
    Replier replier_;
    std::string irDir_;
    bool verbose_;
    std::atomic<bool> quit_{false};
    /// `/sync`: commits and /patch/ir jobs started (OSC receive thread only) and finished (commit
    /// callbacks on the engine's thread, IR jobs on the worker), and the syncs waiting for counts
    /// of them. Shared with the callbacks, which may outlive the dispatcher.
    struct Syncs {
        std::mutex mutex;
        uint64_t reported = 0; ///< commits reported
        uint64_t irDone = 0;   ///< /patch/ir jobs answered
        struct Waiting {
            uint64_t commits; ///< answered once this many commits have been reported
            uint64_t irJobs;  ///< and this many /patch/ir jobs answered
            int32_t id;
            Endpoint to;
        };
        std::vector<Waiting> waiting;
        /// Answers the syncs whose commits and IR jobs are all done. Mutex held.
        void answerDone(const Replier& r);
    };
    std::shared_ptr<Syncs> syncs_ = std::make_shared<Syncs>();
    /// `/notify 1` subscribers (at most kMaxSubscribers); the commit callbacks read it too.
    struct Subscribers {
        std::mutex mutex;
        std::vector<Endpoint> list;
        /// Sends to every subscriber but `except` (who has the reply already).
        void send(const Replier& r, const Endpoint* except, const std::string& address,
                  const std::vector<ReplyArg>& args);
    };
    std::shared_ptr<Subscribers> subscribers_ = std::make_shared<Subscribers>();
    uint64_t xrunsSeen_ = 0;
    uint64_t guardTripsSeen_ = 0; ///< output-guard trips already notified
    uint64_t commitsStarted_ = 0;
    uint64_t irJobsStarted_ = 0; ///< /patch/ir jobs queued on the worker
    SerialWorker worker_;        ///< last: joined first, while everything it uses is alive
};

} // namespace chronus::osc

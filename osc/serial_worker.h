// One thread that runs slow control jobs in order (writing IR files), so that the OSC receive
// thread never waits on a disk or on the engine's IR dump. Its queue is bounded.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace chronus::osc {

class SerialWorker {
public:
    explicit SerialWorker(std::size_t maxQueued);
    ~SerialWorker(); ///< runs the jobs already queued, then joins

    /// Queues `job`; false (and `job` dropped) if maxQueued jobs are already waiting.
    bool post(std::function<void()> job);

private:
    void run();

    std::size_t maxQueued_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> jobs_;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace chronus::osc

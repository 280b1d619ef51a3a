#include "osc/osc_dispatch.h"

#include "osc/dump_chunks.h"
#include "osc/ir_file.h"
#include "osc/osc_limits.h"
#include "osc/query_replies.h"
#include "osc/server_messages.h"
#include "osc/status_reply.h"
#include "runtime/engine.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <fmt/format.h>

namespace chronus::osc {

namespace {

std::string argsText(const std::vector<PatchArg>& args) {
    std::string s;
    for (const PatchArg& a : args) {
        s += ' ';
        if (const auto* f = std::get_if<float>(&a))
            s += fmt::format("{}", *f);
        else
            s += fmt::format("\"{}\"", std::get<std::string>(a));
    }
    return s;
}

/// Whose timed events these are (ParamStore's per-client quota): the sender's address and port,
/// never 0 (the engine's own patch player).
uint64_t clientKey(const Endpoint& from) {
    return std::hash<std::string>{}(from.text()) | 1;
}

/// What `/done` names after an edit: the ids and ports as decoded.
std::vector<ReplyArg> editOperands(const ControlCommand& cmd) {
    if (const auto* c = std::get_if<CreateCommand>(&cmd)) return {c->id};
    if (const auto* d = std::get_if<DeleteCommand>(&cmd)) return {d->id};
    if (const auto* k = std::get_if<ConnectCommand>(&cmd)) return {k->src, k->dst};
    if (const auto* k = std::get_if<DisconnectCommand>(&cmd)) return {k->src, k->dst};
    if (const auto* p = std::get_if<CreatePolyCommand>(&cmd)) return {p->id};
    if (const auto* v = std::get_if<VoiceBeginCommand>(&cmd)) return {v->name};
    if (const auto* m = std::get_if<VoiceMapCommand>(&cmd)) return {m->name, m->role, m->target};
    return {};
}

constexpr std::size_t kMaxSubscribers = 16;

bool sameEndpoint(const Endpoint& a, const Endpoint& b) {
    return a.len == b.len && std::memcmp(&a.addr, &b.addr, a.len) == 0;
}

} // namespace

void Dispatcher::Subscribers::send(const Replier& r, const Endpoint* except,
                                   const std::string& address, const std::vector<ReplyArg>& args) {
    std::lock_guard lock(mutex);
    for (const Endpoint& e : list)
        if (except == nullptr || !sameEndpoint(e, *except)) r.send(e, address, args);
}

void Dispatcher::Syncs::answerDone(const Replier& r) {
    std::erase_if(waiting, [&](const Waiting& w) {
        if (w.commits > reported || w.irJobs > irDone) return false;
        r.send(w.to, "/synced", {w.id});
        return true;
    });
}

void Dispatcher::watch() {
    const EngineStatus st = engine_.status();
    if (st.xruns != xrunsSeen_) {
        subscribers_->send(replier_, nullptr, "/engine/xruns",
                           {saturate32(st.xruns - xrunsSeen_), saturate32(st.xruns)});
        xrunsSeen_ = st.xruns;
    }
    if (st.guardTrips != guardTripsSeen_) {
        subscribers_->send(replier_, nullptr, "/engine/guard",
                           {saturate32(st.guardTrips - guardTripsSeen_), saturate32(st.guardTrips),
                            st.guardCause.empty() ? std::string("none") : st.guardCause});
        guardTripsSeen_ = st.guardTrips;
    }
}

Dispatcher::Dispatcher(Engine& engine, Replier replier, const OscOptions& options)
    : engine_(engine), replier_(std::move(replier)), irDir_(options.irDir),
      verbose_(options.verbose), worker_(kMaxQueuedJobs) {}

void Dispatcher::handleDatagram(const std::byte* data, std::size_t size, std::size_t capacity,
                                const Endpoint& from) noexcept {
    try {
        if (size > capacity) {
            replier_.error(from, "",
                           fmt::format("datagram of {} bytes is larger than {}", size, capacity));
            return;
        }
        handlePacket(decodePacket(data, size), from);
    } catch (const std::exception& e) {
        // Nothing the client sends may bring the server down; report and carry on.
        try {
            replier_.error(from, "", fmt::format("internal error: {}", e.what()));
        } catch (...) {
        }
    } catch (...) {
    }
}

void Dispatcher::handlePacket(const Packet& packet, const Endpoint& from) {
    const char* bundleNote = packet.isBundle ? " (the bundle was not applied)" : "";
    if (!packet.errors.empty()) {
        for (const PacketError& e : packet.errors)
            replier_.error(from, e.address, e.reason + bundleNote);
        return;
    }
    if (packet.messages.size() == 1 && isServerMessage(packet.messages[0].address) &&
        !packet.isBundle) {
        serverMessage(packet.messages[0], from);
        return;
    }
    if (packet.messages.size() == 1 && isQueryMessage(packet.messages[0]) && !packet.isBundle) {
        queryMessage(packet.messages[0], from);
        return;
    }
    // Decode everything first: a bundle is applied whole or not at all.
    std::vector<Ready> ready;
    ready.reserve(packet.messages.size());
    std::vector<PacketError> errors;
    bool future = false;
    for (const InMessage& m : packet.messages) {
        if (isServerMessage(m.address) || isQueryMessage(m)) {
            errors.push_back({m.address, "is answered alone, not inside a bundle"});
            continue;
        }
        auto cmd = decodeCommand(m.address, m.args);
        if (!cmd) {
            errors.push_back({m.address, cmd.error().message});
            continue;
        }
        ready.push_back({&m, cmd.take(), std::nullopt});
        future = future || !m.time.immediate();
    }
    if (future) {
        // The mapping documented in osc_time.h: engine position first, then the wall clock.
        const EngineStatus st = engine_.status();
        const Timetag now = timetagNow();
        for (Ready& r : ready) {
            if (timetagDiff(r.message->time, now) > kMaxScheduleAheadSeconds &&
                !r.message->time.immediate()) {
                errors.push_back({r.message->address, fmt::format("timetag is more than {} s ahead",
                                                                  kMaxScheduleAheadSeconds)});
                continue;
            }
            if (isSchedulable(r.command))
                r.atSample =
                    timetagToSample(r.message->time, now, st.samplePosition, st.sampleRate);
        }
    }
    if (!errors.empty()) {
        for (const PacketError& e : errors) replier_.error(from, e.address, e.reason + bundleNote);
        return;
    }
    for (const Ready& r : ready) apply(r, from);
}

void Dispatcher::log(const Endpoint& from, const InMessage& m,
                     const std::optional<uint64_t>& at) const {
    if (!verbose_) return;
    if (at)
        fmt::print(stderr, "[osc] {} {}{} @sample {}\n", from.text(), m.address, argsText(m.args),
                   *at);
    else
        fmt::print(stderr, "[osc] {} {}{}\n", from.text(), m.address, argsText(m.args));
}

void Dispatcher::apply(const Ready& r, const Endpoint& from) {
    log(from, *r.message, r.atSample);
    const ControlCommand& cmd = r.command;
    switch (commandKind(cmd)) {
    case CommandKind::edit:
        done(engine_.apply(cmd), r, from, editOperands(cmd));
        return;
    case CommandKind::write: {
        // Errors only: a flood of writes gets no flood of replies.
        const Status s =
            r.atSample ? engine_.applyAt(*r.atSample, cmd, clientKey(from)) : engine_.apply(cmd);
        if (!s) replier_.error(from, r.message->address, s.message());
        return;
    }
    case CommandKind::commit:
        commit(from);
        return;
    case CommandKind::abort:
        (void)engine_.apply(cmd);
        replier_.send(from, "/patch/aborted", {});
        return;
    case CommandKind::query:
        query(r, from);
        return;
    case CommandKind::quit:
        // The flag first: whoever sees the reply can rely on quitRequested(). The reply still
        // goes out, since stopping the server joins this thread.
        quit_.store(true, std::memory_order_release);
        replier_.send(from, "/engine/quit", {});
        return;
    }
}

void Dispatcher::done(const Status& s, const Ready& r, const Endpoint& from,
                      std::vector<ReplyArg> args) {
    if (!s) {
        replier_.error(from, r.message->address, s.message());
        return;
    }
    args.insert(args.begin(), r.message->address);
    replier_.send(from, "/done", args);
}

void Dispatcher::commit(const Endpoint& from) {
    // The engine compiles on its own thread and calls back from there; the reply goes from that
    // thread to whoever sent the commit. The callback holds only the socket and the address.
    ++commitsStarted_;
    auto reply = [replier = replier_, from, syncs = syncs_, subscribers = subscribers_,
                  frames = engine_.options().frames](const CommitReport& report) {
        const auto seq = saturate32(report.seq);
        if (replier.verbose())
            fmt::print(stderr, "[osc] commit {} {}: {:.1f} ms compile, prime RMS {:.4f}{}\n",
                       report.seq, report.ok ? "ok" : "failed", report.compileMs, report.primeRms,
                       report.ok ? "" : ": " + report.reason);
        // A commit replaced while it waited (runtime/commit_pipeline.h) is played, or not, by
        // the newer commit that holds its edits: its reply says so and names that commit.
        const bool superseded = report.carriedBy != 0;
        const std::string address = report.ok ? "/patch/committed" : "/patch/failed";
        std::vector<ReplyArg> args;
        if (report.ok) {
            // The first four as they always were; then the prime load and any notes (README).
            args = {seq, static_cast<float>(report.compileMs), static_cast<float>(report.primeRms),
                    std::string(superseded      ? "superseded"
                                : report.silent ? "silent"
                                                : "ok"),
                    static_cast<float>(report.primeLoad)};
            if (superseded)
                args.emplace_back(fmt::format("superseded by commit {}", report.carriedBy));
            for (std::string& note : commitNotes(report, frames))
                args.emplace_back(std::move(note));
        } else if (superseded) {
            args = {seq, fmt::format("superseded by commit {}, which failed: {}", report.carriedBy,
                                     report.reason)};
        } else {
            args = {seq, report.reason};
        }
        replier.send(from, address, args);
        subscribers->send(replier, &from, address, args);
        // After the outcome: a /sync sent after this commit is answered after its report.
        std::lock_guard lock(syncs->mutex);
        ++syncs->reported;
        syncs->answerDone(replier);
    };
    (void)engine_.apply(CommitCommand{}, nullptr, std::move(reply));
}

void Dispatcher::serverMessage(const InMessage& m, const Endpoint& from) {
    log(from, m, std::nullopt);
    if (m.address == "/sync") {
        const auto id = syncId(m.args);
        if (!id) {
            replier_.error(from, m.address,
                           "takes one argument, a whole number (the id /synced "
                           "answers with)");
            return;
        }
        // Edits, writes and reads before it are answered already (one datagram after another);
        // commits are answered from the engine's thread and /patch/ir from the worker: the sync
        // waits for every one started so far.
        std::lock_guard lock(syncs_->mutex);
        syncs_->waiting.push_back({commitsStarted_, irJobsStarted_, *id, from});
        syncs_->answerDone(replier_);
        return;
    }
    if (m.address == "/notify") {
        const auto on = syncId(m.args);
        if (!on || (*on != 0 && *on != 1)) {
            replier_.error(from, m.address, "takes one argument: 1 (subscribe) or 0 (stop)");
            return;
        }
        std::lock_guard lock(subscribers_->mutex);
        auto& list = subscribers_->list;
        std::erase_if(list, [&](const Endpoint& e) { return sameEndpoint(e, from); });
        if (*on == 1 && list.size() >= kMaxSubscribers) {
            replier_.error(from, m.address,
                           fmt::format("{} clients are subscribed already", kMaxSubscribers));
            return;
        }
        if (*on == 1) list.push_back(from);
        replier_.send(from, "/done", {m.address, *on});
        return;
    }
    if (!m.args.empty()) {
        replier_.error(from, m.address, fmt::format("takes no arguments, got {}", m.args.size()));
        return;
    }
    if (m.address == "/version") {
        replier_.send(from, "/version.reply", versionReply());
        return;
    }
    replier_.send(from, "/status.reply",
                  statusReply(engine_.status(), countModules(engine_.dump())));
}

void Dispatcher::queryMessage(const InMessage& m, const Endpoint& from) {
    log(from, m, std::nullopt);
    if (m.address == "/modules") {
        if (!m.args.empty()) {
            replier_.error(from, m.address,
                           fmt::format("takes no arguments, got {}", m.args.size()));
            return;
        }
        const auto& table = moduleTable();
        sendChunks(from, m.address, moduleTableText(table), "/modules.end",
                   {saturate32(table.size())});
        return;
    }
    if (m.address == "/patch/list") {
        auto which = listedPatch(m.args);
        if (!which) {
            replier_.error(from, m.address, which.error().message);
            return;
        }
        const PatchListing listing = engine_.listPatch(*which);
        sendChunks(from, m.address, listingText(listing), "/patch/list.end",
                   {std::string(listedPatchName(*which)), saturate32(listing.modules.size()),
                    saturate32(listing.connections.size())});
        return;
    }
    // Read-back: the reply is the message that sets the value back (scsynth's /c_get -> /c_set).
    const auto target = modAddress(m.address);
    auto reading = engine_.readParam(target->first, target->second);
    if (!reading) {
        replier_.error(from, m.address, reading.error().message);
        return;
    }
    replier_.send(from, m.address, readBackArgs(*reading));
}

void Dispatcher::sendChunks(const Endpoint& to, const std::string& address, const std::string& text,
                            const std::string& end, const std::vector<ReplyArg>& endArgs) {
    const auto chunks = splitDump(text, kDumpChunkBytes);
    const auto count = static_cast<int32_t>(chunks.size());
    for (int32_t i = 0; i < count; ++i)
        replier_.send(to, address, {i, count, chunks[static_cast<size_t>(i)]});
    replier_.send(to, end, endArgs);
}

void Dispatcher::query(const Ready& r, const Endpoint& from) {
    if (const auto* ir = std::get_if<IrCommand>(&r.command)) {
        writeIr(*ir, r, from);
        return;
    }
    if (std::holds_alternative<StatusCommand>(r.command)) {
        // Typed values, not the text apply() would give: read straight from the engine.
        replier_.send(from, "/engine/status", encodeStatus(engine_.status()));
        return;
    }
    std::string text; // the dump
    if (Status s = engine_.apply(r.command, &text); !s) {
        replier_.error(from, r.message->address, s.message());
        return;
    }
    const auto chunks = splitDump(text, kDumpChunkBytes);
    const auto count = static_cast<int32_t>(chunks.size());
    for (int32_t i = 0; i < count; ++i)
        replier_.send(from, "/patch/dump", {i, count, chunks[static_cast<size_t>(i)]});
}

void Dispatcher::writeIr(const IrCommand& c, const Ready& r, const Endpoint& from) {
    if (irDir_.empty()) {
        replier_.error(from, r.message->address,
                       "no IR directory: start `chronus serve` with --ir-dir DIR to use /patch/ir");
        return;
    }
    const bool queued = worker_.post([this, stage = c.stage, from, address = r.message->address] {
        // However it ends, the job is done for /sync once its answer is out.
        struct Done {
            Dispatcher& d;
            ~Done() {
                std::lock_guard lock(d.syncs_->mutex);
                ++d.syncs_->irDone;
                d.syncs_->answerDone(d.replier_);
            }
        } done{*this};
        try {
            // The IR and the sequence number must belong to the same commit: retry if a swap
            // happened in between.
            for (int attempt = 0; attempt < 3; ++attempt) {
                const uint64_t seq = engine_.status().activeSeq;
                if (seq == 0) {
                    replier_.error(from, address, "nothing committed yet: there is no IR to write");
                    return;
                }
                std::string text;
                if (Status s = engine_.apply(IrCommand{stage}, &text); !s) {
                    replier_.error(from, address, s.message());
                    return;
                }
                if (engine_.status().activeSeq != seq) continue;
                auto path = writeIrFile(irDir_, seq, stage, text);
                if (!path)
                    replier_.error(from, address, path.error().message);
                else
                    replier_.send(from, "/patch/ir", {*path});
                return;
            }
            replier_.error(from, address,
                           "commits kept swapping in while the IR was read; try again");
        } catch (const std::exception& e) {
            replier_.error(from, address, fmt::format("internal error: {}", e.what()));
        }
    });
    if (queued) ++irJobsStarted_;
    if (!queued)
        replier_.error(
            from, r.message->address,
            fmt::format("busy: {} /patch/ir requests are already waiting", kMaxQueuedJobs));
}

} // namespace chronus::osc

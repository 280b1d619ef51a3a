#include "bench/process_render.h"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace chronus::bench {

namespace fs = std::filesystem;

namespace {

std::string selfBinary(const ProcessRenderSettings& s) {
    if (!s.chronus.empty()) return s.chronus;
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    return ec ? std::string("chronus") : self.string();
}

/// A fresh directory of our own under the temporary directory; removed with everything in it.
class ScratchDir {
public:
    ScratchDir() {
        std::string pattern = (fs::temp_directory_path() / "chronus-bench-XXXXXX").string();
        if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
    }
    ~ScratchDir() {
        std::error_code ec;
        if (!path_.empty()) fs::remove_all(path_, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    const fs::path& path() const { return path_; }
    bool ok() const { return !path_.empty(); }

private:
    fs::path path_;
};

struct ChildRun {
    double cpuS = 0; ///< user + system
    double wallS = 0;
    double maxRssMb = 0;
    int status = 0;
};

double seconds(const timeval& t) {
    return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec);
}

/// Runs `argv` with stdout and stderr into `output` (a file), waits, and takes its rusage.
Expected<ChildRun> runChild(const std::vector<std::string>& argv, const fs::path& output) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int out = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) return makeError("cannot open {}: {}", output.string(), std::strerror(errno));
    const auto t0 = std::chrono::steady_clock::now();
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(out);
        return makeError("fork: {}", std::strerror(errno));
    }
    if (pid == 0) { // the child: only async-signal-safe calls until exec
        ::dup2(out, STDOUT_FILENO);
        ::dup2(out, STDERR_FILENO);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    ::close(out);
    int status = 0;
    rusage usage{};
    pid_t got = 0;
    do got = ::wait4(pid, &status, 0, &usage);
    while (got < 0 && errno == EINTR);
    if (got < 0) return makeError("wait4: {}", std::strerror(errno));
    ChildRun run;
    run.wallS = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    run.cpuS = seconds(usage.ru_utime) + seconds(usage.ru_stime);
    run.maxRssMb = static_cast<double>(usage.ru_maxrss) / 1024.0; // KiB on Linux
    run.status = status;
    return run;
}

std::string lastLine(const fs::path& file) {
    std::ifstream in(file);
    std::string line, last;
    while (std::getline(in, line))
        if (!line.empty()) last = line;
    return last;
}

} // namespace

bool renderTakesCacheDir(const ProcessRenderSettings& settings) {
    ScratchDir dir;
    if (!dir.ok()) return false;
    const fs::path help = dir.path() / "help.txt";
    auto run = runChild({selfBinary(settings), "render", "--help"}, help);
    if (!run) return false;
    std::ifstream in(help);
    std::stringstream text;
    text << in.rdbuf();
    return text.str().find("--cache-dir") != std::string::npos;
}

Expected<ProcessRenderResult> measureProcessRender(const std::string& name, const PatchGraph& graph,
                                                   double audioSeconds, bool warm,
                                                   const ProcessRenderSettings& settings) {
    ScratchDir dir;
    if (!dir.ok()) return makeError("cannot make a scratch directory: {}", std::strerror(errno));
    const fs::path patch = dir.path() / "bench.patch", wav = dir.path() / "out.wav",
                   log = dir.path() / "render.txt";
    {
        std::ofstream f(patch);
        f << graph.toPatchText(); // ends with its /patch/commit
        if (!f.flush()) return makeError("cannot write {}", patch.string());
    }
    const std::vector<std::string> base = {selfBinary(settings),
                                           "render",
                                           patch.string(),
                                           "-o",
                                           wav.string(),
                                           "-s",
                                           fmt::format("{:g}", audioSeconds),
                                           "-f",
                                           std::to_string(settings.blockFrames),
                                           "-r",
                                           fmt::format("{:g}", settings.sampleRate)};
    auto once = [&](const fs::path* cache) -> Expected<ChildRun> {
        std::vector<std::string> argv = base;
        if (cache != nullptr) argv.insert(argv.end(), {"--cache-dir", cache->string()});
        // Each run writes a new file: rendering over the last run's would charge the child
        // for ext4 freeing the old blocks (the truncation) and flushing the new ones at close
        // (auto_da_alloc), ~6 % of a one-voice minute; that is the harness's leftover, not the
        // render's work.
        std::error_code gone;
        fs::remove(wav, gone);
        auto run = runChild(argv, log);
        if (!run) return run.error();
        if (!WIFEXITED(run->status) || WEXITSTATUS(run->status) != 0)
            return makeError("chronus render {} exited with {}: {}", patch.filename().string(),
                             WIFEXITED(run->status) ? WEXITSTATUS(run->status) : -1, lastLine(log));
        return run;
    };

    std::vector<double> coldCpu, coldWall, coldRss, warmCpu, warmWall, warmRss;
    for (uint32_t r = 0; r < std::max<uint32_t>(settings.runs, 1); ++r) {
        // Cold: an empty cache of its own; warm: the cache that cold run filled.
        const fs::path cache = dir.path() / fmt::format("cache-{}", r);
        std::error_code ec;
        fs::create_directories(cache, ec);
        auto cold = once(warm ? &cache : nullptr);
        if (!cold) return cold.error();
        coldCpu.push_back(cold->cpuS);
        coldWall.push_back(cold->wallS);
        coldRss.push_back(cold->maxRssMb);
        if (!warm) continue;
        auto hot = once(&cache);
        if (!hot) return hot.error();
        warmCpu.push_back(hot->cpuS);
        warmWall.push_back(hot->wallS);
        warmRss.push_back(hot->maxRssMb);
    }
    ProcessRenderResult result;
    result.name = name;
    result.audioSeconds = audioSeconds;
    result.runs = static_cast<uint32_t>(coldCpu.size());
    result.warmMeasured = warm;
    result.coldCpuS = spreadOf(coldCpu);
    result.coldWallS = spreadOf(coldWall);
    result.coldMaxRssMb = spreadOf(coldRss).median;
    if (warm) {
        result.warmCpuS = spreadOf(warmCpu);
        result.warmWallS = spreadOf(warmWall);
        result.warmMaxRssMb = spreadOf(warmRss).median;
    }
    return result;
}

} // namespace chronus::bench

// The `chronus` program as the CLI tests drive it: a child process with its output in a log file
// (a server left running, or a command run to its end), stopped by the test when it is done.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace chronus::test {

inline std::string fileText(const std::string& path) {
    std::ifstream f(path);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

/// A child process, its stdout and stderr in `log`, killed when the object goes.
class Child {
public:
    Child(const std::vector<std::string>& argv, std::string log) : log_(std::move(log)) {
        pid_ = ::fork();
        if (pid_ == 0) {
            const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            ::dup2(fd, 1);
            ::dup2(fd, 2);
            std::vector<char*> args;
            for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            ::execvp(args[0], args.data());
            ::_exit(127);
        }
    }
    ~Child() {
        if (pid_ > 0 && !exited_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    pid_t pid() const { return pid_; }
    std::string output() const { return fileText(log_); }

    /// The exit status (128 + signal if killed), or -1 if still running after `seconds`.
    int wait(double seconds) {
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
        do {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                exited_ = true;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        } while (std::chrono::steady_clock::now() < deadline);
        return -1;
    }
    /// True once the log holds `text`, waiting at most `seconds`.
    bool waitForOutput(const std::string& text, double seconds) const {
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
        while (std::chrono::steady_clock::now() < deadline) {
            if (output().find(text) != std::string::npos) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return false;
    }

private:
    std::string log_;
    pid_t pid_ = -1;
    bool exited_ = false;
};

struct Run {
    int rc = -1;
    std::string output;
};

/// Runs `argv` to its end (at most `seconds`): its exit status and everything it printed.
inline Run run(const std::vector<std::string>& argv, const std::string& log, double seconds = 60) {
    Child c(argv, log);
    Run r;
    r.rc = c.wait(seconds);
    r.output = c.output();
    std::remove(log.c_str());
    return r;
}

} // namespace chronus::test

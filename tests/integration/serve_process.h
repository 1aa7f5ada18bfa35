#pragma once

// A `facegen serve` child process for tests: started on a free loopback port, stopped
// (SIGTERM, then SIGKILL after a bound) when the object goes.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "test_support.h"

namespace facegen::test {

class ServeProcess {
public:
    /// Runs `facegen serve --port 0 <args>` and waits (at most `start_timeout`) for the URL
    /// it prints on stdout. Throws std::runtime_error with its stderr when it does not come.
    explicit ServeProcess(const std::string& args,
                          std::chrono::seconds start_timeout = std::chrono::seconds(60)) {
        log_path_ = dir_ / "serve.log";
        const std::string command = "exec '" + facegen_binary().string() + "' serve --port 0 " + args + " 2>'" +
                                    log_path_.string() + "'";
        int out[2];
        if (pipe(out) != 0) throw std::runtime_error("pipe failed");
        pid_ = fork();
        if (pid_ < 0) throw std::runtime_error("fork failed");
        if (pid_ == 0) {
            dup2(out[1], STDOUT_FILENO);
            close(out[0]);
            close(out[1]);
            execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
            _exit(127);
        }
        close(out[1]);
        stdout_fd_ = out[0];
        url_ = read_line(start_timeout);
        const size_t colon = url_.rfind(':');
        if (url_.rfind("http://127.0.0.1:", 0) != 0 || colon == std::string::npos) {
            const std::string log = this->log();
            stop();
            throw std::runtime_error("facegen serve printed no URL ('" + url_ + "'); its log:\n" + log);
        }
        port_ = std::stoi(url_.substr(colon + 1));
    }
    ~ServeProcess() { stop(); }
    ServeProcess(const ServeProcess&) = delete;
    ServeProcess& operator=(const ServeProcess&) = delete;

    int port() const { return port_; }
    const std::string& url() const { return url_; }
    pid_t pid() const { return pid_; }

    /// SIGTERM, then SIGKILL when it has not exited after `grace`; returns the exit code
    /// (-1: killed or not running).
    int stop(std::chrono::seconds grace = std::chrono::seconds(10)) {
        if (pid_ <= 0) return exit_code_;
        kill(pid_, SIGTERM);
        const auto deadline = std::chrono::steady_clock::now() + grace;
        int status = 0;
        while (waitpid(pid_, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                kill(pid_, SIGKILL);
                waitpid(pid_, &status, 0);
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        pid_ = -1;
        if (stdout_fd_ >= 0) close(stdout_fd_);
        stdout_fd_ = -1;
        return exit_code_;
    }

    /// What it wrote on stderr so far.
    std::string log() const {
        std::ifstream in(log_path_);
        std::ostringstream text;
        text << in.rdbuf();
        return text.str();
    }

private:
    std::string read_line(std::chrono::seconds timeout) {
        std::string line;
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            pollfd fd{stdout_fd_, POLLIN, 0};
            if (poll(&fd, 1, 100) <= 0) continue;
            char c = 0;
            if (read(stdout_fd_, &c, 1) != 1) break;  // exited
            if (c == '\n') return line;
            line += c;
        }
        return line;
    }

    TempDir dir_;
    std::filesystem::path log_path_;
    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    int exit_code_ = -1;
    std::string url_;
    int port_ = 0;
};

}  // namespace facegen::test

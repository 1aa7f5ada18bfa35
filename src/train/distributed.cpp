#include "train/distributed.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <torch/version.h>

#include "core/error.h"

#ifdef FACEGEN_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#ifdef FACEGEN_HAVE_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace facegen::train {

namespace {

int64_t env_int(const char* name, int64_t fallback) {
    const char* text = std::getenv(name);
    if (text == nullptr || *text == '\0') return fallback;
    char* end = nullptr;
    const long long value = std::strtoll(text, &end, 10);
    if (*end != '\0') throw make_error("environment variable ", name, "='", text, "' is not an integer");
    return value;
}

}  // namespace

DistributedEnv DistributedEnv::from_environment() {
    DistributedEnv env;
    if (const char* addr = std::getenv("MASTER_ADDR"); addr != nullptr && *addr != '\0') env.master_addr = addr;
    env.port = int(env_int("MASTER_PORT", env.port));
    env.rank = env_int("RANK", 0);
    env.world_size = env_int("WORLD_SIZE", 1);
    env.local_rank = env_int("LOCAL_RANK", env.rank);
    env.local_world_size = env_int("LOCAL_WORLD_SIZE", 1);
    if (env.world_size < 1) throw make_error("WORLD_SIZE=", env.world_size, " must be >= 1");
    if (env.rank < 0 || env.rank >= env.world_size)
        throw make_error("RANK=", env.rank, " must be in [0, WORLD_SIZE=", env.world_size, ")");
    if (env.port < 1 || env.port > 65535) throw make_error("MASTER_PORT=", env.port, " is not a port");
    return env;
}

void Distributed::all_reduce_mean(const std::vector<torch::Tensor>& tensors) {
    if (tensors.empty()) return;
    std::vector<torch::Tensor> flat_parts;
    flat_parts.reserve(tensors.size());
    for (const auto& t : tensors) flat_parts.push_back(t.reshape({-1}));
    std::vector<torch::Tensor> buffer{torch::cat(flat_parts)};
    all_reduce_sum(buffer);
    buffer[0].div_(double(world_size()));
    int64_t offset = 0;
    for (const auto& t : tensors) {
        const int64_t n = t.numel();
        t.copy_(buffer[0].narrow(0, offset, n).view_as(t));
        offset += n;
    }
}

#if defined(FACEGEN_HAVE_GLOO) || defined(FACEGEN_HAVE_NCCL)
namespace {

// LibTorch 2.x split the process group into a front (ProcessGroup) and the backends
// (ProcessGroupGloo/NCCL derive from c10d::Backend); in 1.13 the backends are ProcessGroups.
// Both offer the allreduce/broadcast used here.
#if TORCH_VERSION_MAJOR >= 2
using GroupPtr = c10::intrusive_ptr<c10d::Backend>;
#else
using GroupPtr = c10::intrusive_ptr<c10d::ProcessGroup>;
#endif

class ProcessGroupDistributed : public Distributed {
public:
    ProcessGroupDistributed(GroupPtr group, torch::Device device, int64_t rank,
                            int64_t world_size, std::chrono::milliseconds timeout)
        : group_(std::move(group)), device_(device), rank_(rank), world_size_(world_size), timeout_(timeout) {}
    int64_t rank() const override { return rank_; }
    int64_t world_size() const override { return world_size_; }
    void all_reduce_sum(std::vector<torch::Tensor>& tensors) override {
        run("all-reduce", [&] {
            for (auto& t : tensors) on_group_device(t, [&](std::vector<torch::Tensor>& one) {
                group_->allreduce(one)->wait(timeout_);
            });
        });
    }
    void broadcast(std::vector<torch::Tensor>& tensors) override {
        run("broadcast", [&] {
            for (auto& t : tensors) on_group_device(t, [&](std::vector<torch::Tensor>& one) {
                group_->broadcast(one)->wait(timeout_);
            });
        });
    }

private:
    // NCCL takes only CUDA tensors, but some collectives carry small CPU tensors (loss sums,
    // stop flags): those travel through a copy on the group's device.
    template <typename F>
    void on_group_device(torch::Tensor& t, F&& collective) {
        if (t.device() == device_) {
            std::vector<torch::Tensor> one{t};
            collective(one);
            return;
        }
        std::vector<torch::Tensor> one{t.to(device_)};
        collective(one);
        t.copy_(one[0]);
    }
    template <typename F>
    void run(const char* what, F&& f) {
        try {
            f();
        } catch (const c10::Error& e) {
            throw make_error("distributed training: rank ", rank_, " of ", world_size_, ": ", what,
                             " failed (another process died, or no answer within ", timeout_.count() / 1000.0,
                             " s): ", e.what_without_backtrace());
        } catch (const std::exception& e) {
            throw make_error("distributed training: rank ", rank_, " of ", world_size_, ": ", what,
                             " failed (another process died, or no answer within ", timeout_.count() / 1000.0,
                             " s): ", e.what());
        }
    }
    GroupPtr group_;
    torch::Device device_;
    int64_t rank_, world_size_;
    std::chrono::milliseconds timeout_;
};

}  // namespace
#endif

bool distributed_available(const torch::Device& device) {
#ifdef FACEGEN_HAVE_NCCL
    if (device.is_cuda()) return true;
#endif
#ifdef FACEGEN_HAVE_GLOO
    if (device.is_cpu()) return true;
#endif
    return false;
}

std::unique_ptr<Distributed> connect_distributed(const DistributedEnv& env, const torch::Device& device,
                                                 std::chrono::milliseconds timeout) {
    if (!distributed_available(device))
        throw make_error("distributed training on ", device.str(), " is not available in this build (",
                         device.is_cuda() ? "configure with -DFACEGEN_WITH_NCCL=ON" : "needs c10d Gloo (libgloo-dev)",
                         ")");
#if defined(FACEGEN_HAVE_GLOO) || defined(FACEGEN_HAVE_NCCL)
    try {
        c10d::TCPStoreOptions store_options;
        store_options.port = static_cast<uint16_t>(env.port);
        store_options.isServer = env.rank == 0;
        store_options.numWorkers = static_cast<size_t>(env.world_size);
        store_options.waitWorkers = true;
        store_options.timeout = timeout;
        auto store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_options);
        GroupPtr group;
        torch::Device group_device = torch::kCPU;  // Gloo reduces CPU tensors
#ifdef FACEGEN_HAVE_NCCL
        if (device.is_cuda()) {
            group_device = device;
            auto options = c10d::ProcessGroupNCCL::Options::create();
            options->timeout = timeout;
            group = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, int(env.rank), int(env.world_size), options);
        }
#endif
#ifdef FACEGEN_HAVE_GLOO
        if (!group) {
            auto options = c10d::ProcessGroupGloo::Options::create();
            options->timeout = timeout;
            if (const char* iface = std::getenv("GLOO_SOCKET_IFNAME"); iface != nullptr && *iface != '\0')
                options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(iface));
            else if (env.master_addr == "127.0.0.1" || env.master_addr == "localhost")
                options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
            else
                options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
            group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, int(env.rank), int(env.world_size), options);
        }
#endif
        return std::make_unique<ProcessGroupDistributed>(group, group_device, env.rank, env.world_size, timeout);
    } catch (const c10::Error& e) {
        throw make_error("distributed training: rank ", env.rank, " could not join the job at ", env.master_addr, ":",
                         env.port, ": ", e.what_without_backtrace());
    } catch (const std::exception& e) {
        throw make_error("distributed training: rank ", env.rank, " could not join the job at ", env.master_addr, ":",
                         env.port, ": ", e.what());
    }
#else
    (void)env;
    (void)timeout;
    return nullptr;
#endif
}

namespace {

int free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        throw make_error("launching local processes: cannot open a socket to find a free port: ", std::strerror(errno));
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(fd);
        throw make_error("launching local processes: cannot find a free loopback port: ", std::strerror(errno));
    }
    const int port = ntohs(addr.sin_port);
    ::close(fd);
    return port;
}

volatile std::sig_atomic_t g_terminate_requested = 0;

extern "C" void on_launcher_sigterm(int) { g_terminate_requested = 1; }

int exit_code_of(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
}

}  // namespace

int launch_local_processes(int nproc, const std::vector<std::string>& argv, std::chrono::seconds grace) {
    if (nproc < 1) throw make_error("process count ", nproc, " must be >= 1");
    if (argv.empty()) throw make_error("launching local processes: no command to launch");
    const int port = free_loopback_port();
    std::vector<pid_t> children;
    for (int rank = 0; rank < nproc; ++rank) {
        const pid_t pid = ::fork();
        if (pid < 0) throw make_error("launching local process ", rank, ": fork failed: ", std::strerror(errno));
        if (pid == 0) {
            ::setenv("MASTER_ADDR", "127.0.0.1", 1);
            ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
            ::setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
            ::setenv("RANK", std::to_string(rank).c_str(), 1);
            ::setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
            ::setenv("LOCAL_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
            std::vector<char*> args;
            for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            ::execv("/proc/self/exe", args.data());
            std::_Exit(127);
        }
        children.push_back(pid);
    }
    // Ctrl-C reaches every process of the terminal's group: the children checkpoint and
    // exit, and this parent waits for them instead of dying first. A SIGTERM sent to this
    // parent alone (a job scheduler, `kill PID`) is passed on to the children, which then
    // checkpoint and exit the same way. The handler does not restart waitpid, so the
    // loop sees the request at once.
    const auto old_sigint = ::signal(SIGINT, SIG_IGN);
    struct sigaction terminate_action {}, old_sigterm {};
    terminate_action.sa_handler = on_launcher_sigterm;
    sigemptyset(&terminate_action.sa_mask);
    terminate_action.sa_flags = 0;  // no SA_RESTART
    g_terminate_requested = 0;
    ::sigaction(SIGTERM, &terminate_action, &old_sigterm);
    bool terminate_forwarded = false;
    int first_failure = 0;
    size_t alive = children.size();
    bool stopping = false;
    auto stop_deadline = std::chrono::steady_clock::now();
    while (alive > 0) {
        if (g_terminate_requested && !terminate_forwarded) {
            terminate_forwarded = true;
            for (pid_t c : children)
                if (c > 0) ::kill(c, SIGTERM);
        }
        int status = 0;
        const pid_t pid = ::waitpid(-1, &status, stopping ? WNOHANG : 0);
        if (pid > 0) {
            for (auto& c : children)
                if (c == pid) c = -1;
            --alive;
            const int code = exit_code_of(status);
            if (code != 0 && first_failure == 0) {
                first_failure = code;
                stopping = true;
                stop_deadline = std::chrono::steady_clock::now() + grace;
                for (pid_t c : children)
                    if (c > 0) ::kill(c, SIGTERM);
            }
        } else if (pid == 0) {
            if (std::chrono::steady_clock::now() > stop_deadline) {
                for (pid_t c : children)
                    if (c > 0) ::kill(c, SIGKILL);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        } else if (errno != EINTR) {
            break;
        }
    }
    ::signal(SIGINT, old_sigint);
    ::sigaction(SIGTERM, &old_sigterm, nullptr);
    return first_failure;
}

}  // namespace facegen::train

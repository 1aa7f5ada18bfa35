#pragma once

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace facegen::train {

/// Where this process sits in a data-parallel job, read from the torchrun environment
/// (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK). world_size 1 when unset.
struct DistributedEnv {
    std::string master_addr = "127.0.0.1";
    int port = 29500;
    int64_t rank = 0;
    int64_t world_size = 1;
    int64_t local_rank = 0;
    int64_t local_world_size = 1;  // processes on this machine (torchrun's LOCAL_WORLD_SIZE)
    /// Throws facegen::Error naming a malformed variable.
    static DistributedEnv from_environment();
};

/// Collectives over a c10d process group: Gloo for CPU tensors, NCCL for CUDA tensors
/// (when built with FACEGEN_WITH_NCCL). Every failure (a peer died, a timeout) becomes a
/// facegen::Error that says which rank saw it and why, so no process hangs silently.
class Distributed {
public:
    virtual ~Distributed() = default;
    virtual int64_t rank() const = 0;
    virtual int64_t world_size() const = 0;
    /// Element-wise sum over ranks, in place (any dtype, same shapes on every rank).
    virtual void all_reduce_sum(std::vector<torch::Tensor>& tensors) = 0;
    /// Rank 0's values to every rank, in place.
    virtual void broadcast(std::vector<torch::Tensor>& tensors) = 0;

    /// Averages the tensors over ranks through one flat buffer (one collective).
    void all_reduce_mean(const std::vector<torch::Tensor>& tensors);
};

/// Joins the process group described by `env`; `timeout` bounds every collective and the
/// rendezvous. Throws facegen::Error when this build has no backend for `device` or the
/// rendezvous fails.
std::unique_ptr<Distributed> connect_distributed(const DistributedEnv& env, const torch::Device& device,
                                                 std::chrono::milliseconds timeout);

/// True when this build can run multi-process training on `device`.
bool distributed_available(const torch::Device& device);

/// `--nproc N`: runs `argv` (this program, `--nproc` already removed by the caller) N times
/// with the torchrun variables set for a job on this machine (a free loopback port), waits,
/// and returns the first non-zero exit code. When one process fails the others are
/// stopped (SIGTERM, then SIGKILL after `grace`), so a crash never leaves orphans behind.
int launch_local_processes(int nproc, const std::vector<std::string>& argv,
                           std::chrono::seconds grace = std::chrono::seconds(20));

}  // namespace facegen::train

#pragma once

#include <torch/torch.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "data/pack.h"

namespace facegen::data {

/// Options of the training Loader.
struct LoaderOptions {
    /// Images per batch (per rank). Default: 32
    TORCH_ARG(int64_t, batch_size) = 32;
    /// Which images of the dataset to iterate. Default: train
    TORCH_ARG(SplitSelection, split) = SplitSelection::kTrain;
    /// Mirror augmentation as in the official `--mirror=1`: the epoch holds every image
    /// twice, once as stored and once flipped left-right. Default: false
    TORCH_ARG(bool, x_flip) = false;
    /// Shuffle each epoch with a permutation drawn from (seed, epoch); false keeps index order. Default: true
    TORCH_ARG(bool, shuffle) = true;
    TORCH_ARG(uint64_t, seed) = 0;
    /// Worker threads that copy images into batches. Default: 2
    TORCH_ARG(int64_t, n_threads) = 2;
    /// Batches prepared ahead of the one being consumed. Default: 4
    TORCH_ARG(int64_t, prefetch) = 4;
    /// Distributed training: this process reads every world_size-th item of each epoch's
    /// order, starting at rank. Each rank gets the same number of items per epoch (the
    /// last n_items % world_size of an epoch are dropped). Default: 0 of 1
    TORCH_ARG(int64_t, rank) = 0;
    TORCH_ARG(int64_t, world_size) = 1;
    /// Where batches are delivered. Default: CPU
    TORCH_ARG(torch::Device, device) = torch::kCPU;
};

/// Where a Loader is in its infinite stream: the next item is item `position` of this
/// rank's share of epoch `epoch`. Saved in checkpoints; a Loader started from a state
/// yields bit-exactly the batches the original would have yielded.
struct LoaderState {
    int64_t epoch = 0;
    int64_t position = 0;
    bool operator==(const LoaderState& o) const { return epoch == o.epoch && position == o.position; }
};
nlohmann::json to_json(const LoaderState& state);
LoaderState loader_state_from_json(const nlohmann::json& json);  // throws facegen::Error

struct Batch {
    torch::Tensor images;   // [N, C, H, W] float32 in [-1, 1] (x / 127.5 - 1), on options.device
    torch::Tensor labels;   // [N, n_label_columns] int64, kUnknownLabel where absent, on options.device
    torch::Tensor indices;  // [N] int64: image index in the dataset (CPU)
    torch::Tensor flipped;  // [N] bool: served mirrored (CPU)
    LoaderState state;      // the state after this batch (what to save with a checkpoint taken now)
};

/// Endless, deterministic, prefetching batch stream over a PackedDataset. Batches run
/// across epoch boundaries (a batch may end one epoch and start the next). The content of
/// every batch depends only on (dataset, options without n_threads/prefetch/device, state).
class Loader {
public:
    Loader(std::shared_ptr<const PackedDataset> dataset, LoaderOptions options, LoaderState start = {});
    ~Loader();
    Loader(const Loader&) = delete;
    Loader& operator=(const Loader&) = delete;

    Batch next();
    /// The state the next call to next() continues from.
    LoaderState state() const;
    /// Restarts the stream at `state` (discarding prefetched batches).
    void reset(LoaderState state);
    /// Items this rank sees per epoch.
    int64_t epoch_size() const { return epoch_size_; }
    const LoaderOptions& options() const { return options_; }
    /// The dataset items (index, flipped) of one epoch for this rank, in order. Exposed for tests and audits.
    std::vector<std::pair<int64_t, bool>> epoch_items(int64_t epoch) const;

private:
    struct Prepared {
        torch::Tensor images;  // uint8 on CPU (CUDA target) or float32 (CPU target)
        torch::Tensor labels, indices, flipped;
        LoaderState state;
    };
    void start_workers();
    void stop_workers();
    void worker_loop();
    Prepared prepare(const std::vector<std::pair<int64_t, bool>>& items, LoaderState after) const;
    std::vector<std::pair<int64_t, bool>> plan_next(LoaderState& state);  // under mutex_
    const std::vector<int64_t>& epoch_order(int64_t epoch) const;         // under mutex_

    std::shared_ptr<const PackedDataset> dataset_;
    LoaderOptions options_;
    std::vector<int64_t> selected_;  // dataset indices of the selected split
    int64_t n_items_ = 0;            // selected_ x (2 when x_flip)
    int64_t epoch_size_ = 0;
    torch::Tensor label_table_;      // [n_images, n_columns] int64

    mutable std::mutex mutex_;
    std::condition_variable work_cv_;
    std::condition_variable ready_cv_;
    std::vector<std::thread> workers_;
    bool stopping_ = false;
    std::exception_ptr error_;
    LoaderState consumed_state_;
    LoaderState plan_state_;
    int64_t next_plan_seq_ = 0;
    int64_t next_out_seq_ = 0;
    std::map<int64_t, Prepared> ready_;
    mutable int64_t cached_epoch_ = -1;  // the last epoch's order, computed once
    mutable std::vector<int64_t> cached_order_;
};

}  // namespace facegen::data

#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "model/config.h"
#include "train/options.h"

// A training checkpoint as a file: safetensors with every tensor of the training state
// (networks, optimizers, augmentation, random generators) and metadata holding the format
// and its version, the counters ("state", JSON), the options, both networks' configs, the
// facegen version and a hash of the tensors. What the tensors mean is the Trainer's
// business; this file writes them and reads them back checked. Runs are resumed from
// checkpoints of earlier facegen builds, so what is written here does not change.
namespace facegen::train {

/// A checkpoint read and checked: the format and version, the tensors' hash, the
/// architecture, and the counters the state record must hold (cur_nimg, batch_idx,
/// data.epoch).
struct CheckpointFile {
    std::map<std::string, torch::Tensor> tensors;
    nlohmann::json state;
};

/// Writes `tensors` with `state` and the run's `options` (atomically; parent folders are
/// made).
void write_checkpoint_file(const std::filesystem::path& path, const std::map<std::string, torch::Tensor>& tensors,
                           const nlohmann::json& state, const TrainOptions& options);

/// Reads a checkpoint for a run of `options`' architecture. facegen::Error naming the file
/// for one that is truncated, of another format or version, corrupted (its tensors do not
/// hash to the recorded value), for another architecture, or with a malformed state record.
CheckpointFile read_checkpoint_file(const std::filesystem::path& path, const TrainOptions& options);

/// Checkpoint files of a run folder: <out>/checkpoints/checkpoint-<nimg, 9 digits>.safetensors.
std::filesystem::path checkpoint_path(const std::filesystem::path& out_dir, int64_t cur_nimg);
/// Complete checkpoints in <out>/checkpoints, oldest first (temporary files are ignored).
std::vector<std::filesystem::path> list_checkpoints(const std::filesystem::path& out_dir);
/// "latest" -> the newest checkpoint of out_dir (facegen::Error when there is none);
/// anything else is a checkpoint path.
std::filesystem::path resolve_resume(const std::string& spec, const std::filesystem::path& out_dir);
/// Deletes all but the newest `keep` checkpoints.
void prune_checkpoints(const std::filesystem::path& out_dir, int64_t keep);

}  // namespace facegen::train

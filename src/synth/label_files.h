#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <vector>

#include "synth/balance.h"
#include "synth/record.h"

// The labels of a synthetic dataset in the forms loaders read, each written atomically:
//  labels.csv   file,cell,<one column per balanced group>,age,seed,edited. Integers and
//               class names only, so `facegen dataset build --labels csv:labels.csv` and
//               pandas read it as it is (the scores are in labels.json).
//  labels.json  [{file, cell, classes, seed, edit, scores, phash, nearest, latent_row}]
//  latents.npy  float32 ws [N, num_ws, w_dim], row latent_row of each image: `facegen
//               generate --latents latents.npy` draws the same faces again.
namespace facegen::synth {

void write_labels_csv(const std::filesystem::path& path, const std::vector<ImageRecord>& records, const CellGrid& grid);
void write_labels_json(const std::filesystem::path& path, const std::vector<ImageRecord>& records, const CellGrid& grid);
void write_latents_npy(const std::filesystem::path& path, const std::vector<ImageRecord>& records, int64_t num_ws);

}  // namespace facegen::synth

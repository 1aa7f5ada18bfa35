#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "model/config.h"
#include "train/options.h"

namespace facegen::train {

/// FLOPs per image of one training minibatch for a phase schedule, from the forward
/// counts (model/flops.h): backward = 2x forward (input and weight gradients), 1x when only input
/// gradients are needed, and a double backward (R1, path length) = 2x its first-order
/// graph. Gmain 3G+2D, Dmain G+6D, Greg 6G per path-length image, Dreg 6D.
/// n_steps minibatches with n_greg / n_dreg regularisation phases among them.
double training_flops_per_image(const TrainOptions& options, int64_t n_steps, int64_t n_greg, int64_t n_dreg);

/// Float32 matrix-multiply throughput of this machine with the current thread setting
/// (median of repeated n x n products), GFLOP/s: the roofline the benchmark compares to.
double measure_matmul_gflops(int64_t n = 1024, double min_seconds = 1.0);

struct BenchTrainOptions {
    int64_t resolution = 64;
    int64_t channel_base = 4096;
    int64_t channel_max = 128;
    int64_t map_layers = 2;
    int64_t z_dim = 512;
    int64_t batch = 16;
    int64_t mbstd_group = 4;
    int64_t steps = 8;  // timed minibatches, after 2 warm-up ones; counted from batch 0 as the official tool
    int threads = 2;
    torch::Device device = torch::kCPU;
    std::string precision = "auto";  // as TrainOptions::precision
};

/// Times the training loop (Gmain + Dmain every minibatch, Greg every 4th, Dreg every
/// 16th, style mixing, no augmentation) exactly as the peer script of
/// bench/compare_train.sh times the official code; returns one JSON object (images/s,
/// peak memory, FLOPs per image, roofline fraction, ...).
nlohmann::json run_train_benchmark(const BenchTrainOptions& options);

}  // namespace facegen::train

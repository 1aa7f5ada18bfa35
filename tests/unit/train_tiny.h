#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "test_support.h"
#include "train/image_source.h"
#include "train/options.h"

namespace facegen::train::test {

/// A configuration that trains in milliseconds per minibatch on a CPU: 16x16, 32 channels.
inline TrainOptions tiny_options(int64_t world_size = 1) {
    TrainOptions o;
    o.resolution = 16;
    o.z_dim = 32;
    o.w_dim = 32;
    o.map_layers = 2;
    o.channel_base = 512;
    o.channel_max = 32;
    o.batch = 8;
    o.aug = AugmentMode::None;
    o.kimg = 0.096;
    o.tick_kimg = 0.032;
    o.snap_kimg = 0.032;
    o.image_kimg = 0;
    o.seed = 7;
    o.resolve(world_size);
    return o;
}

inline std::shared_ptr<InMemoryImageSource> tiny_data(const TrainOptions& o, int64_t rank = 0, int64_t world_size = 1,
                                                      int64_t n = 64) {
    return std::make_shared<InMemoryImageSource>(make_blob_images(n, o.resolution, 3, /*seed=*/3),
                                                 o.batch_per_rank(world_size), o.seed, rank, world_size, "synthetic:blobs");
}

/// Fixture of the Trainer tests: a fixed seed, two threads (the CI machine's cores) and a
/// temporary folder for run folders and checkpoints.
class TinyTrainerTest : public ::testing::Test {
protected:
    void SetUp() override {
        torch::manual_seed(0);
        torch::set_num_threads(2);
    }
    facegen::test::TempDir dir_;
};

}  // namespace facegen::train::test

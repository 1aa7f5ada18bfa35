#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "model/generator.h"

namespace facegen::metrics {

/// A finite, randomly addressable set of images that a metric reads range by range, so
/// no metric ever holds a whole set of images in memory.
struct ImageSet {
    std::string description;  // for logs and the JSON report
    int64_t n_images = 0;
    int64_t channels = 3;
    int64_t resolution = 0;
    /// uint8 [count, channels, resolution, resolution] in [0, 255] for images
    /// begin .. begin + count - 1; any device.
    std::function<torch::Tensor(int64_t begin, int64_t count)> read;
};

/// images.read(begin, count), checked against the set's size: a reader that returns another
/// shape is a bug in that reader, reported with the set's description.
torch::Tensor read_images(const ImageSet& images, int64_t begin, int64_t count);

/// Options of the images a generator makes for a metric.
struct GeneratorImagesOptions {
    double truncation_psi = 1.0;  // official metrics use psi = 1 (no truncation)
    uint64_t seed = 0;
    /// Conditional generators (c_dim > 0): labels [M, c_dim] to draw c from uniformly, as
    /// the official draws dataset labels. Required when c_dim > 0.
    torch::Tensor label_pool;
};

/// Image i is G(z_i, c_i) with random noise, where z_i, c_i and the noise depend only on
/// (seed, i): the set is the same whatever the batch size or device. Calls run without
/// gradient; the generator stays on its device.
ImageSet generator_images(model::Generator generator, int64_t n_images, GeneratorImagesOptions options = {});

/// Which images of a packed dataset (src/data) to use.
struct DatasetImagesOptions {
    std::string split = "all";  // "train" | "val" | "all"
    /// 0 = every image of the split; otherwise a random subset (seeded) of this many.
    int64_t max_images = 0;
    uint64_t seed = 0;
};

/// Images of a packed dataset folder. Throws facegen::Error naming the folder when it cannot
/// be opened, when the split is empty or unknown, or when facegen was built without the
/// dataset library. With max_images < split size the subset is random rather than the
/// official "first N", because packed datasets keep their source order (often sorted by
/// age or identity) and a prefix would be biased.
ImageSet dataset_images(const std::filesystem::path& dir, const DatasetImagesOptions& options = {});

/// Images held in memory ([N, C, H, W] uint8); for tests and callers that already have them.
ImageSet tensor_images(torch::Tensor images, std::string description = "tensor");

}  // namespace facegen::metrics

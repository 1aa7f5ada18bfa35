#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace facegen::metrics {

/// Sliced Wasserstein distance between the Laplacian-pyramid patch statistics of two
/// image sets (ProGAN, Karras et al. 2018, sec. 5 and Appendix D; defaults = the official
/// progressive_growing_of_gans metrics/sliced_wasserstein.py).
struct SWDOptions {
    int64_t nhood_size = 7;          // side of the square neighbourhood (descriptor)
    int64_t nhoods_per_image = 128;  // descriptors drawn per image and pyramid level
    int64_t dir_repeats = 4;         // 4 x 128 = 512 random projection directions
    int64_t dirs_per_repeat = 128;
    int64_t min_resolution = 16;     // coarsest pyramid level
    /// Throws facegen::Error naming the bad field.
    void validate() const;
};

/// Pyramid level sizes for images of `resolution`: resolution, resolution/2, ... while
/// >= min_resolution (e.g. 64 -> {64, 32, 16}).
std::vector<int64_t> swd_resolutions(int64_t resolution, int64_t min_resolution = 16);

/// 5-tap binomial blur + 2x decimation with mirrored borders (matches cv2.pyrDown).
/// x: float [N, C, H, W] -> [N, C, ceil(H/2), ceil(W/2)]
torch::Tensor pyramid_down(const torch::Tensor& x);
/// Zero-insertion 2x upsampling + 4x the binomial blur (matches cv2.pyrUp).
/// x: float [N, C, H, W] -> [N, C, 2H, 2W]
torch::Tensor pyramid_up(const torch::Tensor& x);

/// Laplacian pyramid: levels[0] is the finest band-pass level (full resolution), the last
/// level is the low-pass residual. Summing up-sampled levels reconstructs the input.
struct LaplacianPyramid {
    std::vector<torch::Tensor> levels;
};
/// images: [N, C, H, W] (any dtype, converted to float32, values kept as they are)
LaplacianPyramid laplacian_pyramid(const torch::Tensor& images, int64_t n_levels);

/// Normalised descriptors of one image set, one matrix per pyramid level.
struct SWDDescriptors {
    std::vector<int64_t> resolutions;   // level sizes, finest first
    std::vector<torch::Tensor> levels;  // float32 CPU [n_images * nhoods_per_image, C * k * k]
    int64_t n_images = 0;
    int64_t channels = 0;
};

/// Collects random neighbourhood descriptors batch by batch, so only the descriptors of
/// the whole set are held (75 KB per RGB image and level at the defaults), never the
/// images. Neighbourhood positions come from a counter-based hash of (seed, image index,
/// level), so the result does not depend on how the images were batched.
class SWDDescriptorAccumulator {
public:
    SWDDescriptorAccumulator(int64_t resolution, int64_t channels, SWDOptions options = {}, uint64_t seed = 0);
    /// images: [N, channels, resolution, resolution], uint8 or float in [0, 255]; any device.
    void add(const torch::Tensor& images);
    int64_t n_images() const { return n_images_; }
    /// Normalises every level per channel (mean 0, std 1 over all descriptors of the set,
    /// as the official finalize_descriptors) and hands the descriptors over.
    SWDDescriptors finalize();

private:
    int64_t resolution_;
    int64_t channels_;
    SWDOptions options_;
    uint64_t seed_;
    std::vector<int64_t> resolutions_;
    std::vector<std::vector<torch::Tensor>> chunks_;  // [level][batch]
    int64_t n_images_ = 0;
};

/// Random neighbourhoods of one pyramid level: level [N, C, H, W] -> [N * n_per_image, C * k * k].
/// Centres are drawn uniformly with the whole k x k window inside the image; image i of
/// the batch uses hash stream (seed, first_image_index + i, level_index).
torch::Tensor sample_neighbourhoods(const torch::Tensor& level, int64_t nhood_size, int64_t n_per_image,
                                    uint64_t seed, int64_t first_image_index, int64_t level_index);

/// Per-channel standardisation of descriptors [M, C * k * k] in place (population std, as
/// numpy's default), statistics accumulated in float64.
void normalize_descriptors(torch::Tensor& descriptors, int64_t channels);

/// SWD between two descriptor matrices of the same shape [M, D]: mean over
/// dir_repeats x dirs_per_repeat random unit directions of the mean absolute difference of
/// the sorted projections (the 1-D Wasserstein-1 distance between equal-size samples).
double sliced_wasserstein(const torch::Tensor& a, const torch::Tensor& b, int64_t dir_repeats,
                          int64_t dirs_per_repeat, uint64_t seed);

/// SWD per pyramid level, reported x1e3 as in ProGAN's tables.
struct SWDResult {
    std::vector<int64_t> resolutions;
    std::vector<double> swd_x1e3;  // per level, finest first
    double swd_x1e3_avg = 0;
    /// {"swd_64", v}, {"swd_32", v}, ..., {"swd_avg", v}
    std::vector<std::pair<std::string, double>> figures() const;
};

/// Compares two descriptor sets built with the same options and equal image counts.
SWDResult compare_swd(const SWDDescriptors& a, const SWDDescriptors& b, const SWDOptions& options = {},
                      uint64_t seed = 0);

}  // namespace facegen::metrics

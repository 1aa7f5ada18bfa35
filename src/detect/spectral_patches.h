#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "data/image_io.h"

// The patch detector: each 64x64 patch of an image, read at the image's own scale (no
// reduction of the patch), is described by its Fourier power spectrum, where upsampling,
// denoising and decoder layers leave their traces (Durall et al., CVPR 2020; Corvi et al.,
// ICASSP 2023: periodic peaks and a high-frequency fall-off that differ from a camera's),
// and a small network turns those figures into a logit per patch. The image's logit is the
// mean over its patches, and the patch logits make the heat map of `detect --explain`.
namespace facegen::detect {

/// Side of the square patches the detector reads, in the image's own pixels.
inline constexpr int64_t kPatchSide = 64;
/// Distance between neighbouring patches (half a patch: every pixel is read twice or more).
inline constexpr int64_t kPatchStride = 32;
/// Images are first reduced so that their shorter side is at most this (area averaging):
/// the scale the detector was trained at (real training photos are 178-218 px).
inline constexpr int64_t kPatchWorkingSide = 176;
/// Values `spectral_features` returns per patch.
inline constexpr int64_t kSpectralFeatureCount = 16 + 8 + 8 + 6;

/// Spectral figures of patches: float [N, 3, 64, 64] RGB in [0, 255] -> [N, kSpectralFeatureCount].
/// Per patch, for luma and two colour differences: the mean-free, Hann-windowed patch's log
/// power, averaged over rings of spatial frequency (16 rings for luma, 8 per colour
/// difference) and taken relative to that channel's mean, so brightness and contrast do
/// not count; and six luma figures for the periodic traces of 2x upsampling: the power at
/// the Nyquist and half-Nyquist frequencies on and off the axes against their ring.
torch::Tensor spectral_features(const torch::Tensor& patches);

struct SpectralPatchNetOptions {
    /// Hidden units of the network on the features; 0 = logistic regression.
    int64_t hidden = 32;
};

/// Standardised features -> (hidden layer) -> one logit per patch.
class SpectralPatchNetImpl : public torch::nn::Module {
public:
    explicit SpectralPatchNetImpl(SpectralPatchNetOptions options = {});
    /// features: float [N, kSpectralFeatureCount] (spectral_features) -> logits [N].
    torch::Tensor forward(const torch::Tensor& features);
    /// Sets the standardisation (mean and standard deviation per feature) from training features.
    void fit_standardisation(const torch::Tensor& features);
    const SpectralPatchNetOptions& options() const { return options_; }

private:
    SpectralPatchNetOptions options_;
    // Parameters rather than buffers so that they travel in the network file; never trained.
    torch::Tensor feature_mean_, feature_std_;
    torch::nn::Linear hidden_{nullptr}, out_{nullptr};
};
TORCH_MODULE(SpectralPatchNet);

/// The patches of uint8 RGB [H, W, 3] (H, W >= 64) on a grid of stride kPatchStride
/// (the last row and column flush with the edge), as float [rows * cols, 3, 64, 64].
struct PatchGrid {
    torch::Tensor patches;
    int64_t rows = 0;
    int64_t cols = 0;
};
PatchGrid patch_grid(const torch::Tensor& image_hwc);

/// uint8 [H, W, 3] reduced by area averaging so its shorter side is at most kPatchWorkingSide.
torch::Tensor to_working_scale(const torch::Tensor& image_hwc);
/// The same for a decoded image of any size: box-averaged by a whole factor in 8 bits first,
/// so a huge photo never becomes a float tensor of its full size.
torch::Tensor to_working_scale(const data::RgbImage& image);

}  // namespace facegen::detect

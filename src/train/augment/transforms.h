#pragma once

#include <torch/torch.h>

#include <vector>

namespace facegen::train {

/// The executors of the augmentation pipeline, exposed so that a caller (or a test) can
/// run one stage with a known transform. Matrices may be any floating dtype; they are
/// used in double precision and the images keep their dtype.

/// Warps each image by the inverse homogeneous 2D transform g_inv, which maps an output
/// pixel (x, y, 1), in pixel units centred on the image centre, to the input pixel it
/// samples. As in the official pipeline: reflect-pad by the margin the transformed corners
/// need, 2x upsample with the sym6 wavelet low-pass, bilinear grid_sample (zeros padding,
/// align_corners false, double-differentiable), 2x downsample with the same filter, crop.
// images: [N, C, H, W] floating, g_inv: [N, 3, 3] -> [N, C, H, W]
torch::Tensor apply_geometric_transform(const torch::Tensor& images, const torch::Tensor& g_inv);

/// Applies a homogeneous 3D colour transform (out = C[:3, :3] @ rgb + C[:3, 3]); for a
/// single-channel image the mean of the three rows is used, as in the official pipeline.
// images: [N, 3 or 1, H, W], color: [N, 4, 4] -> [N, C, H, W]
torch::Tensor apply_color_transform(const torch::Tensor& images, const torch::Tensor& color);

/// Image-space filtering by the 4-band filter bank built from the sym2 wavelet: the
/// separable filter is sum_b gains[:, b] * bank[b], applied with reflect padding.
// images: [N, C, H, W] with H, W > 21, gains: [N, 4] -> [N, C, H, W]
torch::Tensor apply_band_filter(const torch::Tensor& images, const torch::Tensor& gains);

/// Low-pass decomposition filters of the Daubechies symlets, as published (PyWavelets
/// `pywt.Wavelet('sym6').dec_lo`, reversed to the official StyleGAN2-ADA order).
const std::vector<double>& wavelet_sym2();
const std::vector<double>& wavelet_sym6();

/// The [4, 43] filter bank of apply_band_filter (rows: bands from low to high frequency).
torch::Tensor band_filter_bank(torch::TensorOptions options = torch::kFloat64);

}  // namespace facegen::train

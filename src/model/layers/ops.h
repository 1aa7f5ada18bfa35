#pragma once

#include <torch/torch.h>

#include <cstdint>

// Stateless building blocks of StyleGAN2 written with native differentiable LibTorch ops
// only, so autograd (including double backward for R1 and path-length regularisation)
// works on any device without custom kernels.
namespace facegen::model::layers {

enum class Activation { Linear, LReLU };

/// Default gain of an activation: sqrt(2) for leaky ReLU (He et al. 2015), 1 for linear
/// (official bias_act.py activation_funcs[...].def_gain).
double default_gain(Activation activation);

/// Slope of the leaky ReLU for negative inputs (official bias_act.py: alpha 0.2).
inline constexpr double kLReLUSlope = 0.2;

/// x * rsqrt(mean(x^2 over dim 1) + eps). x: [N, C].
torch::Tensor normalize_2nd_moment(const torch::Tensor& x, double eps = 1e-8);

/// Official bias_act: (x + b along dim 1) -> activation -> * gain -> clamp to +-clamp.
/// b may be undefined; clamp <= 0 disables clamping.
torch::Tensor bias_act(const torch::Tensor& x, const torch::Tensor& b, Activation activation, double gain,
                       double clamp = 0);

/// The [1, 3, 3, 1] binomial low-pass filter of StyleGAN2 (sec. 2 "bilinear filtering",
/// Zhang 2019), as normalised 1-D taps (sum 1); the 2-D filter is their outer product.
torch::Tensor fir_taps(const torch::TensorOptions& options);

/// Official upfirdn2d with the separable filter above: zero-insertion upsampling by `up`,
/// padding (negative = cropping) [x0, x1, y0, y1], FIR filtering with the 2-D filter times
/// `gain`, then keeping every `down`-th pixel. x: [N, C, H, W].
torch::Tensor upfirdn2d(const torch::Tensor& x, int64_t up, int64_t down, int64_t pad_x0, int64_t pad_x1,
                        int64_t pad_y0, int64_t pad_y1, double gain = 1.0);

/// Official upfirdn2d.upsample2d(x, f) for factor 2: [N, C, H, W] -> [N, C, 2H, 2W].
torch::Tensor upsample2d(const torch::Tensor& x);
/// Official upfirdn2d.downsample2d(x, f) for factor 2: [N, C, H, W] -> [N, C, H/2, W/2].
torch::Tensor downsample2d(const torch::Tensor& x);

/// Official conv2d_resample with a 3x3 (or 1x1) correlation `w` [O, I, k, k], padding k/2:
/// up == 2: transposed strided conv + FIR; down == 2: FIR + strided conv (1x1: FIR-decimate
/// then conv). At most one of up/down is 2, the other 1.
torch::Tensor conv2d_resample(const torch::Tensor& x, const torch::Tensor& w, int64_t up, int64_t down);

/// at::conv_transpose2d(x, w.transpose(0, 1), stride 2, padding 0) for a correlation weight
/// w [O, I, kh, kw] (kh, kw >= 2), computed as four stride-1 convolutions, one per output
/// phase: [N, I, H, W] -> [N, O, 2H + kh - 2, 2W + kw - 2]. Differentiable (twice).
torch::Tensor conv_transpose2d_stride2(const torch::Tensor& x, const torch::Tensor& w);

/// Demodulation coefficients of the modulated conv (StyleGAN2 paper eq. 3):
/// rsqrt(sum_{i,k} (s_i w_oik)^2 + eps) computed as (s^2) @ (sum_k w^2)^T without forming
/// the per-sample weights. styles [N, I], weight [O, I, k, k] -> [N, O].
torch::Tensor demodulation_coefficients(const torch::Tensor& styles, const torch::Tensor& weight,
                                        double eps = 1e-8);

/// Modulated convolution (StyleGAN2 paper sec. 2.2) in the non-fused form: the activations
/// are scaled by the styles, convolved with the weight shared by the whole batch, and
/// scaled by the demodulation coefficients. Mathematically identical to the official fused
/// (grouped conv) form, but one batched conv instead of N small ones and the result of a
/// sample never depends on the rest of the batch.
/// x [N, I, H, W], weight [O, I, k, k], styles [N, I], noise [N or 1, 1 or O, H', W'] or
/// undefined (added after demodulation) -> [N, O, H', W'].
torch::Tensor modulated_conv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& styles,
                               const torch::Tensor& noise, int64_t up, bool demodulate);

/// Minibatch standard deviation (Karras et al. 2018, ProGAN sec. 3), official
/// MinibatchStdLayer: groups are formed as x.reshape(G, N/G, ...), i.e. sample i belongs
/// to group i % (N/G). group_size 0 = whole batch; N must be divisible by
/// min(group_size, N). [N, C, H, W] -> [N, C + num_channels, H, W].
torch::Tensor minibatch_stddev(const torch::Tensor& x, int64_t group_size, int64_t num_channels);

}  // namespace facegen::model::layers

#include "model/layers/ops.h"

#include <cmath>

namespace facegen::model::layers {
namespace {

namespace F = torch::nn::functional;

// Channels-last activations (used for inference, see SynthesisBlock) run oneDNN's fast
// convolution kernels on CPU only when the weight has the same layout.
torch::Tensor matching_layout(const torch::Tensor& w, const torch::Tensor& x) {
    if (x.dim() == 4 && x.size(1) > 1 && x.is_contiguous(torch::MemoryFormat::ChannelsLast)) {
        return w.contiguous(torch::MemoryFormat::ChannelsLast);
    }
    return w;
}

// Explicit argument types: conv2d's padding is overloaded (int list / string) in LibTorch 2.x.
torch::Tensor conv(const torch::Tensor& x, const torch::Tensor& w, int64_t stride_y, int64_t stride_x, int64_t pad_y,
                   int64_t pad_x, int64_t groups = 1) {
    const std::vector<int64_t> stride = {stride_y, stride_x};
    const std::vector<int64_t> pad = {pad_y, pad_x};
    const std::vector<int64_t> dilation = {1, 1};
    return at::conv2d(x, matching_layout(w, x), torch::Tensor(), torch::IntArrayRef(stride), torch::IntArrayRef(pad),
                      torch::IntArrayRef(dilation), groups);
}

// In-place arithmetic is only safe when no graph is being recorded (generation).
bool recording_graph() { return torch::GradMode::is_enabled(); }

torch::Tensor channel_view(const torch::Tensor& b, int64_t dim) {
    std::vector<int64_t> shape(static_cast<size_t>(dim), 1);
    shape[1] = -1;
    return b.reshape(shape);
}

// Depthwise FIR along one axis with the taps (flipped: upfirdn2d convolves, conv2d
// correlates), optional stride along that axis.
torch::Tensor fir_pass(const torch::Tensor& x, const torch::Tensor& taps, bool vertical, int64_t stride) {
    const int64_t channels = x.size(1);
    const int64_t n_taps = taps.size(0);
    torch::Tensor weight = taps.flip({0}).reshape(vertical ? std::vector<int64_t>{1, 1, n_taps, 1}
                                                           : std::vector<int64_t>{1, 1, 1, n_taps});
    weight = weight.expand({channels, 1, weight.size(2), weight.size(3)});
    return conv(x, weight, vertical ? stride : 1, vertical ? 1 : stride, 0, 0, /*groups=*/channels);
}

// Kernel taps that feed the `phase` (0: even, 1: odd) outputs of a stride-2 transposed
// convolution along one axis, in correlation order (last tap first).
torch::Tensor phase_taps(int64_t phase, int64_t size, const torch::Device& device) {
    std::vector<int64_t> taps;
    for (int64_t t = phase; t < size; t += 2) taps.insert(taps.begin(), t);
    return torch::tensor(taps, torch::kLong).to(device);
}

}  // namespace

double default_gain(Activation activation) { return activation == Activation::LReLU ? std::sqrt(2.0) : 1.0; }

torch::Tensor normalize_2nd_moment(const torch::Tensor& x, double eps) {
    TORCH_CHECK(x.dim() == 2, "normalize_2nd_moment: expected [N, C], got ", x.sizes());
    return x * (x.square().mean(/*dim=*/1, /*keepdim=*/true) + eps).rsqrt();
}

torch::Tensor bias_act(const torch::Tensor& x, const torch::Tensor& b, Activation activation, double gain,
                       double clamp) {
    TORCH_CHECK(x.dim() >= 2, "bias_act: expected [N, C, ...], got ", x.sizes());
    TORCH_CHECK(!b.defined() || (b.dim() == 1 && b.size(0) == x.size(1)), "bias_act: bias ", b.sizes(),
                " does not match channels of ", x.sizes());
    if (!recording_graph()) {
        torch::Tensor y = b.defined() ? x + channel_view(b.to(x.dtype()), x.dim()) : x.clone();
        if (activation == Activation::LReLU) torch::leaky_relu_(y, kLReLUSlope);
        if (gain != 1.0) y.mul_(gain);
        if (clamp > 0) y.clamp_(-clamp, clamp);
        return y;
    }
    torch::Tensor y = b.defined() ? x + channel_view(b.to(x.dtype()), x.dim()) : x;
    if (activation == Activation::LReLU) y = torch::leaky_relu(y, kLReLUSlope);
    if (gain != 1.0) y = y * gain;
    if (clamp > 0) y = y.clamp(-clamp, clamp);
    return y;
}

torch::Tensor fir_taps(const torch::TensorOptions& options) {
    // [1, 3, 3, 1] normalised so that the 2-D outer product sums to 1.
    return torch::tensor({1.0f, 3.0f, 3.0f, 1.0f}, torch::TensorOptions().dtype(torch::kFloat32)).div_(8.0f).to(options);
}

torch::Tensor upfirdn2d(const torch::Tensor& x, int64_t up, int64_t down, int64_t pad_x0, int64_t pad_x1,
                        int64_t pad_y0, int64_t pad_y1, double gain) {
    TORCH_CHECK(x.dim() == 4, "upfirdn2d: expected x [N, C, H, W], got ", x.sizes());
    TORCH_CHECK(up >= 1 && down >= 1, "upfirdn2d: up and down must be >= 1, got ", up, " and ", down);
    const int64_t n = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
    torch::Tensor y = x;
    if (up > 1) {
        y = y.reshape({n, channels, height, 1, width, 1});
        y = torch::constant_pad_nd(y, {0, up - 1, 0, 0, 0, up - 1});
        y = y.reshape({n, channels, height * up, width * up});
    }
    if (pad_x0 != 0 || pad_x1 != 0 || pad_y0 != 0 || pad_y1 != 0) {
        y = torch::constant_pad_nd(y, {pad_x0, pad_x1, pad_y0, pad_y1});  // negative = crop
    }
    // The 2-D filter is separable: outer(taps, taps) * gain = outer(taps * sqrt(gain), ...).
    const torch::Tensor taps = fir_taps(y.options()) * std::sqrt(gain);
    y = fir_pass(y, taps, /*vertical=*/true, down);
    y = fir_pass(y, taps, /*vertical=*/false, down);
    return y;
}

torch::Tensor upsample2d(const torch::Tensor& x) {
    // Official upsample2d padding for a 4-tap filter and factor 2: [(4+1)/2, (4-2)/2] = [2, 1].
    return upfirdn2d(x, /*up=*/2, /*down=*/1, 2, 1, 2, 1, /*gain=*/4.0);
}

torch::Tensor downsample2d(const torch::Tensor& x) {
    // Official downsample2d padding for a 4-tap filter and factor 2: [(4-1)/2, (4-2)/2] = [1, 1].
    return upfirdn2d(x, /*up=*/1, /*down=*/2, 1, 1, 1, 1);
}

torch::Tensor conv2d_resample(const torch::Tensor& x, const torch::Tensor& w, int64_t up, int64_t down) {
    TORCH_CHECK(x.dim() == 4 && w.dim() == 4 && x.size(1) == w.size(1), "conv2d_resample: x ", x.sizes(),
                " does not match weight ", w.sizes());
    TORCH_CHECK((up == 1 || up == 2) && (down == 1 || down == 2) && !(up == 2 && down == 2),
                "conv2d_resample: unsupported up ", up, " / down ", down);
    const int64_t k = w.size(3);
    const int64_t padding = k / 2;
    constexpr int64_t kTaps = 4;
    if (up == 1 && down == 1) return conv(x, w, 1, 1, padding, padding);
    if (down == 2) {
        const int64_t p0 = padding + (kTaps - 2 + 1) / 2;
        const int64_t p1 = padding + (kTaps - 2) / 2;
        if (k == 1) return conv(upfirdn2d(x, 1, 2, p0, p1, p0, p1), w, 1, 1, 0, 0);
        return conv(upfirdn2d(x, 1, 1, p0, p1, p0, p1), w, 2, 2, 0, 0);
    }
    // up == 2: transposed strided conv, then the FIR with the remaining padding (official
    // conv2d_resample "fast path: upsampling"); the weight is not flipped there.
    const int64_t p0 = padding + (kTaps + 2 - 1) / 2 - (k - 1);
    const int64_t p1 = padding + (kTaps - 2) / 2 - (k - 2);
    const int64_t pt = std::max<int64_t>(std::min(-p0, -p1), 0);
    torch::Tensor y;
    if (k >= 2) {
        y = conv_transpose2d_stride2(x, w);
    } else {
        const std::vector<int64_t> stride = {2, 2}, pad = {0, 0}, output_padding = {0, 0}, dilation = {1, 1};
        y = at::conv_transpose2d(x, w.transpose(0, 1), torch::Tensor(), stride, pad, output_padding, 1, dilation);
    }
    if (pt > 0) y = y.narrow(2, pt, y.size(2) - 2 * pt).narrow(3, pt, y.size(3) - 2 * pt);
    return upfirdn2d(y, 1, 1, p0 + pt, p1 + pt, p0 + pt, p1 + pt, /*gain=*/4.0);
}

torch::Tensor conv_transpose2d_stride2(const torch::Tensor& x, const torch::Tensor& w) {
    TORCH_CHECK(x.dim() == 4 && w.dim() == 4 && x.size(1) == w.size(1) && w.size(2) >= 2 && w.size(3) >= 2,
                "conv_transpose2d_stride2: x ", x.sizes(), " does not match weight ", w.sizes());
    const int64_t n = x.size(0), out_channels = w.size(0), height = x.size(2), width = x.size(3);
    const int64_t kh = w.size(2), kw = w.size(3);
    // Output pixel (2m + a, 2j + b) only sees kernel taps of parity (a, b): each of the four
    // phases is an ordinary convolution of x at its own resolution with its share of the
    // taps. Same FLOPs as the transposed convolution, but the fast direct kernels instead of
    // LibTorch's CPU transposed convolution (im2col + col2im, about 10x slower forward and
    // backward here).
    const int64_t rows = height + (kh + 1) / 2 - 1, cols = width + (kw + 1) / 2 - 1;  // even phase: the longest
    torch::Tensor phase[2][2];
    for (int64_t a = 0; a < 2; ++a) {
        for (int64_t b = 0; b < 2; ++b) {
            const torch::Tensor rows_taps = phase_taps(a, kh, w.device()), cols_taps = phase_taps(b, kw, w.device());
            const torch::Tensor kernel = w.index_select(2, rows_taps).index_select(3, cols_taps);
            phase[a][b] = conv(x, kernel, 1, 1, rows_taps.size(0) - 1, cols_taps.size(0) - 1);
        }
    }
    torch::Tensor y;
    if (recording_graph()) {
        // Interleave differentiably: pad every phase to the even phase's size, stack, reshape.
        const auto padded = [&](const torch::Tensor& p) {
            return torch::constant_pad_nd(p, {0, cols - p.size(3), 0, rows - p.size(2)});
        };
        const torch::Tensor even_rows = torch::stack({padded(phase[0][0]), padded(phase[0][1])}, /*dim=*/-1);
        const torch::Tensor odd_rows = torch::stack({padded(phase[1][0]), padded(phase[1][1])}, /*dim=*/-1);
        y = torch::stack({even_rows, odd_rows}, /*dim=*/3).reshape({n, out_channels, 2 * rows, 2 * cols});
    } else {
        // Generation: write the phases straight into a channels-last result.
        torch::Tensor nhwc = torch::zeros({n, rows, 2, cols, 2, out_channels}, x.options());
        for (int64_t a = 0; a < 2; ++a) {
            for (int64_t b = 0; b < 2; ++b) {
                const torch::Tensor& p = phase[a][b];
                nhwc.select(4, b).select(2, a).narrow(1, 0, p.size(2)).narrow(2, 0, p.size(3)).copy_(p.permute({0, 2, 3, 1}));
            }
        }
        y = nhwc.view({n, 2 * rows, 2 * cols, out_channels}).permute({0, 3, 1, 2});
    }
    return y.narrow(2, 0, 2 * (height - 1) + kh).narrow(3, 0, 2 * (width - 1) + kw);
}

torch::Tensor demodulation_coefficients(const torch::Tensor& styles, const torch::Tensor& weight, double eps) {
    const torch::Tensor weight_energy = weight.square().sum({2, 3});  // [O, I]
    return (torch::matmul(styles.square(), weight_energy.t()) + eps).rsqrt();
}

torch::Tensor modulated_conv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& styles,
                               const torch::Tensor& noise, int64_t up, bool demodulate) {
    const int64_t n = x.size(0);
    TORCH_CHECK(x.dim() == 4 && weight.dim() == 4 && x.size(1) == weight.size(1), "modulated_conv2d: x ",
                x.sizes(), " does not match weight ", weight.sizes());
    TORCH_CHECK(styles.dim() == 2 && styles.size(0) == n && styles.size(1) == weight.size(1),
                "modulated_conv2d: expected styles [", n, ", ", weight.size(1), "], got ", styles.sizes());
    torch::Tensor w = weight, s = styles;
    if (x.scalar_type() != torch::kFloat32 && demodulate) {
        // Reduced precision: scale weight and styles to at most 1 in magnitude (and the
        // weight by 1/sqrt(fan_in)) so the conv output before demodulation cannot overflow
        // float16 (official modulated_conv2d); demodulation cancels these factors exactly.
        const double fan_in = static_cast<double>(weight.size(1) * weight.size(2) * weight.size(3));
        w = weight * (1.0 / std::sqrt(fan_in)) / weight.abs().amax({1, 2, 3}, /*keepdim=*/true);
        s = styles / styles.abs().amax({1}, /*keepdim=*/true);
    }
    torch::Tensor y = x * s.to(x.dtype()).reshape({n, -1, 1, 1});
    y = conv2d_resample(y, w.to(x.dtype()), up, /*down=*/1);
    torch::Tensor coefficients;
    if (demodulate) coefficients = demodulation_coefficients(s, w).to(x.dtype()).reshape({n, -1, 1, 1});
    if (!recording_graph()) {
        if (coefficients.defined()) y.mul_(coefficients);
        if (noise.defined()) y.add_(noise.to(x.dtype()));
        return y;
    }
    if (coefficients.defined() && noise.defined()) return torch::addcmul(noise.to(x.dtype()), y, coefficients);
    if (coefficients.defined()) return y * coefficients;
    if (noise.defined()) return y + noise.to(x.dtype());
    return y;
}

torch::Tensor minibatch_stddev(const torch::Tensor& x, int64_t group_size, int64_t num_channels) {
    TORCH_CHECK(x.dim() == 4, "minibatch_stddev: expected [N, C, H, W], got ", x.sizes());
    const int64_t n = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
    const int64_t group = group_size > 0 ? std::min(group_size, n) : n;
    TORCH_CHECK(n % group == 0, "minibatch_stddev: batch size ", n, " is not divisible by the group size ", group);
    TORCH_CHECK(num_channels > 0 && channels % num_channels == 0, "minibatch_stddev: ", channels,
                " channels are not divisible by num_channels ", num_channels);
    torch::Tensor y = x.reshape({group, -1, num_channels, channels / num_channels, height, width});
    y = y - y.mean(/*dim=*/0);
    y = y.square().mean(/*dim=*/0);
    y = (y + 1e-8).sqrt();
    y = y.mean({2, 3, 4});
    y = y.reshape({-1, num_channels, 1, 1}).repeat({group, 1, height, width});
    return torch::cat({x, y}, /*dim=*/1);
}

}  // namespace facegen::model::layers

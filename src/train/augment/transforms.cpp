#include "train/augment/transforms.h"

#include "train/augment/grid_sample_gradfix.h"

#include <cmath>

namespace facegen::train {
namespace {

// Half the support of the sym6 filter, in input pixels: the geometric executor keeps this
// much extra image on each side through the up/down-sampling so no filter tap reads zeros.
int64_t geom_filter_pad() { return static_cast<int64_t>(wavelet_sym6().size()) / 4; }

torch::Tensor filter_tensor(const std::vector<double>& taps, const torch::Tensor& like) {
    double sum = 0;
    for (double tap : taps) sum += tap;
    std::vector<double> normalised;
    for (double tap : taps) normalised.push_back(tap / sum);  // unit DC gain
    return torch::tensor(normalised, torch::kFloat64).to(like.options());
}

// Correlation along `dim` of x [N, C, H, W] with taps [K] (shared) or [N, C, K] (one filter
// per image and channel), keeping every `stride`-th output. Done as K shifted
// multiply-adds: LibTorch's CPU conv2d is an order of magnitude slower for these 1-channel
// 1D kernels, and this form is differentiable to any order.
torch::Tensor correlate_1d(const torch::Tensor& x, const torch::Tensor& taps, int64_t dim, int64_t stride) {
    const int64_t k = taps.size(-1);
    const int64_t n_out = (x.size(dim) - k) / stride + 1;
    TORCH_CHECK(n_out > 0, "correlate_1d: ", k, " taps do not fit in size ", x.size(dim));
    torch::Tensor y;
    for (int64_t i = 0; i < k; ++i) {
        torch::Tensor tap = taps.select(-1, i);
        if (tap.dim() > 0) tap = tap.unsqueeze(-1).unsqueeze(-1);
        const torch::Tensor term = x.slice(dim, i, i + (n_out - 1) * stride + 1, stride) * tap;
        y = y.defined() ? y + term : term;
    }
    return y;
}

torch::Tensor filter_separable(const torch::Tensor& x, const torch::Tensor& taps, int64_t stride) {
    return correlate_1d(correlate_1d(x, taps, /*dim=*/3, stride), taps, /*dim=*/2, stride);
}

// upfirdn2d with up = 2 and the official upsample2d padding: output is exactly 2H x 2W.
// The filter is applied as a true convolution (flipped) with gain 2 per axis, so that
// upsample-then-downsample with an orthogonal wavelet is the identity.
torch::Tensor upsample_2x(const torch::Tensor& x, const torch::Tensor& taps) {
    const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    const int64_t k = taps.size(0);
    torch::Tensor y = x.reshape({b, c, h, 1, w, 1});
    y = torch::constant_pad_nd(y, {0, 1, 0, 0, 0, 1}).reshape({b, c, h * 2, w * 2});
    const int64_t pad_before = (k + 1) / 2, pad_after = (k - 2) / 2;
    y = torch::constant_pad_nd(y, {pad_before, pad_after, pad_before, pad_after});
    return filter_separable(y, taps.flip({0}) * 2, /*stride=*/1);
}

// upfirdn2d with down = 2 and correlation with the filter; `padding` (negative = crop) is
// on top of the official downsample2d padding, in input pixels.
torch::Tensor downsample_2x(const torch::Tensor& x, const torch::Tensor& taps, int64_t padding) {
    const int64_t k = taps.size(0);
    const int64_t pad_before = padding + (k - 1) / 2, pad_after = padding + (k - 2) / 2;
    const torch::Tensor y = torch::constant_pad_nd(x, {pad_before, pad_after, pad_before, pad_after});
    return filter_separable(y, taps, /*stride=*/2);
}

// [N, 3, 3] double matrices from rows of constants.
torch::Tensor batch_matrix(std::initializer_list<std::initializer_list<double>> rows, int64_t n,
                           const torch::TensorOptions& options) {
    std::vector<double> values;
    for (const auto& row : rows) values.insert(values.end(), row.begin(), row.end());
    const auto size = static_cast<int64_t>(rows.size());
    return torch::tensor(values, torch::kFloat64).to(options).reshape({1, size, -1}).expand({n, size, -1});
}

}  // namespace

const std::vector<double>& wavelet_sym2() {
    // Daubechies' 4-tap wavelet (D4 = sym2) in closed form (Daubechies 1988, "Orthonormal
    // bases of compactly supported wavelets", CPAM 41), low-pass decomposition order.
    static const std::vector<double> taps = [] {
        const double s3 = std::sqrt(3.0), d = 4 * std::sqrt(2.0);
        return std::vector<double>{(1 - s3) / d, (3 - s3) / d, (3 + s3) / d, (1 + s3) / d};
    }();
    return taps;
}

const std::vector<double>& wavelet_sym6() {
    // Least-asymmetric Daubechies wavelet with 6 vanishing moments (symlet 6; Daubechies,
    // "Ten Lectures on Wavelets", SIAM 1992, sec. 8.1.1), low-pass decomposition filter as
    // tabulated by PyWavelets (pywt.Wavelet('sym6').dec_lo). The unit test checks the
    // defining properties: sum sqrt(2), orthogonal to its even shifts, 6 vanishing moments.
    static const std::vector<double> taps = {
        0.015404109327027373, 0.0034907120842174702, -0.11799011114819057, -0.048311742585633,
        0.4910559419267466,   0.787641141030194,     0.3379294217276218,   -0.07263752278646252,
        -0.021060292512300564, 0.04472490177066578,  0.0017677118642428036, -0.007800708325034148,
    };
    return taps;
}

torch::Tensor band_filter_bank(torch::TensorOptions options) {
    // Bands of the dyadic decomposition with H(z) = sym2: band b keeps what the b-th
    // high-pass stage H(-z)H(-1/z)/2 passes after (b - 1) low-pass stages H(z)H(1/z)/2,
    // with upsampling by 2 between stages; band 0 is the remaining low-pass (ADA paper, App. B).
    const std::vector<double>& lo = wavelet_sym2();
    const auto n = static_cast<int64_t>(lo.size());
    auto autocorrelate = [&](double sign) {
        std::vector<double> out(2 * n - 1, 0.0);
        for (int64_t i = 0; i < n; ++i) {
            for (int64_t j = 0; j < n; ++j) {
                const double hi = lo[i] * std::pow(sign, static_cast<double>(i));
                const double hj = lo[n - 1 - j] * std::pow(sign, static_cast<double>(n - 1 - j));
                out[i + j] += hi * hj / 2;
            }
        }
        return out;
    };
    const std::vector<double> lo2 = autocorrelate(1.0), hi2 = autocorrelate(-1.0);
    const int64_t n_bands = 4;
    std::vector<std::vector<double>> bank(n_bands, std::vector<double>{0.0});
    bank[0][0] = 1.0;
    for (int64_t stage = 1; stage < n_bands; ++stage) {
        for (auto& row : bank) {
            std::vector<double> up(row.size() * 2 - 1, 0.0);
            for (size_t i = 0; i < row.size(); ++i) up[2 * i] = row[i];
            std::vector<double> conv(up.size() + lo2.size() - 1, 0.0);
            for (size_t i = 0; i < up.size(); ++i) {
                for (size_t j = 0; j < lo2.size(); ++j) conv[i + j] += up[i] * lo2[j];
            }
            row = conv;
        }
        auto& row = bank[stage];
        const size_t begin = (row.size() - hi2.size()) / 2;
        for (size_t j = 0; j < hi2.size(); ++j) row[begin + j] += hi2[j];
    }
    std::vector<double> flat;
    for (const auto& row : bank) flat.insert(flat.end(), row.begin(), row.end());
    return torch::tensor(flat, torch::kFloat64).reshape({n_bands, -1}).to(options);
}

torch::Tensor apply_geometric_transform(const torch::Tensor& images, const torch::Tensor& g_inv) {
    TORCH_CHECK(images.dim() == 4 && images.is_floating_point(),
                "apply_geometric_transform: expected floating images [N, C, H, W], got ", images.sizes(), " ",
                images.scalar_type());
    const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
    TORCH_CHECK(g_inv.dim() == 3 && g_inv.size(0) == n && g_inv.size(1) == 3 && g_inv.size(2) == 3,
                "apply_geometric_transform: expected g_inv [", n, ", 3, 3], got ", g_inv.sizes());
    TORCH_CHECK(h >= 2 && w >= 2, "apply_geometric_transform: images must be at least 2x2, got ", images.sizes());
    const auto f64 = images.options().dtype(torch::kFloat64);
    torch::Tensor g = g_inv.to(f64);
    const int64_t pad = geom_filter_pad();

    // Padding: how far outside the image the transformed corners reach, plus the filter support.
    const double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
    const torch::Tensor corners = batch_matrix({{-cx, cx, cx, -cx}, {-cy, -cy, cy, cy}, {1, 1, 1, 1}}, 1, f64)[0];
    const torch::Tensor reach = torch::matmul(g, corners).slice(1, 0, 2).permute({1, 0, 2}).flatten(1);  // [xy, N*4]
    torch::Tensor margin = torch::cat({-reach, reach}).amax(1);                                     // x0 y0 x1 y1
    margin = margin + torch::tensor({2 * pad - cx, 2 * pad - cy, 2 * pad - cx, 2 * pad - cy}, f64);
    margin = torch::minimum(margin.clamp_min(0), torch::tensor({w - 1.0, h - 1.0, w - 1.0, h - 1.0}, f64));
    const torch::Tensor margin_host = margin.ceil().to(torch::kCPU);
    const auto m = margin_host.accessor<double, 1>();
    const auto mx0 = static_cast<int64_t>(m[0]), my0 = static_cast<int64_t>(m[1]);
    const auto mx1 = static_cast<int64_t>(m[2]), my1 = static_cast<int64_t>(m[3]);

    torch::Tensor x = at::reflection_pad2d(images, {mx0, mx1, my0, my1});
    auto translate = [&](double tx, double ty) { return batch_matrix({{1, 0, tx}, {0, 1, ty}, {0, 0, 1}}, n, f64); };
    auto scale = [&](double sx, double sy) { return batch_matrix({{sx, 0, 0}, {0, sy, 0}, {0, 0, 1}}, n, f64); };
    g = torch::matmul(translate((mx0 - mx1) / 2.0, (my0 - my1) / 2.0), g);

    const torch::Tensor taps = filter_tensor(wavelet_sym6(), images);
    x = upsample_2x(x, taps);
    g = torch::matmul(torch::matmul(scale(2, 2), g), scale(0.5, 0.5));
    g = torch::matmul(torch::matmul(translate(-0.5, -0.5), g), translate(0.5, 0.5));

    // Normalised grid coordinates of the output (align_corners false) -> of the input.
    const int64_t out_h = (h + pad * 2) * 2, out_w = (w + pad * 2) * 2;
    g = torch::matmul(torch::matmul(scale(2.0 / x.size(3), 2.0 / x.size(2)), g), scale(out_w / 2.0, out_h / 2.0));
    const torch::Tensor grid =
        at::affine_grid_generator(g.slice(1, 0, 2), {n, c, out_h, out_w}, /*align_corners=*/false)
            .to(images.scalar_type());
    x = grid_sample_2d(x, grid);
    return downsample_2x(x, taps, /*padding=*/-pad * 2);
}

torch::Tensor apply_color_transform(const torch::Tensor& images, const torch::Tensor& color) {
    TORCH_CHECK(images.dim() == 4 && images.is_floating_point(),
                "apply_color_transform: expected floating images [N, C, H, W], got ", images.sizes());
    const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
    TORCH_CHECK(c == 3 || c == 1, "apply_color_transform: images must be RGB (3 channels) or L (1 channel), got ",
                images.sizes());
    TORCH_CHECK(color.dim() == 3 && color.size(0) == n && color.size(1) == 4 && color.size(2) == 4,
                "apply_color_transform: expected color [", n, ", 4, 4], got ", color.sizes());
    const torch::Tensor m = color.to(images.options());
    const torch::Tensor x = images.reshape({n, c, h * w});
    torch::Tensor y;
    if (c == 3) {
        y = torch::baddbmm(m.slice(1, 0, 3).slice(2, 3, 4), m.slice(1, 0, 3).slice(2, 0, 3), x);
    } else {
        const torch::Tensor gray = m.slice(1, 0, 3).mean(1, /*keepdim=*/true);  // [N, 1, 4]
        y = x * gray.slice(2, 0, 3).sum(2, /*keepdim=*/true) + gray.slice(2, 3, 4);
    }
    return y.reshape({n, c, h, w});
}

torch::Tensor apply_band_filter(const torch::Tensor& images, const torch::Tensor& gains) {
    TORCH_CHECK(images.dim() == 4 && images.is_floating_point(),
                "apply_band_filter: expected floating images [N, C, H, W], got ", images.sizes());
    const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
    const torch::Tensor bank = band_filter_bank(images.options());
    const int64_t taps = bank.size(1), pad = taps / 2;
    TORCH_CHECK(gains.dim() == 2 && gains.size(0) == n && gains.size(1) == bank.size(0),
                "apply_band_filter: expected gains [", n, ", ", bank.size(0), "], got ", gains.sizes());
    TORCH_CHECK(h > pad && w > pad, "apply_band_filter: images must be larger than ", pad,
                " pixels on each side for the reflect padding of the filter bank, got ", images.sizes());
    const torch::Tensor filter = torch::matmul(gains.to(images.options()), bank).unsqueeze(1).expand({n, c, taps});
    torch::Tensor x = at::reflection_pad2d(images, {pad, pad, pad, pad});
    x = correlate_1d(x, filter, /*dim=*/3, /*stride=*/1);
    x = correlate_1d(x, filter, /*dim=*/2, /*stride=*/1);
    return x;
}

}  // namespace facegen::train

#include "metrics/swd.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/random_stream.h"

namespace facegen::metrics {
namespace {

namespace F = torch::nn::functional;

// Binomial 5-tap kernel [1, 4, 6, 4, 1] / 16 in both directions, as the ProGAN code's
// gaussian_filter (= OpenCV's pyrDown/pyrUp kernel).
torch::Tensor binomial_kernel(int64_t channels, double gain, const torch::TensorOptions& options) {
    const auto taps = torch::tensor({1.0, 4.0, 6.0, 4.0, 1.0}, torch::kDouble) / 16.0;
    const auto kernel = (torch::outer(taps, taps) * gain).to(options);
    return kernel.view({1, 1, 5, 5}).repeat({channels, 1, 1, 1});
}

// Depthwise 5x5 blur with mirrored borders (scipy 'mirror' == OpenCV BORDER_REFLECT_101
// == torch 'reflect').
torch::Tensor blur(const torch::Tensor& x, double gain) {
    const int64_t channels = x.size(1);
    const auto padded = F::pad(x, F::PadFuncOptions({2, 2, 2, 2}).mode(torch::kReflect));
    return F::conv2d(padded, binomial_kernel(channels, gain, x.options()),
                     F::Conv2dFuncOptions().groups(channels));
}

void check_float_nchw(const torch::Tensor& x, const char* what) {
    TORCH_CHECK(x.dim() == 4, what, ": expected [N, C, H, W], got ", x.sizes());
    TORCH_CHECK(x.is_floating_point(), what, ": expected a float tensor, got ", x.scalar_type());
    TORCH_CHECK(x.size(2) >= 3 && x.size(3) >= 3, what, ": expected H, W >= 3, got ", x.sizes());
}

constexpr int64_t kRowsPerChunk = 1 << 16;
constexpr int64_t kDirectionsPerSort = 16;  // bounds the [M, dirs] projection + sort buffers

}  // namespace

void SWDOptions::validate() const {
    if (nhood_size < 1 || nhood_size % 2 == 0)
        throw make_error("SWD nhood_size must be a positive odd number, got ", nhood_size);
    if (nhoods_per_image < 1) throw make_error("SWD nhoods_per_image must be >= 1, got ", nhoods_per_image);
    if (dir_repeats < 1) throw make_error("SWD dir_repeats must be >= 1, got ", dir_repeats);
    if (dirs_per_repeat < 1) throw make_error("SWD dirs_per_repeat must be >= 1, got ", dirs_per_repeat);
    if (min_resolution < nhood_size)
        throw make_error("SWD min_resolution must be >= nhood_size (", nhood_size, "), got ", min_resolution);
}

std::vector<int64_t> swd_resolutions(int64_t resolution, int64_t min_resolution) {
    TORCH_CHECK(min_resolution >= 1, "min_resolution must be >= 1, got ", min_resolution);
    std::vector<int64_t> resolutions;
    for (int64_t res = resolution; res >= min_resolution; res /= 2) resolutions.push_back(res);
    return resolutions;
}

torch::Tensor pyramid_down(const torch::Tensor& x) {
    check_float_nchw(x, "pyramid_down");
    using torch::indexing::None;
    using torch::indexing::Slice;
    return blur(x, /*gain=*/1.0).index({Slice(), Slice(), Slice(None, None, 2), Slice(None, None, 2)});
}

torch::Tensor pyramid_up(const torch::Tensor& x) {
    check_float_nchw(x, "pyramid_up");
    using torch::indexing::None;
    using torch::indexing::Slice;
    auto upsampled = torch::zeros({x.size(0), x.size(1), x.size(2) * 2, x.size(3) * 2}, x.options());
    upsampled.index_put_({Slice(), Slice(), Slice(None, None, 2), Slice(None, None, 2)}, x);
    // Three of four samples are zero, so the blur gain is 4 to keep the mean.
    return blur(upsampled, /*gain=*/4.0);
}

LaplacianPyramid laplacian_pyramid(const torch::Tensor& images, int64_t n_levels) {
    // images: [N, C, H, W]; level l has size H / 2^l.
    TORCH_CHECK(images.dim() == 4, "laplacian_pyramid: expected images [N, C, H, W], got ", images.sizes());
    TORCH_CHECK(n_levels >= 1, "laplacian_pyramid: n_levels must be >= 1, got ", n_levels);
    LaplacianPyramid pyramid;
    pyramid.levels.push_back(images.to(torch::kFloat32));
    for (int64_t level = 1; level < n_levels; ++level) {
        auto coarser = pyramid_down(pyramid.levels.back());
        pyramid.levels.back() = pyramid.levels.back() - pyramid_up(coarser);
        pyramid.levels.push_back(std::move(coarser));
    }
    return pyramid;
}

torch::Tensor sample_neighbourhoods(const torch::Tensor& level, int64_t nhood_size, int64_t n_per_image,
                                    uint64_t seed, int64_t first_image_index, int64_t level_index) {
    // level: [N, C, H, W] -> [N * n_per_image, C * k * k]
    TORCH_CHECK(level.dim() == 4, "sample_neighbourhoods: expected [N, C, H, W], got ", level.sizes());
    const int64_t n = level.size(0), c = level.size(1), h = level.size(2), w = level.size(3);
    const int64_t half = nhood_size / 2;
    TORCH_CHECK(nhood_size >= 1 && nhood_size % 2 == 1, "nhood_size must be odd, got ", nhood_size);
    TORCH_CHECK(h >= nhood_size && w >= nhood_size, "sample_neighbourhoods: level ", level.sizes(),
                " is smaller than the ", nhood_size, "x", nhood_size, " neighbourhood");
    const int64_t area = nhood_size * nhood_size;

    std::vector<int64_t> offsets;
    offsets.reserve(area);
    for (int64_t dy = -half; dy <= half; ++dy)
        for (int64_t dx = -half; dx <= half; ++dx) offsets.push_back(dy * w + dx);

    auto index = torch::empty({n, n_per_image * area}, torch::kInt64);
    auto* out = index.data_ptr<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
        core::RandomStream stream(core::mix_seed(seed, static_cast<uint64_t>(first_image_index + i),
                                     static_cast<uint64_t>(level_index)));
        for (int64_t j = 0; j < n_per_image; ++j) {
            const int64_t y = half + static_cast<int64_t>(stream.next_below(static_cast<uint64_t>(h - 2 * half)));
            const int64_t x = half + static_cast<int64_t>(stream.next_below(static_cast<uint64_t>(w - 2 * half)));
            const int64_t centre = y * w + x;
            for (int64_t o = 0; o < area; ++o) *out++ = centre + offsets[o];
        }
    }
    index = index.to(level.device());
    const auto flat = level.reshape({n, c, h * w});
    const auto gathered = flat.gather(2, index.unsqueeze(1).expand({n, c, n_per_image * area}));
    return gathered.view({n, c, n_per_image, area}).permute({0, 2, 1, 3}).reshape({n * n_per_image, c * area});
}

void normalize_descriptors(torch::Tensor& descriptors, int64_t channels) {
    TORCH_CHECK(descriptors.dim() == 2 && descriptors.is_contiguous(),
                "normalize_descriptors: expected contiguous [M, C * k * k], got ", descriptors.sizes());
    TORCH_CHECK(channels >= 1 && descriptors.size(1) % channels == 0, "normalize_descriptors: ",
                descriptors.size(1), " components do not split into ", channels, " channels");
    const int64_t rows = descriptors.size(0);
    const int64_t per_channel = descriptors.size(1) / channels;
    TORCH_CHECK(rows >= 1, "normalize_descriptors: no descriptors");
    const double count = static_cast<double>(rows * per_channel);
    auto chunk_view = [&](int64_t start) {
        const int64_t len = std::min(kRowsPerChunk, rows - start);
        return descriptors.narrow(0, start, len).view({len, channels, per_channel});
    };
    auto sum = torch::zeros({channels}, torch::kDouble);
    for (int64_t start = 0; start < rows; start += kRowsPerChunk)
        sum += chunk_view(start).to(torch::kDouble).sum(std::vector<int64_t>{0, 2}).cpu();
    const auto mean = sum / count;
    auto squares = torch::zeros({channels}, torch::kDouble);
    const auto mean_on_device = mean.to(descriptors.device()).view({1, channels, 1});
    for (int64_t start = 0; start < rows; start += kRowsPerChunk)
        squares += (chunk_view(start).to(torch::kDouble) - mean_on_device).square().sum(std::vector<int64_t>{0, 2}).cpu();
    auto std = (squares / count).sqrt();
    // A constant channel (std 0) stays at 0 instead of becoming NaN as in the reference.
    std = torch::where(std > 0, std, torch::ones_like(std));
    const auto shift = mean.to(descriptors.options()).view({1, channels, 1});
    const auto scale = std.to(descriptors.options()).view({1, channels, 1});
    for (int64_t start = 0; start < rows; start += kRowsPerChunk) {
        auto view = chunk_view(start);
        view.sub_(shift).div_(scale);
    }
}

SWDDescriptorAccumulator::SWDDescriptorAccumulator(int64_t resolution, int64_t channels, SWDOptions options,
                                                   uint64_t seed)
    : resolution_(resolution), channels_(channels), options_(options), seed_(seed) {
    options_.validate();
    if (resolution < options_.min_resolution)
        throw make_error("SWD needs images of at least ", options_.min_resolution, "x", options_.min_resolution,
                         ", got resolution ", resolution);
    TORCH_CHECK(channels >= 1, "SWD: channels must be >= 1, got ", channels);
    resolutions_ = swd_resolutions(resolution, options_.min_resolution);
    chunks_.resize(resolutions_.size());
}

void SWDDescriptorAccumulator::add(const torch::Tensor& images) {
    // images: [N, channels, resolution, resolution], values in [0, 255]
    TORCH_CHECK(images.dim() == 4 && images.size(1) == channels_ && images.size(2) == resolution_ &&
                    images.size(3) == resolution_,
                "SWD: expected images [N, ", channels_, ", ", resolution_, ", ", resolution_, "], got ",
                images.sizes());
    if (images.size(0) == 0) return;
    torch::NoGradGuard no_grad;
    const auto pyramid = laplacian_pyramid(images, static_cast<int64_t>(resolutions_.size()));
    for (size_t level = 0; level < resolutions_.size(); ++level) {
        chunks_[level].push_back(sample_neighbourhoods(pyramid.levels[level], options_.nhood_size,
                                                       options_.nhoods_per_image, seed_, n_images_,
                                                       static_cast<int64_t>(level))
                                     .to(torch::kCPU, torch::kFloat32)
                                     .contiguous());
    }
    n_images_ += images.size(0);
}

SWDDescriptors SWDDescriptorAccumulator::finalize() {
    TORCH_CHECK(n_images_ > 0, "SWD: no images were added");
    SWDDescriptors result;
    result.resolutions = resolutions_;
    result.n_images = n_images_;
    result.channels = channels_;
    const int64_t dim = channels_ * options_.nhood_size * options_.nhood_size;
    for (auto& chunks : chunks_) {
        // Copy chunk by chunk, freeing each, so the peak is one set plus one batch.
        auto level = torch::empty({n_images_ * options_.nhoods_per_image, dim}, torch::kFloat32);
        int64_t row = 0;
        for (auto& chunk : chunks) {
            level.narrow(0, row, chunk.size(0)).copy_(chunk);
            row += chunk.size(0);
            chunk = torch::Tensor();
        }
        chunks.clear();
        normalize_descriptors(level, channels_);
        result.levels.push_back(std::move(level));
    }
    n_images_ = 0;
    return result;
}

double sliced_wasserstein(const torch::Tensor& a, const torch::Tensor& b, int64_t dir_repeats,
                          int64_t dirs_per_repeat, uint64_t seed) {
    // a, b: [M, D] -> scalar
    TORCH_CHECK(a.dim() == 2 && a.sizes() == b.sizes(), "sliced_wasserstein: expected two [M, D] matrices of ",
                "the same shape, got ", a.sizes(), " and ", b.sizes());
    TORCH_CHECK(a.size(0) >= 1 && a.size(1) >= 1, "sliced_wasserstein: empty input ", a.sizes());
    torch::NoGradGuard no_grad;
    const int64_t dim = a.size(1);
    double total = 0;
    for (int64_t repeat = 0; repeat < dir_repeats; ++repeat) {
        auto dirs = core::gaussian_tensor({dim, dirs_per_repeat}, core::mix_seed(seed, static_cast<uint64_t>(repeat), 0x5d));
        dirs = (dirs / dirs.square().sum(0, /*keepdim=*/true).sqrt()).to(a.options());
        double repeat_sum = 0;
        for (int64_t start = 0; start < dirs_per_repeat; start += kDirectionsPerSort) {
            const auto block = dirs.narrow(1, start, std::min(kDirectionsPerSort, dirs_per_repeat - start));
            const auto proj_a = std::get<0>(a.mm(block).t().contiguous().sort(/*dim=*/-1));
            const auto proj_b = std::get<0>(b.to(a.device()).mm(block).t().contiguous().sort(/*dim=*/-1));
            repeat_sum += (proj_a - proj_b).abs().sum(torch::kDouble).item<double>();
        }
        total += repeat_sum / static_cast<double>(a.size(0) * dirs_per_repeat);
    }
    return total / static_cast<double>(dir_repeats);
}

std::vector<std::pair<std::string, double>> SWDResult::figures() const {
    std::vector<std::pair<std::string, double>> out;
    for (size_t i = 0; i < resolutions.size(); ++i)
        out.emplace_back("swd_" + std::to_string(resolutions[i]), swd_x1e3[i]);
    out.emplace_back("swd_avg", swd_x1e3_avg);
    return out;
}

SWDResult compare_swd(const SWDDescriptors& a, const SWDDescriptors& b, const SWDOptions& options, uint64_t seed) {
    TORCH_CHECK(a.resolutions == b.resolutions && a.levels.size() == b.levels.size() && a.channels == b.channels,
                "compare_swd: descriptor sets have different pyramids or channel counts");
    TORCH_CHECK(!a.levels.empty(), "compare_swd: empty descriptor set");
    if (a.n_images != b.n_images)
        throw make_error("SWD compares sets of equal size, got ", a.n_images, " and ", b.n_images, " images");
    SWDResult result;
    result.resolutions = a.resolutions;
    for (size_t level = 0; level < a.levels.size(); ++level) {
        const double swd = sliced_wasserstein(a.levels[level], b.levels[level], options.dir_repeats,
                                              options.dirs_per_repeat, core::mix_seed(seed, level, 0x51d));
        result.swd_x1e3.push_back(swd * 1e3);
    }
    double sum = 0;
    for (double v : result.swd_x1e3) sum += v;
    result.swd_x1e3_avg = sum / static_cast<double>(result.swd_x1e3.size());
    return result;
}

}  // namespace facegen::metrics

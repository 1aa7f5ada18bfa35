#include "facenet/photo_augment.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "data/image_io.h"

namespace facegen::facenet {
namespace {

namespace F = torch::nn::functional;

void check_image(const torch::Tensor& image) {
    TORCH_CHECK(image.dim() == 3 && image.size(2) == 3 && image.scalar_type() == torch::kUInt8 && image.device().is_cpu(),
                "photo augment: expected uint8 [H, W, 3] on the CPU, got ", image.scalar_type(), " ", image.sizes());
}

torch::Tensor to_nchw_float(const torch::Tensor& image) {
    return image.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32);
}

torch::Tensor to_hwc_uint8(const torch::Tensor& nchw) {
    return nchw.squeeze(0).permute({1, 2, 0}).round().clamp(0, 255).to(torch::kUInt8).contiguous();
}

torch::Tensor resize(const torch::Tensor& nchw, int64_t height, int64_t width) {
    const bool shrinking = height < nchw.size(2) || width < nchw.size(3);
    auto options = F::InterpolateFuncOptions().size(std::vector<int64_t>{height, width});
    if (shrinking) return F::interpolate(nchw, options.mode(torch::kArea));
    return F::interpolate(nchw, options.mode(torch::kBilinear).align_corners(false));
}

double uniform(core::RandomStream& stream, double lo, double hi) { return lo + (hi - lo) * stream.next_uniform(); }

}  // namespace

torch::Tensor jpeg_round_trip(const torch::Tensor& image, int quality) {
    check_image(image);
    if (quality < 1 || quality > 100) throw make_error("JPEG quality ", quality, " is not in 1..100");
    const torch::Tensor pixels = image.contiguous();
    data::RgbImage rgb(pixels.size(1), pixels.size(0));
    std::copy_n(pixels.data_ptr<uint8_t>(), rgb.pixels.size(), rgb.pixels.begin());
    const data::DecodedImage decoded = data::decode_image(data::encode_jpeg(rgb, quality), "jpeg round trip");
    return torch::from_blob(const_cast<uint8_t*>(decoded.image.pixels.data()), {pixels.size(0), pixels.size(1), 3},
                            torch::kUInt8)
        .clone();
}

torch::Tensor resize_round_trip(const torch::Tensor& image, double scale) {
    check_image(image);
    const int64_t h = image.size(0), w = image.size(1);
    const auto small_h = std::max<int64_t>(1, std::lround(static_cast<double>(h) * scale));
    const auto small_w = std::max<int64_t>(1, std::lround(static_cast<double>(w) * scale));
    return to_hwc_uint8(resize(resize(to_nchw_float(image), small_h, small_w).round(), h, w));
}

torch::Tensor gaussian_blur(const torch::Tensor& image, double sigma) {
    check_image(image);
    if (sigma <= 0) return image.clone();
    const int64_t radius = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(3 * sigma)));
    const torch::Tensor offsets = torch::arange(-radius, radius + 1, torch::kFloat32);
    torch::Tensor kernel = torch::exp(-offsets.pow(2) / (2 * sigma * sigma));
    kernel = kernel / kernel.sum();
    torch::Tensor x = to_nchw_float(image);
    const int64_t pad = std::min({radius, x.size(2) - 1, x.size(3) - 1});
    const int64_t k = 2 * pad + 1;
    kernel = kernel.narrow(0, radius - pad, k);
    x = F::pad(x, F::PadFuncOptions({pad, pad, pad, pad}).mode(torch::kReflect));
    x = F::conv2d(x, kernel.view({1, 1, 1, k}).expand({3, 1, 1, k}), F::Conv2dFuncOptions().groups(3));
    x = F::conv2d(x, kernel.view({1, 1, k, 1}).expand({3, 1, k, 1}), F::Conv2dFuncOptions().groups(3));
    return to_hwc_uint8(x);
}

torch::Tensor crop_and_resize(const torch::Tensor& image, int64_t x, int64_t y, int64_t side) {
    check_image(image);
    if (side < 1 || x < 0 || y < 0 || x + side > image.size(1) || y + side > image.size(0)) {
        throw make_error("crop ", side, "x", side, " at (", x, ", ", y, ") does not fit a ", image.size(1), "x",
                         image.size(0), " image");
    }
    const torch::Tensor crop = to_nchw_float(image.narrow(0, y, side).narrow(1, x, side));
    return to_hwc_uint8(resize(crop, image.size(0), image.size(1)));
}

torch::Tensor adjust_colour(const torch::Tensor& image, double brightness, double contrast, double saturation) {
    check_image(image);
    torch::Tensor x = image.to(torch::kFloat32);
    const torch::Tensor weights = torch::tensor({0.299f, 0.587f, 0.114f});
    const torch::Tensor grey = (x * weights).sum(2, /*keepdim=*/true);
    x = grey + (x - grey) * saturation;
    x = grey.mean() + (x - grey.mean()) * contrast;
    x = x + brightness * 255.0;
    return x.round().clamp(0, 255).to(torch::kUInt8).contiguous();
}

nlohmann::json to_json(const AugmentOptions& options) {
    return {{"flip", options.flip},     {"crop", options.crop},     {"colour", options.colour},
            {"blur", options.blur},     {"resize", options.resize}, {"jpeg", options.jpeg}};
}

torch::Tensor augment_for_training(const torch::Tensor& image, core::RandomStream& stream, const AugmentOptions& options) {
    check_image(image);
    torch::Tensor x = image;
    if (stream.next_uniform() < options.flip) x = x.flip(1).contiguous();
    if (stream.next_uniform() < options.crop) {
        const int64_t side = std::lround(static_cast<double>(x.size(0)) * uniform(stream, 0.8, 0.98));
        const auto x0 = static_cast<int64_t>(stream.next_below(static_cast<uint64_t>(x.size(1) - side + 1)));
        const auto y0 = static_cast<int64_t>(stream.next_below(static_cast<uint64_t>(x.size(0) - side + 1)));
        x = crop_and_resize(x, x0, y0, side);
    }
    if (stream.next_uniform() < options.colour) {
        x = adjust_colour(x, uniform(stream, -0.1, 0.1), uniform(stream, 0.8, 1.25), uniform(stream, 0.8, 1.25));
    }
    if (stream.next_uniform() < options.blur) x = gaussian_blur(x, uniform(stream, 0.2, 1.5));
    if (stream.next_uniform() < options.resize) x = resize_round_trip(x, uniform(stream, 0.4, 0.9));
    if (stream.next_uniform() < options.jpeg) x = jpeg_round_trip(x, static_cast<int>(uniform(stream, 40, 95.999)));
    return x;
}

}  // namespace facegen::facenet

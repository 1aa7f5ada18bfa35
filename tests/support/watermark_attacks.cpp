#include "watermark_attacks.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#ifdef FACEGEN_HAVE_DATA_TOOLS
#include "data/image_io.h"
#endif

namespace facegen::test {
namespace {

uint8_t to_byte(double v) { return static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L)); }

}  // namespace

bool jpeg_available() {
#ifdef FACEGEN_HAVE_DATA_TOOLS
    return true;
#else
    return false;
#endif
}

Image8 jpeg_round_trip(const Image8& image, int quality) {
#ifdef FACEGEN_HAVE_DATA_TOOLS
    if (image.channels != 3) throw std::runtime_error("jpeg_round_trip: RGB images only");
    data::RgbImage rgb(image.width, image.height);
    rgb.pixels = image.pixels;
    const data::DecodedImage decoded = data::decode_image(data::encode_jpeg(rgb, quality), "attack.jpg");
    Image8 out(decoded.image.width, decoded.image.height, 3);
    out.pixels = decoded.image.pixels;
    return out;
#else
    (void)image;
    (void)quality;
    throw std::runtime_error("jpeg_round_trip: built without the dataset tools (libjpeg)");
#endif
}

Image8 resize_bilinear(const Image8& image, int64_t width, int64_t height) {
    Image8 out(width, height, image.channels);
    const auto source = [](int64_t i, int64_t out_size, int64_t in_size, int64_t& i0, int64_t& i1, double& frac) {
        const double s = std::clamp((i + 0.5) * static_cast<double>(in_size) / static_cast<double>(out_size) - 0.5, 0.0,
                                    static_cast<double>(in_size - 1));
        i0 = static_cast<int64_t>(s);
        i1 = std::min(i0 + 1, in_size - 1);
        frac = s - static_cast<double>(i0);
    };
    for (int64_t y = 0; y < height; ++y) {
        int64_t y0 = 0, y1 = 0;
        double fy = 0;
        source(y, height, image.height, y0, y1, fy);
        for (int64_t x = 0; x < width; ++x) {
            int64_t x0 = 0, x1 = 0;
            double fx = 0;
            source(x, width, image.width, x0, x1, fx);
            for (int64_t c = 0; c < image.channels; ++c) {
                const auto at = [&](int64_t yy, int64_t xx) { return static_cast<double>(image.pixels[static_cast<size_t>((yy * image.width + xx) * image.channels + c)]); };
                const double v = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1));
                out.pixels[static_cast<size_t>((y * width + x) * image.channels + c)] = to_byte(v);
            }
        }
    }
    return out;
}

Image8 resize_area(const Image8& image, int64_t width, int64_t height) {
    Image8 out(width, height, image.channels);
    const double sx = static_cast<double>(image.width) / static_cast<double>(width);
    const double sy = static_cast<double>(image.height) / static_cast<double>(height);
    std::vector<double> sum(static_cast<size_t>(image.channels));
    for (int64_t y = 0; y < height; ++y) {
        const double y0 = y * sy, y1 = (y + 1) * sy;
        for (int64_t x = 0; x < width; ++x) {
            const double x0 = x * sx, x1 = (x + 1) * sx;
            std::fill(sum.begin(), sum.end(), 0.0);
            double total = 0;
            for (auto yy = static_cast<int64_t>(y0); yy < image.height && static_cast<double>(yy) < y1; ++yy) {
                const double wy = std::min(y1, yy + 1.0) - std::max(y0, static_cast<double>(yy));
                for (auto xx = static_cast<int64_t>(x0); xx < image.width && static_cast<double>(xx) < x1; ++xx) {
                    const double w = wy * (std::min(x1, xx + 1.0) - std::max(x0, static_cast<double>(xx)));
                    if (w <= 0) continue;
                    for (int64_t c = 0; c < image.channels; ++c) {
                        sum[static_cast<size_t>(c)] += w * image.pixels[static_cast<size_t>((yy * image.width + xx) * image.channels + c)];
                    }
                    total += w;
                }
            }
            for (int64_t c = 0; c < image.channels; ++c) {
                out.pixels[static_cast<size_t>((y * width + x) * image.channels + c)] = to_byte(sum[static_cast<size_t>(c)] / total);
            }
        }
    }
    return out;
}

Image8 crop(const Image8& image, int64_t left, int64_t top, int64_t right, int64_t bottom) {
    Image8 out(image.width - left - right, image.height - top - bottom, image.channels);
    for (int64_t y = 0; y < out.height; ++y) {
        const auto* from = image.pixels.data() + ((y + top) * image.width + left) * image.channels;
        std::copy(from, from + out.width * out.channels, out.pixels.data() + y * out.width * out.channels);
    }
    return out;
}

Image8 adjust_brightness(const Image8& image, double gain, double offset) {
    Image8 out = image;
    for (size_t i = 0; i < out.pixels.size(); ++i) {
        if (image.channels == 4 && i % 4 == 3) continue;
        out.pixels[i] = to_byte(image.pixels[i] * gain + offset);
    }
    return out;
}

double psnr(const Image8& a, const Image8& b) {
    double squared = 0;
    for (size_t i = 0; i < a.pixels.size(); ++i) {
        const double d = static_cast<double>(a.pixels[i]) - static_cast<double>(b.pixels[i]);
        squared += d * d;
    }
    const double mse = squared / static_cast<double>(a.pixels.size());
    return mse == 0 ? 99.0 : 10 * std::log10(255.0 * 255.0 / mse);
}

const std::vector<Attack>& standard_attacks() {
    static const std::vector<Attack> attacks = {
        {"none", [](const Image8& i) { return i; }},
        {"jpeg_q75", [](const Image8& i) { return jpeg_round_trip(i, 75); }, true},
        {"resize_half_bilinear", [](const Image8& i) { return resize_bilinear(resize_area(i, i.width / 2, i.height / 2), i.width, i.height); }},
        {"resize_half_area", [](const Image8& i) { return resize_area(resize_area(i, i.width / 2, i.height / 2), i.width, i.height); }},
        {"crop_2px_left", [](const Image8& i) { return crop(i, 2, 0, 0, 0); }},
        {"crop_4px_left", [](const Image8& i) { return crop(i, 4, 0, 0, 0); }},
        {"crop_2px_all_edges", [](const Image8& i) { return crop(i, 2, 2, 2, 2); }},
        {"crop_4px_top_left", [](const Image8& i) { return crop(i, 4, 4, 0, 0); }},
        {"crop_3px_left_right_resized_back", [](const Image8& i) { return resize_bilinear(crop(i, 3, 0, 3, 0), i.width, i.height); }},
        {"crop_4px_all_edges_resized_back", [](const Image8& i) { return resize_bilinear(crop(i, 4, 4, 4, 4), i.width, i.height); }},
        {"crop_2px_top_resized_back_area", [](const Image8& i) { return resize_area(crop(i, 0, 2, 0, 0), i.width, i.height); }},
        {"brightness_plus20", [](const Image8& i) { return adjust_brightness(i, 1.0, 20); }},
        {"brightness_minus20", [](const Image8& i) { return adjust_brightness(i, 1.0, -20); }},
        {"brightness_x0.8", [](const Image8& i) { return adjust_brightness(i, 0.8, 0); }},
        {"brightness_x1.2", [](const Image8& i) { return adjust_brightness(i, 1.2, 0); }},
    };
    return attacks;
}

}  // namespace facegen::test

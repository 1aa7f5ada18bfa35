#include "watermark_attacks.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/random_stream.h"

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

Image8 imagemagick_contrast(const Image8& image, int times) {
    if (image.channels != 3) throw std::runtime_error("imagemagick_contrast: RGB images only");
    Image8 out = image;
    for (size_t p = 0; p < image.pixels.size(); p += 3) {
        double rgb[3] = {image.pixels[p] / 255.0, image.pixels[p + 1] / 255.0, image.pixels[p + 2] / 255.0};
        const double before = std::max({rgb[0], rgb[1], rgb[2]});
        double after = before;
        for (int t = 0; t < times; ++t) after = std::clamp(after + 0.5 * (0.5 * (std::sin(M_PI * (after - 0.5)) + 1) - after), 0.0, 1.0);
        const double scale = before > 0 ? after / before : 0.0;
        for (int c = 0; c < 3; ++c) out.pixels[p + static_cast<size_t>(c)] = to_byte(255.0 * rgb[c] * scale);
    }
    return out;
}

Image8 mirror_horizontally(const Image8& image) {
    Image8 out = image;
    for (int64_t y = 0; y < image.height; ++y) {
        for (int64_t x = 0; x < image.width; ++x) {
            for (int64_t c = 0; c < image.channels; ++c) {
                out.pixels[static_cast<size_t>((y * image.width + x) * image.channels + c)] =
                    image.pixels[static_cast<size_t>((y * image.width + image.width - 1 - x) * image.channels + c)];
            }
        }
    }
    return out;
}

Image8 rotate_expanded(const Image8& image, double degrees) {
    const double angle = degrees * M_PI / 180.0, cos_a = std::cos(angle), sin_a = std::sin(angle);
    const auto grown = [&](int64_t along, int64_t across) {
        auto size = static_cast<int64_t>(std::ceil(along * std::abs(cos_a) + across * std::abs(sin_a) - 1e-9));
        return size + ((size - along) & 1);
    };
    Image8 out(grown(image.width, image.height), grown(image.height, image.width), image.channels);
    const double cx_in = image.width / 2.0, cy_in = image.height / 2.0, cx_out = out.width / 2.0, cy_out = out.height / 2.0;
    for (int64_t y = 0; y < out.height; ++y) {
        for (int64_t x = 0; x < out.width; ++x) {
            // Inverse map: output pixel centre back into the source, clockwise rotation undone.
            const double dx = x + 0.5 - cx_out, dy = y + 0.5 - cy_out;
            const double sx = cos_a * dx + sin_a * dy + cx_in - 0.5, sy = -sin_a * dx + cos_a * dy + cy_in - 0.5;
            const auto x0 = static_cast<int64_t>(std::floor(sx)), y0 = static_cast<int64_t>(std::floor(sy));
            const double fx = sx - x0, fy = sy - y0;
            for (int64_t c = 0; c < image.channels; ++c) {
                const auto at = [&](int64_t yy, int64_t xx) {
                    if (xx < 0 || yy < 0 || xx >= image.width || yy >= image.height) return 255.0;
                    return static_cast<double>(image.pixels[static_cast<size_t>((yy * image.width + xx) * image.channels + c)]);
                };
                const double v = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
                out.pixels[static_cast<size_t>((y * out.width + x) * image.channels + c)] = to_byte(v);
            }
        }
    }
    return out;
}

Image8 add_gaussian_noise(const Image8& image, double sigma, uint64_t seed) {
    core::RandomStream stream(seed);
    Image8 out = image;
    for (size_t i = 0; i < out.pixels.size(); ++i) {
        if (image.channels == 4 && i % 4 == 3) continue;
        out.pixels[i] = to_byte(image.pixels[i] + sigma * stream.next_gaussian());
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
        {"contrast_twice", [](const Image8& i) { return imagemagick_contrast(i, 2); }},
        {"mirror", [](const Image8& i) { return mirror_horizontally(i); }},
        {"rotate_2deg", [](const Image8& i) { return rotate_expanded(i, 2.0); }},
        {"gaussian_noise", [](const Image8& i) { return add_gaussian_noise(i, kImageMagickGaussianSigma, 0x6e6f697365ull); }},
        {"half_size_jpeg_q75", [](const Image8& i) { return jpeg_round_trip(resize_area(i, i.width / 2, i.height / 2), 75); }, true},
    };
    return attacks;
}

}  // namespace facegen::test

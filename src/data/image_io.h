#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace facegen::data {

/// An 8-bit RGB image, rows top to bottom, pixels interleaved (HWC).
struct RgbImage {
    int64_t width = 0;
    int64_t height = 0;
    std::vector<uint8_t> pixels;  // height * width * 3

    RgbImage() = default;
    RgbImage(int64_t w, int64_t h) : width(w), height(h), pixels(static_cast<size_t>(w * h * 3), 0) {}
    uint8_t* at(int64_t x, int64_t y) { return pixels.data() + (y * width + x) * 3; }
    const uint8_t* at(int64_t x, int64_t y) const { return pixels.data() + (y * width + x) * 3; }
    bool empty() const { return width == 0 || height == 0; }
};

enum class ImageFormat { kUnknown, kJPEG, kPNG, kWebP };
std::string to_string(ImageFormat format);
/// Recognises JPEG, PNG and WebP by their first bytes (never by the file name).
ImageFormat sniff_image_format(const std::string& bytes);

struct DecodedImage {
    RgbImage image;
    ImageFormat format = ImageFormat::kUnknown;
    int exif_orientation = 1;          // 1..8 as read (already applied to `image`)
    std::vector<std::string> notes;    // conversions applied: "cmyk", "grayscale", "16-bit", "alpha", "palette"
};

/// Largest image decode_image accepts (~800 MB as RGB), checked from the header before any
/// pixel memory is taken, so a small file claiming a huge image cannot exhaust memory.
inline constexpr uint64_t kMaxDecodedPixels = 1ULL << 28;

/// Decodes JPEG (RGB, grayscale, CMYK/YCCK incl. Adobe-inverted), PNG (any bit depth,
/// palette, grayscale, alpha: composited on white) and WebP into 8-bit RGB, applying the
/// EXIF orientation of JPEGs. Throws facegen::Error "decode '<name>' failed: <reason>" for
/// anything it cannot read; never crashes on broken input.
DecodedImage decode_image(const std::string& bytes, const std::string& name);

/// Applies EXIF orientation `orientation` (1..8) so the image displays upright.
RgbImage apply_exif_orientation(const RgbImage& image, int orientation);

/// Encoders (8-bit RGB), used for previews and by tests.
std::string encode_png(const RgbImage& image);
std::string encode_jpeg(const RgbImage& image, int quality = 95);

}  // namespace facegen::data

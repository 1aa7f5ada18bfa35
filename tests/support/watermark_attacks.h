#pragma once

#include <cstdint>
#include <string>
#include <vector>

// The manipulations a watermark must survive, on 8-bit interleaved images, for
// tests/unit/provenance_watermark_test.cpp and bench/watermark_robustness.cpp.
namespace facegen::test {

/// An 8-bit interleaved image (HWC, rows top to bottom).
struct Image8 {
    int64_t width = 0;
    int64_t height = 0;
    int64_t channels = 3;
    std::vector<uint8_t> pixels;

    Image8() = default;
    Image8(int64_t w, int64_t h, int64_t c) : width(w), height(h), channels(c), pixels(static_cast<size_t>(w * h * c), 0) {}
    uint8_t* data() { return pixels.data(); }
    const uint8_t* data() const { return pixels.data(); }
};

/// True when JPEG attacks can run (the dataset tools, which hold the codec, were built).
bool jpeg_available();
/// Encodes to JPEG at `quality` (libjpeg's standard tables, 4:2:0) and decodes again. RGB
/// only. Throws std::runtime_error when !jpeg_available().
Image8 jpeg_round_trip(const Image8& image, int quality);

/// Bilinear resize, pixel centres aligned (half-pixel convention, as PIL and OpenCV), no
/// anti-aliasing.
Image8 resize_bilinear(const Image8& image, int64_t width, int64_t height);
/// Area-average resize (box filter over each output pixel's footprint; replicates when
/// enlarging by an integer factor).
Image8 resize_area(const Image8& image, int64_t width, int64_t height);
/// Removes `left`, `top`, `right`, `bottom` pixels from the edges.
Image8 crop(const Image8& image, int64_t left, int64_t top, int64_t right, int64_t bottom);
/// value * gain + offset, rounded and clipped to 0..255, on every channel but alpha.
Image8 adjust_brightness(const Image8& image, double gain, double offset);
/// ImageMagick's `-contrast` applied `times` times (a sigmoidal curve on HSB brightness,
/// max(R, G, B): b += 0.5 * (0.5 * (sin(pi * (b - 0.5)) + 1) - b), each pixel's RGB scaled by
/// the new over the old brightness, so hue and saturation stay), rounded to 8 bits once at
/// the end as a single `convert -contrast -contrast` does. RGB only.
Image8 imagemagick_contrast(const Image8& image, int times);
/// Left and right swapped (ImageMagick's -flop).
Image8 mirror_horizontally(const Image8& image);
/// Rotated clockwise by `degrees` about the centre onto a canvas grown to hold all of it
/// (as ImageMagick's -rotate: ceil of the bounding box, grown by one more pixel where needed
/// to keep the original's parity so it stays centred on whole pixels), uncovered corners
/// white; bilinear sampling.
Image8 rotate_expanded(const Image8& image, double degrees);
/// Independent Gaussian noise of `sigma` (8-bit units) on each colour channel, clipped, from
/// a fixed seed. ImageMagick 6.9's `-attenuate 1 +noise Gaussian` measures as sigma 20 on a
/// flat image of any level away from the ends (checked with convert on mid-grey and on
/// rgb(200,100,40)).
Image8 add_gaussian_noise(const Image8& image, double sigma, uint64_t seed);
inline constexpr double kImageMagickGaussianSigma = 20.0;

/// PSNR in dB over all channels (alpha included); images of the same shape.
double psnr(const Image8& a, const Image8& b);

/// A named attack for tables and JSON.
struct Attack {
    std::string name;
    Image8 (*apply)(const Image8&);
    bool needs_jpeg = false;
};
/// The attacks the watermark is measured against: none, jpeg_q75, resize_half_bilinear, resize_half_area,
/// crop_2px_left, crop_4px_left, crop_2px_all_edges, crop_4px_top_left,
/// crop_3px_left_right_resized_back, crop_4px_all_edges_resized_back,
/// crop_2px_top_resized_back_area, brightness_plus20, brightness_minus20, brightness_x0.8,
/// brightness_x1.2; and what re-posters do (ImageMagick equivalents, metadata gone anyway):
/// contrast_twice (-contrast -contrast), mirror (-flop), rotate_2deg (-rotate 2),
/// gaussian_noise (-attenuate 1 +noise Gaussian), half_size_jpeg_q75 (-resize 50% -quality 75,
/// read at half size).
const std::vector<Attack>& standard_attacks();

}  // namespace facegen::test

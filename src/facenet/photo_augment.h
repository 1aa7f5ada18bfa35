#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/random_stream.h"

// What happens to a face photo in the wild: re-encoding, resizing, blur, cropping, colour
// edits. Training on them is what lets a network hold up after a re-save (Wang et al.,
// CNNDetection, 2020: blur + JPEG augmentation for detectors); the detector's evaluation
// applies the watermark's attacks (JPEG 75, half size and back) with the same functions.
// Every function takes and returns 8-bit RGB uint8 [H, W, 3] on the CPU.
namespace facegen::facenet {

/// JPEG encode at `quality` (1-100) and decode again.
torch::Tensor jpeg_round_trip(const torch::Tensor& image, int quality);

/// Resize to `scale` times the size (area averaging down, bilinear up) and back.
torch::Tensor resize_round_trip(const torch::Tensor& image, double scale);

/// Gaussian blur with standard deviation `sigma` pixels (reflect padding).
torch::Tensor gaussian_blur(const torch::Tensor& image, double sigma);

/// The square [y, y + side) x [x, x + side) resized back to the image's size.
torch::Tensor crop_and_resize(const torch::Tensor& image, int64_t x, int64_t y, int64_t side);

/// brightness: added, in units of full scale; contrast and saturation: factors around the
/// mean luma and the pixel's own grey.
torch::Tensor adjust_colour(const torch::Tensor& image, double brightness, double contrast, double saturation);

/// How often each training augmentation applies (each independently).
struct AugmentOptions {
    double flip = 0.5;
    double jpeg = 0.3;     // quality 40-95
    double blur = 0.25;    // sigma 0.2-1.5
    double resize = 0.25;  // scale 0.4-0.9 and back
    double crop = 0.25;    // 80-98% of the side, resized back
    double colour = 0.3;   // brightness +-0.1, contrast and saturation 0.8-1.25
};

/// The probabilities, for training reports.
nlohmann::json to_json(const AugmentOptions& options);

/// One random training augmentation of a square image, drawn from `stream`.
torch::Tensor augment_for_training(const torch::Tensor& image, core::RandomStream& stream,
                                   const AugmentOptions& options = {});

}  // namespace facegen::facenet

#pragma once

#include <cstdint>
#include <vector>

#include "provenance/watermark_analysis.h"

// Edits the reader undoes by trying them, beyond the crops of watermark_analysis.h: a mirror,
// a global contrast curve and a small rotation. The quantised coefficients survive none of
// them as they are (mirroring flips the sign of every odd horizontal frequency; a tone curve
// moves the face's own coefficients by several quantiser steps, measured 3 in 100 marks found
// after ImageMagick's -contrast -contrast; 2 degrees move the corners by 1.6 analysis pixels),
// but each is undone almost exactly once its parameter is known, and the parameters that
// re-posters use are few. The cost stays on the reader's side, and each hypothesis is counted
// in the false-alarm bound (watermark.cpp).
namespace facegen::provenance::detail {

/// Contrast curves tried: ImageMagick's -contrast applied k times (k > 0) or its +contrast
/// -k times (k < 0), an S-curve on HSB brightness (max of R, G, B) that scales the pixel's
/// RGB by the new over the old brightness, as phone and desktop "contrast" sliders do.
inline constexpr int kContrastSteps[] = {1, 2, 3, -1, -2};
/// Rotations tried, degrees (either sign), about the centre, on a canvas grown to hold the
/// rotated image (ImageMagick, GIMP, most editors) or kept at its size (cropped corners).
inline constexpr double kRotationDegrees[] = {0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0};

/// The analysis channel (watermark_analysis.h) of an 8-bit RGB(A) image after undoing
/// `contrast_steps` applications of the contrast curve (negative: its inverse).
std::vector<double> uncontrasted_analysis_channel(const uint8_t* pixels, int64_t width, int64_t height, int64_t channels,
                                                  int contrast_steps);

/// `channel` with left and right swapped.
ReducedChannel mirrored(const ReducedChannel& channel);

/// The 64x64 analysis image of an image rotated clockwise by `degrees` about its centre:
/// the original (original_width x original_height, unknown to the reader, hence a
/// hypothesis) sits centred in the received image, which `channel` holds reduced.
/// Bilinear sampling, edge pixels repeated outside.
std::vector<double> unrotated_analysis_image(const ReducedChannel& channel, int64_t received_width, int64_t received_height,
                                             double original_width, double original_height, double degrees);

/// The original sizes (width, height) a received image rotated by `degrees` may come from:
/// its own size (corners cropped) and the size whose grown canvas it is.
std::vector<std::pair<double, double>> unrotated_sizes(int64_t received_width, int64_t received_height, double degrees);

}  // namespace facegen::provenance::detail

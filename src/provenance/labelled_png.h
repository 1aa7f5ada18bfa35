#pragma once

#include <torch/types.h>

#include <filesystem>
#include <string>

#include "provenance/image_provenance.h"

// The one way a generated image becomes a file: every PNG that generate, edit, project,
// serve or training previews emit passes through here, so none leaves unlabelled.
namespace facegen::provenance {

/// PNG bytes of a generated image (uint8 [H, W, C], C 1-4, CPU) carrying its labels: the
/// invisible watermark in the pixels (when provenance.watermark and both sides are at least
/// kWatermarkMinSide; the caller's tensor is not changed), PNG text chunks and the IPTC
/// "trainedAlgorithmicMedia" XMP packet (png_text_for). A grid carries one mark for the
/// whole sheet. Deterministic: the same pixels and provenance give the same bytes.
std::string encode_labelled_png(const torch::Tensor& pixels, const ImageProvenance& provenance);

/// encode_labelled_png written to `path` atomically; throws facegen::Error naming the path.
/// The pixels as encode_labelled_png stores them: watermarked when `provenance` asks for it
/// and the image is large enough, else unchanged (a copy either way).
torch::Tensor labelled_pixels(const torch::Tensor& pixels, const ImageProvenance& provenance);

/// Whether an image of this size and channel count can carry the watermark (1, 3 or 4
/// channels, sides kWatermarkMinSide to kWatermarkMaxSide).
bool can_watermark(int64_t width, int64_t height, int64_t channels);

void write_labelled_png(const std::filesystem::path& path, const torch::Tensor& pixels,
                        const ImageProvenance& provenance);

}  // namespace facegen::provenance

#pragma once

#include <torch/types.h>

#include <filesystem>
#include <string>

#include "provenance/image_provenance.h"

// The one way a generated image becomes a file: every PNG that generate, edit, project,
// serve or training previews emit passes through here, so none leaves unlabelled.
namespace facegen::provenance {

/// PNG bytes of a generated image (uint8 [H, W, C], C 1-4, CPU) carrying its labels: PNG
/// text chunks and the IPTC "trainedAlgorithmicMedia" XMP packet (png_text_for).
/// Deterministic: the same pixels and provenance give the same bytes.
std::string encode_labelled_png(const torch::Tensor& pixels, const ImageProvenance& provenance);

/// encode_labelled_png written to `path` atomically; throws facegen::Error naming the path.
void write_labelled_png(const std::filesystem::path& path, const torch::Tensor& pixels,
                        const ImageProvenance& provenance);

}  // namespace facegen::provenance

#include "provenance/labelled_png.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/atomic_file.h"
#include "core/png_io.h"
#include "provenance/watermark.h"

namespace facegen::provenance {
namespace {

void check_pixels(const torch::Tensor& pixels) {
    TORCH_CHECK(pixels.dim() == 3 && pixels.scalar_type() == torch::kUInt8 && pixels.device().is_cpu(),
                "encode_labelled_png: expected uint8 pixels [H, W, C] on the CPU, got ", pixels.scalar_type(), " ",
                pixels.sizes(), " on ", pixels.device());
}

/// The provenance as the file states it: the watermark flag cleared where none can be embedded.
ImageProvenance as_embedded(const torch::Tensor& pixels, const ImageProvenance& provenance) {
    ImageProvenance labels = provenance;
    labels.watermark = provenance.watermark && can_watermark(pixels.size(1), pixels.size(0), pixels.size(2));
    return labels;
}

}  // namespace

bool can_watermark(int64_t width, int64_t height, int64_t channels) {
    return std::min(width, height) >= kWatermarkMinSide && std::max(width, height) <= kWatermarkMaxSide &&
           (channels == 1 || channels == 3 || channels == 4);
}

torch::Tensor labelled_pixels(const torch::Tensor& pixels, const ImageProvenance& provenance) {
    check_pixels(pixels);
    torch::Tensor image = pixels.contiguous().clone();
    if (as_embedded(image, provenance).watermark) {
        embed_watermark(image.data_ptr<uint8_t>(), image.size(1), image.size(0), image.size(2),
                        watermark_payload_for(provenance));
    }
    return image;
}

std::string encode_labelled_png(const torch::Tensor& pixels, const ImageProvenance& provenance) {
    check_pixels(pixels);
    const ImageProvenance labels = as_embedded(pixels, provenance);
    const torch::Tensor image = labelled_pixels(pixels, labels);
    return core::encode_png(image.data_ptr<uint8_t>(), image.size(1), image.size(0), image.size(2),
                            png_text_for(labels));
}

void write_labelled_png(const std::filesystem::path& path, const torch::Tensor& pixels,
                        const ImageProvenance& provenance) {
    core::write_file_atomically(path, encode_labelled_png(pixels, provenance));
}

}  // namespace facegen::provenance

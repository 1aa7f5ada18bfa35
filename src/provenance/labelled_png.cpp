#include "provenance/labelled_png.h"

#include <torch/torch.h>

#include "core/atomic_file.h"
#include "core/png_io.h"

namespace facegen::provenance {

std::string encode_labelled_png(const torch::Tensor& pixels, const ImageProvenance& provenance) {
    TORCH_CHECK(pixels.dim() == 3 && pixels.scalar_type() == torch::kUInt8 && pixels.device().is_cpu(),
                "encode_labelled_png: expected uint8 pixels [H, W, C] on the CPU, got ", pixels.scalar_type(), " ",
                pixels.sizes(), " on ", pixels.device());
    const torch::Tensor image = pixels.contiguous();
    return core::encode_png(image.data_ptr<uint8_t>(), image.size(1), image.size(0), image.size(2),
                            png_text_for(provenance));
}

void write_labelled_png(const std::filesystem::path& path, const torch::Tensor& pixels,
                        const ImageProvenance& provenance) {
    core::write_file_atomically(path, encode_labelled_png(pixels, provenance));
}

}  // namespace facegen::provenance

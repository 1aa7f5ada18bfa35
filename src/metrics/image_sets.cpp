#include "metrics/image_sets.h"

#include <sstream>

#include "core/error.h"
#include "core/image_grid.h"
#include "core/random_stream.h"

namespace facegen::metrics {
namespace {

// Stream tags so z, labels and noise of one image never share random numbers.
constexpr uint64_t kStreamZ = 0x7a;
constexpr uint64_t kStreamLabel = 0x63;
constexpr uint64_t kStreamNoise = 0x6e;

}  // namespace

torch::Tensor read_images(const ImageSet& images, int64_t begin, int64_t count) {
    TORCH_CHECK(static_cast<bool>(images.read), "image set '", images.description, "' has no reader");
    const auto batch = images.read(begin, count);
    TORCH_CHECK(batch.dim() == 4 && batch.size(0) == count && batch.size(1) == images.channels &&
                    batch.size(2) == images.resolution && batch.size(3) == images.resolution,
                "image set '", images.description, "' returned ", batch.sizes(), " for ", count, " images, ",
                "expected [", count, ", ", images.channels, ", ", images.resolution, ", ", images.resolution, "]");
    return batch;
}

ImageSet generator_images(model::Generator generator, int64_t n_images, GeneratorImagesOptions options) {
    const auto& config = generator->config();
    if (n_images < 1) throw make_error("number of generated images must be >= 1, got ", n_images);
    if (config.c_dim > 0) {
        if (!options.label_pool.defined() || options.label_pool.dim() != 2 || options.label_pool.size(0) < 1 ||
            options.label_pool.size(1) != config.c_dim)
            throw make_error("the model is conditional (c_dim ", config.c_dim, "): metrics need a label pool [M, ",
                             config.c_dim, "] to draw labels from");
    }
    ImageSet set;
    std::ostringstream description;
    description << "generator (" << config.resolution << "x" << config.resolution << ", psi "
                << options.truncation_psi << ", seed " << options.seed << ")";
    set.description = description.str();
    set.n_images = n_images;
    set.channels = config.img_channels;
    set.resolution = config.resolution;
    set.read = [generator, options, config](int64_t begin, int64_t count) mutable {
        TORCH_CHECK(begin >= 0 && count >= 1, "generator_images: bad range ", begin, " + ", count);
        torch::NoGradGuard no_grad;
        const auto device = generator->w_avg().device();
        auto z = torch::empty({count, config.z_dim}, torch::kFloat32);
        model::SynthesisOptions synthesis;
        synthesis.noise_mode = model::NoiseMode::Random;
        torch::Tensor c;
        std::vector<int64_t> label_rows;
        for (int64_t i = 0; i < count; ++i) {
            const auto index = static_cast<uint64_t>(begin + i);
            z[i].copy_(core::gaussian_tensor({config.z_dim}, core::mix_seed(options.seed, index, kStreamZ)));
            synthesis.noise_seeds.push_back(core::mix_seed(options.seed, index, kStreamNoise));
            if (config.c_dim > 0) {
                core::RandomStream stream(core::mix_seed(options.seed, index, kStreamLabel));
                label_rows.push_back(
                    static_cast<int64_t>(stream.next_below(static_cast<uint64_t>(options.label_pool.size(0)))));
            }
        }
        if (config.c_dim > 0)
            c = options.label_pool.index_select(0, torch::tensor(label_rows, torch::kInt64).to(options.label_pool.device()))
                    .to(device, torch::kFloat32);
        const auto images = generator->forward(z.to(device), c, options.truncation_psi, std::nullopt, synthesis);
        return core::images_to_uint8_nchw(images);
    };
    return set;
}

ImageSet tensor_images(torch::Tensor images, std::string description) {
    TORCH_CHECK(images.dim() == 4 && images.scalar_type() == torch::kUInt8 && images.size(2) == images.size(3),
                "tensor_images: expected square uint8 images [N, C, R, R], got ", images.scalar_type(), " ",
                images.sizes());
    ImageSet set;
    set.description = std::move(description);
    set.n_images = images.size(0);
    set.channels = images.size(1);
    set.resolution = images.size(2);
    set.read = [images](int64_t begin, int64_t count) { return images.narrow(0, begin, count); };
    return set;
}

}  // namespace facegen::metrics

#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>

// The encoder: a small CNN that reads an aligned face and guesses its w in one forward
// pass, so that a projection starts next to the answer and needs tens of optimisation steps
// instead of a thousand (the "encoder then optimise" recipe of Zhu et al. 2020, In-Domain
// GAN Inversion, and of Tov et al. 2021's e4e, made small for a 64x64 model on a CPU).
// An encoder is made for one model: its file records the model id it was trained for.
namespace facegen::project {

struct LatentEncoderOptions {
    LatentEncoderOptions(int64_t resolution, int64_t w_dim) : resolution_(resolution), w_dim_(w_dim) {}
    /// Side of the faces it reads (the model's resolution), a power of two >= 8.
    TORCH_ARG(int64_t, resolution);
    TORCH_ARG(int64_t, w_dim);
    /// Channels of the first (full-resolution) convolution; doubled at every halving up
    /// to channels_max. Default: 32
    TORCH_ARG(int64_t, channels_first) = 32;
    /// Default: 128
    TORCH_ARG(int64_t, channels_max) = 128;
    /// Width of the hidden fully connected layer. Default: 256
    TORCH_ARG(int64_t, hidden) = 256;
};

/// Face [N, 3, R, R] in [-1, 1] -> w [N, w_dim]: strided 3x3 convolutions down to 4x4,
/// then two fully connected layers. The output is an offset from the model's average w
/// (a buffer of the encoder), so that an untrained encoder already answers the average
/// face. No batch statistics: a photo's w never depends on the photos beside it.
class LatentEncoderImpl : public torch::nn::Module {
public:
    explicit LatentEncoderImpl(LatentEncoderOptions options);
    // images [N, 3, R, R] in [-1, 1] -> w [N, w_dim]
    torch::Tensor forward(const torch::Tensor& images);
    const LatentEncoderOptions& options() const { return options_; }

    /// The model's average w [w_dim]; the encoder predicts offsets from it.
    torch::Tensor w_avg;

private:
    LatentEncoderOptions options_;
    torch::nn::Sequential features_{nullptr};
    torch::nn::Linear hidden_{nullptr};
    torch::nn::Linear out_{nullptr};
};
TORCH_MODULE(LatentEncoder);

inline constexpr const char* kEncoderFormat = "facegen-encoder";
inline constexpr int kEncoderFormatVersion = 1;

/// An encoder and what it was made for.
struct EncoderFile {
    LatentEncoder encoder{nullptr};
    std::string model_id;         // the model whose (w, image) pairs trained it
    std::string provenance_json;  // steps, batch, loss, photos, final figures
};

/// Writes the encoder (float32 tensors under their module names, options and model id in
/// the metadata) atomically.
void save_encoder(const std::filesystem::path& path, LatentEncoder& encoder, const std::string& model_id,
                  const std::string& provenance_json);

/// Reads an encoder on `device` in eval mode. Throws facegen::Error naming the file when it
/// is not an encoder file, is damaged, or (when `model_id` is not empty) was made for
/// another model.
EncoderFile load_encoder(const std::filesystem::path& path, const std::string& model_id,
                         torch::Device device = torch::kCPU);

/// Where a model's encoder lives: beside it, "<model stem>.encoder.safetensors".
std::filesystem::path encoder_path_for(const std::filesystem::path& model_path);

}  // namespace facegen::project

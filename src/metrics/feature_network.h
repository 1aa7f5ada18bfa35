#pragma once

#include <torch/script.h>
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>

namespace facegen::metrics {

/// A user-supplied TorchScript feature extractor for FID/KID, normally the official
/// `inception-2015-12-05.pt` (docs/metrics.md says where it comes from). It is called as
/// the official metrics call it: `forward(images, return_features=True)` with uint8
/// images [N, 3, H, W] in [0, 255] at any size (the network resizes to 299 itself),
/// returning float features [N, D] (D = 2048 for Inception's pool3 layer).
class FeatureNetwork {
public:
    /// Loads and probes the network (one call on two small images) so a wrong file fails
    /// here, with a facegen::Error naming the file: missing, not TorchScript, no forward
    /// method accepting `return_features`, or output not [N, expected_feature_dim]
    /// (expected_feature_dim 0 = any D).
    static FeatureNetwork load(const std::filesystem::path& path, int64_t expected_feature_dim = 2048,
                               torch::Device device = torch::kCPU);

    /// images: uint8 [N, C, H, W], C = 1 (repeated to RGB, as the official) or 3 -> float32 CPU [N, D]
    torch::Tensor features(const torch::Tensor& images);
    int64_t feature_dim() const { return feature_dim_; }
    const std::filesystem::path& path() const { return path_; }
    torch::Device device() const { return device_; }

private:
    FeatureNetwork(torch::jit::Module module, std::filesystem::path path, torch::Device device)
        : module_(std::move(module)), path_(std::move(path)), device_(device) {}
    torch::Tensor run(const torch::Tensor& images);

    torch::jit::Module module_;
    std::filesystem::path path_;
    torch::Device device_;
    int64_t feature_dim_ = 0;
};

}  // namespace facegen::metrics

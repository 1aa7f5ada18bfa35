#include "metrics/feature_network.h"

#include "core/error.h"

namespace facegen::metrics {

FeatureNetwork FeatureNetwork::load(const std::filesystem::path& path, int64_t expected_feature_dim,
                                    torch::Device device) {
    if (!std::filesystem::is_regular_file(path))
        throw make_error("feature network '", path.string(), "' not found (FID/KID need the Inception file ",
                         "inception-2015-12-05.pt; see docs/metrics.md)");
    torch::jit::Module module;
    try {
        module = torch::jit::load(path.string(), device);
    } catch (const c10::Error& e) {
        throw make_error("feature network '", path.string(), "' is not a loadable TorchScript module: ",
                         e.what_without_backtrace());
    }
    if (!module.find_method("forward"))
        throw make_error("feature network '", path.string(), "' has no forward method");
    module.eval();
    FeatureNetwork network(std::move(module), path, device);
    const auto probe = torch::zeros({2, 3, 32, 32}, torch::kUInt8);
    torch::Tensor features;
    try {
        features = network.run(probe);
    } catch (const Error&) {
        throw;
    } catch (const c10::Error& e) {
        throw make_error("feature network '", path.string(), "' failed on a probe batch uint8 [2, 3, 32, 32] ",
                         "called as forward(images, return_features=True): ", e.what_without_backtrace());
    } catch (const std::exception& e) {  // argument-matching errors are std::runtime_error
        throw make_error("feature network '", path.string(), "' failed on a probe batch uint8 [2, 3, 32, 32] ",
                         "called as forward(images, return_features=True): ", e.what());
    }
    if (expected_feature_dim > 0 && features.size(1) != expected_feature_dim)
        throw make_error("feature network '", path.string(), "' returns ", features.size(1),
                         "-dimensional features, expected ", expected_feature_dim,
                         " (the official Inception gives 2048)");
    network.feature_dim_ = features.size(1);
    return network;
}

torch::Tensor FeatureNetwork::run(const torch::Tensor& images) {
    torch::NoGradGuard no_grad;
    const int64_t n = images.size(0);
    const auto output = module_.get_method("forward")({images.to(device_)}, {{"return_features", true}});
    if (!output.isTensor())
        throw make_error("feature network '", path_.string(), "' returned ", output.tagKind(), ", expected a tensor");
    const auto features = output.toTensor();
    if (features.dim() != 2 || features.size(0) != n || !features.is_floating_point())
        throw make_error("feature network '", path_.string(), "' returned ", features.scalar_type(), " ",
                         features.sizes(), " for ", n, " images, expected float features [", n, ", D]");
    return features.to(torch::kCPU, torch::kFloat32);
}

torch::Tensor FeatureNetwork::features(const torch::Tensor& images) {
    // images: uint8 [N, C, H, W], C in {1, 3} -> [N, D]
    TORCH_CHECK(images.dim() == 4 && (images.size(1) == 1 || images.size(1) == 3),
                "FeatureNetwork: expected images [N, 1 or 3, H, W], got ", images.sizes());
    TORCH_CHECK(images.scalar_type() == torch::kUInt8, "FeatureNetwork: expected uint8 images, got ",
                images.scalar_type());
    const auto rgb = images.size(1) == 1 ? images.repeat({1, 3, 1, 1}) : images;
    auto features = run(rgb);
    if (feature_dim_ > 0 && features.size(1) != feature_dim_)
        throw make_error("feature network '", path_.string(), "' changed its feature size from ", feature_dim_,
                         " to ", features.size(1));
    return features;
}

}  // namespace facegen::metrics

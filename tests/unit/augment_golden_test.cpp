// Golden: the official StyleGAN2-ADA AugmentPipe on a seeded batch, written by
// scripts/make_augment_fixture.py. Same PyTorch/LibTorch CPU generator and the same draw
// order make both pipelines draw the same augmentations.
#include "train/augment/augment_pipe.h"

#include "test_support.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <fstream>

namespace facegen::train {
namespace {

class AugmentGoldenTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = test::source_dir() / "tests" / "golden" / "data" / "augment";
        std::ifstream in(dir_ / "manifest.json");
        ASSERT_TRUE(in) << "missing fixture " << (dir_ / "manifest.json");
        manifest_ = nlohmann::json::parse(in);
    }

    torch::Tensor load(const std::string& name) const {
        const auto& entry = manifest_.at("tensors").at(name);
        const std::vector<int64_t> shape = entry.at("shape").get<std::vector<int64_t>>();
        torch::Tensor tensor = torch::empty(shape, torch::kFloat32);
        std::ifstream in(dir_ / entry.at("file").get<std::string>(), std::ios::binary);
        in.read(reinterpret_cast<char*>(tensor.data_ptr<float>()), tensor.numel() * sizeof(float));
        EXPECT_TRUE(in) << "short fixture file for " << name;
        return tensor;
    }

    torch::Tensor run_case(const nlohmann::json& c, const torch::Tensor& images) const {
        AugmentPipe pipe(augment_preset(c.at("preset").get<std::string>()));
        pipe->set_p(c.at("p").get<double>());
        torch::manual_seed(c.at("seed").get<uint64_t>());
        return pipe(images);
    }

    std::filesystem::path dir_;
    nlohmann::json manifest_;
};

// Tolerance: float32 resampling through 3 filters plus matrices composed in double here and
// in float32 by the official code; measured max error ~1e-6.
constexpr double kTolerance = 2e-5;

TEST_F(AugmentGoldenTest, EveryPresetMatchesTheOfficialPipeline) {
    const torch::Tensor images = load("input");
    for (const auto& c : manifest_.at("cases")) {
        const std::string name = c.at("name").get<std::string>();
        const torch::Tensor expected = load(name);
        const torch::Tensor got = run_case(c, images);
        EXPECT_LT((got - expected).abs().max().item<double>(), kTolerance) << "case " << name;
    }
}

TEST_F(AugmentGoldenTest, GradientMatchesTheOfficialPipeline) {
    const torch::Tensor images = load("input");
    const torch::Tensor expected = load("bgcfnc_p08_grad");
    for (const auto& c : manifest_.at("cases")) {
        if (c.at("name") != manifest_.at("gradient").at("case")) continue;
        const torch::Tensor x = images.clone().requires_grad_(true);
        const torch::Tensor out = run_case(c, x);
        const torch::Tensor weight = torch::linspace(-1, 1, out.numel()).reshape(out.sizes());
        const torch::Tensor grad = torch::autograd::grad({(out * weight).sum()}, {x})[0];
        EXPECT_LT((grad - expected).abs().max().item<double>(), kTolerance);
        return;
    }
    FAIL() << "gradient case not in the manifest";
}

}  // namespace
}  // namespace facegen::train

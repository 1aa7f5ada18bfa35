// Golden tests: facegen's generator and discriminator against outputs of the official
// StyleGAN2-ADA code (fixtures written by scripts/make_golden_fixtures.py). Tolerance: 1e-3
// max abs difference (the parity requirement on the [-1, 1] image); mapping outputs 1e-4.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/safetensors.h"
#include "model/discriminator.h"
#include "model/model_file.h"
#include "test_support.h"

namespace facegen::model {
namespace {

constexpr double kImageTolerance = 1e-3;
constexpr double kLatentTolerance = 1e-4;

std::filesystem::path fixture(const std::string& name) { return test::source_dir() / "tests" / "golden" / "fixtures" / name; }

class ModelGoldenTest : public ::testing::Test {
protected:
    void expect_close(const std::string& fixture_name, const std::string& what, const torch::Tensor& got,
                      const torch::Tensor& expected, double tolerance) {
        ASSERT_EQ(got.sizes(), expected.sizes()) << fixture_name << " " << what;
        const double diff = (got - expected).abs().max().item<double>();
        EXPECT_LE(diff, tolerance) << fixture_name << ": '" << what << "' diverges from the official by " << diff;
    }

    void check_generator(const std::string& name) {
        torch::InferenceMode guard;
        LoadedModel model = load_model_file(fixture(name + ".model.safetensors"));
        const auto io = core::read_safetensors(fixture(name + ".io.safetensors"));
        const auto& t = io.tensors;
        const double psi = std::stod(io.metadata.at("truncation_psi"));
        const int64_t cutoff = std::stoll(io.metadata.at("truncation_cutoff"));
        const torch::Tensor c = t.count("c") ? t.at("c") : torch::Tensor();
        Generator& g = model.generator;

        const torch::Tensor ws = g->map(t.at("z"), c);
        expect_close(name, "ws", ws, t.at("ws"), kLatentTolerance);
        expect_close(name, "ws_psi", g->map(t.at("z"), c, psi), t.at("ws_psi"), kLatentTolerance);
        expect_close(name, "ws_psi_cutoff", g->map(t.at("z"), c, psi, cutoff), t.at("ws_psi_cutoff"), kLatentTolerance);

        // Synthesis from the official ws, so a mapping error does not mask a synthesis one.
        const SynthesisOptions constant{NoiseMode::Const, {}};
        Intermediates intermediates;
        const torch::Tensor img = g->synthesize(t.at("ws"), constant, &intermediates);
        for (const auto& [key, value] : intermediates) {
            if (t.count(key)) expect_close(name, key, value, t.at(key), kImageTolerance);
        }
        expect_close(name, "img", img, t.at("img"), kImageTolerance);
        expect_close(name, "img_psi", g->synthesize(t.at("ws_psi"), constant), t.at("img_psi"), kImageTolerance);
        expect_close(name, "img_psi_cutoff", g->synthesize(t.at("ws_psi_cutoff"), constant), t.at("img_psi_cutoff"),
                     kImageTolerance);
        expect_close(name, "img_no_noise", g->synthesize(t.at("ws"), {NoiseMode::None, {}}), t.at("img_no_noise"),
                     kImageTolerance);
        expect_close(name, "img_single", g->synthesize(t.at("ws").narrow(0, 0, 1), constant), t.at("img_single"),
                     kImageTolerance);
        // End to end: z -> truncated image.
        expect_close(name, "forward(z, psi)", g->forward(t.at("z"), c, psi, std::nullopt, constant), t.at("img_psi"),
                     kImageTolerance);
    }

    void check_discriminator(const std::string& name) {
        const auto weights = core::read_safetensors(fixture(name + ".weights.safetensors"));
        const auto io = core::read_safetensors(fixture(name + ".io.safetensors"));
        Discriminator d(discriminator_config_from_json(weights.metadata.at("discriminator_config")));
        {
            torch::NoGradGuard no_grad;
            auto params = d->named_parameters();
            for (const auto& [key, value] : weights.tensors) {
                ASSERT_TRUE(params.contains(key)) << "official key " << key << " has no facegen parameter";
                params[key].copy_(value);
            }
            EXPECT_EQ(params.size(), weights.tensors.size());
        }
        torch::InferenceMode guard;
        const auto& t = io.tensors;
        Intermediates intermediates;
        d->forward(t.at("img"), t.count("c") ? t.at("c") : torch::Tensor(), &intermediates);
        for (const auto& [key, value] : t) {
            if (key == "img" || key == "c") continue;
            ASSERT_TRUE(intermediates.count(key)) << name << ": facegen records no '" << key << "'";
            expect_close(name, key, intermediates.at(key), value, kImageTolerance);
        }
    }
};

TEST_F(ModelGoldenTest, GeneratorMatchesOfficial) { check_generator("g_base"); }
TEST_F(ModelGoldenTest, GeneratorWithConvClampMatchesOfficial) { check_generator("g_clamp"); }
TEST_F(ModelGoldenTest, ConditionalGeneratorMatchesOfficial) { check_generator("g_cond"); }
TEST_F(ModelGoldenTest, DiscriminatorMatchesOfficial) { check_discriminator("d_base"); }
TEST_F(ModelGoldenTest, ConditionalDiscriminatorMatchesOfficial) { check_discriminator("d_cond"); }

TEST_F(ModelGoldenTest, FixtureModelIdIsTheContentHash) {
    // The Python writer and the C++ reader agree on the model id definition.
    const auto file = core::read_safetensors(fixture("g_base.model.safetensors"));
    EXPECT_EQ(file.metadata.at("model_id"), model_content_hash(file.tensors));
}

}  // namespace
}  // namespace facegen::model

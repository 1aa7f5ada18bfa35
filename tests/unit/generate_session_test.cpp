// generate::Session on a tiny random model: requests of seeds and latents, truncation,
// batch independence, provenance, and errors that name values rather than CLI flags.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "core/atomic_file.h"
#include "core/error.h"
#include "generate/numpy_rng.h"
#include "generate/session.h"
#include "model/model_file.h"
#include "model/truncation.h"
#include "test_support.h"
#include "tiny_model.h"

namespace facegen::generate {
namespace {

class GenerateSessionTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        model_dir_ = std::make_unique<test::TempDir>();
        model::Generator generator = test::tiny_generator_for_images(/*seed=*/5);
        model::ModelMetadata metadata;
        metadata.license = "test licence";
        model::save_model_file(model_path(), generator, metadata);
    }
    static void TearDownTestSuite() { model_dir_.reset(); }
    static std::filesystem::path model_path() { return *model_dir_ / "tiny.safetensors"; }

    static Request seeds_request(std::vector<uint32_t> seeds, int64_t batch = 8) {
        Request request;
        request.seeds = std::move(seeds);
        request.batch = batch;
        return request;
    }
    static torch::Tensor pixels_of(const std::vector<GeneratedImage>& images) {
        std::vector<torch::Tensor> all;
        for (const auto& image : images) all.push_back(image.pixels);
        return torch::stack(all);
    }

    static inline std::unique_ptr<test::TempDir> model_dir_;
    Session session_{model_path()};
};

TEST_F(GenerateSessionTest, ImagesHaveTheModelsShapeAndProvenance) {
    const auto images = session_.run(seeds_request({7, 3}));
    ASSERT_EQ(images.size(), 2u);
    EXPECT_EQ(images[0].pixels.sizes(), torch::IntArrayRef({16, 16, 3}));
    EXPECT_EQ(images[0].pixels.scalar_type(), torch::kUInt8);
    EXPECT_EQ(images[0].provenance.seed, 7u);
    EXPECT_EQ(images[1].provenance.seed, 3u);
    EXPECT_EQ(images[0].provenance.model_id, session_.metadata().model_id);
    EXPECT_EQ(images[0].provenance.license, "test licence");
    EXPECT_EQ(images[0].provenance.latent_space, "z");
    EXPECT_FALSE(images[0].provenance.latent_index);
    EXPECT_EQ(image_file_name(seeds_request({7, 3}), 0), "seed0007.png");
}

TEST_F(GenerateSessionTest, SameSeedSameImageWhateverTheBatch) {
    const torch::Tensor one_by_one = pixels_of(session_.run(seeds_request({0, 1, 2, 3, 4}, /*batch=*/1)));
    EXPECT_TRUE(one_by_one.equal(pixels_of(session_.run(seeds_request({0, 1, 2, 3, 4}, /*batch=*/2)))));
    EXPECT_TRUE(one_by_one.equal(pixels_of(session_.run(seeds_request({0, 1, 2, 3, 4}, /*batch=*/8)))));
    // ... and whatever else is in the request.
    EXPECT_TRUE(one_by_one[3].equal(session_.run(seeds_request({3}))[0].pixels));
    EXPECT_FALSE(one_by_one[0].equal(one_by_one[1]));
}

TEST_F(GenerateSessionTest, ZLatentsOfSeedsGiveTheSeedsImages) {
    Request request;
    request.latents = Latents{LatentSpace::Z, torch::empty({2, 32}), ""};
    for (int64_t i = 0; i < 2; ++i) {
        const std::vector<double> z = latent_from_seed(static_cast<uint32_t>(10 + i), 32);
        request.latents->values[i].copy_(torch::tensor(z, torch::kFloat64));
    }
    const auto from_latents = session_.run(request);
    EXPECT_TRUE(pixels_of(from_latents).equal(pixels_of(session_.run(seeds_request({10, 11})))));
    EXPECT_EQ(from_latents[1].provenance.latent_index, 1);
    EXPECT_FALSE(from_latents[1].provenance.seed);
    EXPECT_EQ(image_file_name(request, 1), "latent0001.png");
}

TEST_F(GenerateSessionTest, WsOfSeedsRenderTheSeedsImages) {
    Request seeds = seeds_request({4, 5});
    seeds.truncation_psi = 0.6;
    torch::Tensor ws;
    {
        torch::InferenceMode inference;
        ws = session_.ws_for(seeds, 0, 2).clone();
    }
    Request latents;
    latents.latents = Latents{LatentSpace::WS, ws, "ws"};
    const auto images = session_.run(latents);
    EXPECT_TRUE(pixels_of(images).equal(pixels_of(session_.run(seeds))));
    EXPECT_EQ(images[0].provenance.latent_space, "ws");
    EXPECT_EQ(images[0].provenance.truncation_psi, 1.0) << "w and ws latents are not truncated by default";
}

TEST_F(GenerateSessionTest, ExplicitPsiTruncatesWLatentsToo) {
    Request request;
    request.latents = Latents{LatentSpace::W, torch::randn({2, 32}), "w"};
    request.truncation_psi = 0.0;  // every w becomes the average
    const auto images = session_.run(request);
    EXPECT_TRUE(images[0].pixels.equal(images[1].pixels));
    EXPECT_EQ(images[0].provenance.truncation_psi, 0.0);
}

TEST_F(GenerateSessionTest, RecommendedPsiFromTheModelFileIsTheDefault) {
    test::TempDir dir;
    std::filesystem::copy_file(model_path(), dir / "m.safetensors");
    model::set_model_truncation_psi(dir / "m.safetensors", 0.5);
    Session recommending(dir / "m.safetensors");
    EXPECT_EQ(recommending.recommended_truncation_psi(), 0.5);
    EXPECT_EQ(session_.recommended_truncation_psi(), 1.0) << "a file that names no psi: none";
    EXPECT_EQ(recommending.metadata().model_id, session_.metadata().model_id) << "metadata only";

    Request explicit_psi = seeds_request({1, 2});
    explicit_psi.truncation_psi = 0.5;
    const auto by_default = recommending.run(seeds_request({1, 2}));
    EXPECT_EQ(by_default[0].provenance.truncation_psi, 0.5);
    EXPECT_TRUE(pixels_of(by_default).equal(pixels_of(session_.run(explicit_psi))));
    EXPECT_FALSE(pixels_of(by_default).equal(pixels_of(session_.run(seeds_request({1, 2})))));
}

TEST_F(GenerateSessionTest, RandomNoiseIsSeededPerImage) {
    Request request = seeds_request({8, 9}, /*batch=*/2);
    request.noise_mode = model::NoiseMode::Random;
    const torch::Tensor random = pixels_of(session_.run(request));
    EXPECT_TRUE(random.equal(pixels_of(session_.run(request))));
    request.batch = 1;
    EXPECT_TRUE(random.equal(pixels_of(session_.run(request))));
    EXPECT_FALSE(random.equal(pixels_of(session_.run(seeds_request({8, 9})))));
}

TEST_F(GenerateSessionTest, RunEachHandsImagesInOrder) {
    std::vector<int64_t> order;
    session_.run_each(seeds_request({5, 6, 7}, /*batch=*/2),
                      [&](GeneratedImage&& image, int64_t index) {
                          EXPECT_EQ(image.provenance.seed, 5u + static_cast<uint32_t>(index));
                          order.push_back(index);
                      });
    EXPECT_EQ(order, (std::vector<int64_t>{0, 1, 2}));
}

TEST_F(GenerateSessionTest, BadRequestsNameTheValueNotAFlag) {
    auto expect_refused = [&](const Request& request, const std::vector<std::string>& fragments) {
        test::expect_error_mentioning([&] { session_.run(request); }, fragments);
        try {
            session_.check(request);
        } catch (const Error& e) {
            EXPECT_EQ(std::string(e.what()).find("--"), std::string::npos) << e.what();
        }
    };
    expect_refused(Request{}, {"nothing to generate"});
    Request both = seeds_request({1});
    both.latents = Latents{LatentSpace::Z, torch::zeros({1, 32}), ""};
    expect_refused(both, {"seeds or latents"});
    Request psi = seeds_request({1});
    psi.truncation_psi = std::numeric_limits<double>::quiet_NaN();
    expect_refused(psi, {"truncation psi", "nan"});
    Request cutoff = seeds_request({1});
    cutoff.truncation_cutoff = 99;
    expect_refused(cutoff, {"truncation cutoff 99", std::to_string(session_.config().num_ws())});
    expect_refused(seeds_request({1}, /*batch=*/0), {"batch size 0"});
    Request wrong_ws;
    wrong_ws.latents = Latents{LatentSpace::WS, torch::zeros({1, 3, 32}), ""};
    expect_refused(wrong_ws, {"ws latents", "[1, 3, 32]", "num_ws"});
}

TEST_F(GenerateSessionTest, MissingOrConditionalModelIsAClearError) {
    test::expect_error_mentioning([] { Session("/nonexistent/m.safetensors"); },
                                  {"'/nonexistent/m.safetensors'", "no such file"});
    test::TempDir dir;
    model::GeneratorConfig config = test::tiny_generator_config();
    config.c_dim = 3;
    model::Generator conditional(config);
    model::save_model_file(dir / "c.safetensors", conditional, {});
    test::expect_error_mentioning([&] { Session(dir / "c.safetensors"); }, {"class-conditional", "c_dim 3"});
}

TEST(ModelTruncation, PsiOneIsIdentityZeroIsTheAverageAndCutoffKeepsLaterLayers) {
    const torch::Tensor w_avg = torch::randn({4});
    const torch::Tensor ws = torch::randn({2, 3, 4});
    EXPECT_TRUE(model::truncate(ws, w_avg, 1.0).equal(ws));
    EXPECT_TRUE(torch::allclose(model::truncate(ws, w_avg, 0.0), w_avg.expand({2, 3, 4})));
    const torch::Tensor half = model::truncate(ws, w_avg, 0.5);
    EXPECT_TRUE(torch::allclose(half, w_avg + 0.5 * (ws - w_avg), 1e-6, 1e-6));
    const torch::Tensor cut = model::truncate(ws, w_avg, 0.0, /*cutoff=*/1);
    EXPECT_TRUE(torch::allclose(cut.narrow(1, 0, 1), w_avg.expand({2, 1, 4})));
    EXPECT_TRUE(cut.narrow(1, 1, 2).equal(ws.narrow(1, 1, 2)));
    const torch::Tensor w = torch::randn({5, 4});
    EXPECT_TRUE(torch::allclose(model::truncate(w, w_avg, 0.0), w_avg.expand({5, 4})));
    EXPECT_THROW(model::truncate(w, torch::zeros({3}), 0.5), c10::Error);
}

TEST(ModelTruncationPsi, BadValuesAndBadFilesAreRefusedAndLeftAlone) {
    test::TempDir dir;
    model::Generator generator(test::tiny_generator_config());
    model::save_model_file(dir / "m.safetensors", generator, {});
    test::expect_error_mentioning([&] { model::set_model_truncation_psi(dir / "m.safetensors", 7.0); },
                                  {"m.safetensors", "truncation psi 7"});
    EXPECT_FALSE(model::load_model_file(dir / "m.safetensors").metadata.truncation_psi);
    const std::string junk = "not a model at all";
    core::write_file_atomically(dir / "junk.safetensors", junk);
    EXPECT_THROW(model::set_model_truncation_psi(dir / "junk.safetensors", 0.7), Error);
    EXPECT_EQ(core::read_file(dir / "junk.safetensors"), junk);
    model::set_model_truncation_psi(dir / "m.safetensors", 0.7);
    EXPECT_EQ(model::load_model_file(dir / "m.safetensors").metadata.truncation_psi, 0.7);
}

}  // namespace
}  // namespace facegen::generate

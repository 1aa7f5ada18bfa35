#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/safetensors.h"
#include "model/model_file.h"
#include "test_support.h"

namespace facegen::model {
namespace {

GeneratorConfig tiny_config() {
    GeneratorConfig config;
    config.z_dim = 8;
    config.w_dim = 8;
    config.resolution = 16;
    config.channel_base = 128;
    config.channel_max = 8;
    config.n_mapping_layers = 2;
    return config;
}

DiscriminatorConfig tiny_d_config() {
    DiscriminatorConfig config;
    config.resolution = 16;
    config.channel_base = 128;
    config.channel_max = 8;
    return config;
}

ModelMetadata make_metadata(const std::string& license, const std::string& provenance, const std::string& description) {
    ModelMetadata metadata;
    metadata.license = license;
    metadata.provenance_json = provenance;
    metadata.description = description;
    return metadata;
}

class ModelFileTest : public ::testing::Test {
protected:
    void SetUp() override { torch::manual_seed(11); }

    std::filesystem::path save_tiny(const std::string& name, torch::Dtype dtype = torch::kFloat32,
                                    Discriminator* d = nullptr) {
        Generator g(tiny_config());
        const auto path = dir_ / name;
        save_model_file(path, g, make_metadata("test licence", R"({"dataset": "none"})", "tiny"), dtype, d);
        return path;
    }

    void expect_error(const std::filesystem::path& path, const std::string& fragment, bool with_discriminator = false) {
        try {
            load_model_file(path, torch::kCPU, with_discriminator);
            FAIL() << "expected an error mentioning '" << fragment << "'";
        } catch (const Error& e) {
            const std::string message = e.what();
            EXPECT_NE(message.find(fragment), std::string::npos) << message;
            EXPECT_NE(message.find(path.filename().string()), std::string::npos) << message;
        }
    }

    // Rewrites a saved model with a modification of its tensors / metadata.
    std::filesystem::path rewrite(const std::filesystem::path& source, const std::string& name,
                                  const std::function<void(core::SafetensorsFile&)>& change) {
        core::SafetensorsFile file = core::read_safetensors(source);
        change(file);
        const auto path = dir_ / name;
        core::write_safetensors(path, file.tensors, file.metadata);
        return path;
    }

    test::TempDir dir_;
};

TEST_F(ModelFileTest, Float32RoundTripIsExact) {
    Generator g(tiny_config());
    {
        torch::NoGradGuard no_grad;
        g->mapping()->w_avg.normal_();
    }
    const auto path = dir_ / "m.safetensors";
    const std::string id = save_model_file(path, g, make_metadata("lic", R"({"a": 1})", "desc"));
    LoadedModel loaded = load_model_file(path);
    EXPECT_EQ(loaded.config, tiny_config());
    EXPECT_EQ(loaded.metadata.model_id, id);
    EXPECT_EQ(id.size(), 16u);
    EXPECT_EQ(loaded.metadata.license, "lic");
    EXPECT_EQ(loaded.metadata.description, "desc");
    EXPECT_EQ(loaded.metadata.provenance_json, R"({"a": 1})");
    EXPECT_FALSE(loaded.metadata.created.empty());
    EXPECT_EQ(loaded.format_version, 1);
    torch::InferenceMode guard;
    const torch::Tensor z = torch::randn({2, 8});
    const auto options = SynthesisOptions{NoiseMode::Const, {}};
    EXPECT_TRUE(torch::equal(g->forward(z, {}, 0.5, std::nullopt, options),
                             loaded.generator->forward(z, {}, 0.5, std::nullopt, options)));
}

TEST_F(ModelFileTest, Float16RoundTripIsClose) {
    Generator g(tiny_config());
    const auto path = dir_ / "half.safetensors";
    save_model_file(path, g, {}, torch::kFloat16);
    EXPECT_EQ(core::read_safetensors(path).tensors.at("mapping.fc0.weight").scalar_type(), torch::kFloat16);
    LoadedModel loaded = load_model_file(path);
    torch::InferenceMode guard;
    const torch::Tensor z = torch::randn({2, 8});
    const auto options = SynthesisOptions{NoiseMode::Const, {}};
    const torch::Tensor a = g->forward(z, {}, 1.0, std::nullopt, options);
    const torch::Tensor b = loaded.generator->forward(z, {}, 1.0, std::nullopt, options);
    EXPECT_LT((a - b).abs().max().item<float>(), 0.05f);
    EXPECT_EQ(loaded.generator->named_parameters()["mapping.fc0.weight"].scalar_type(), torch::kFloat32);
}

TEST_F(ModelFileTest, ModelIdIsContentHash) {
    Generator g(tiny_config());
    const std::string a = save_model_file(dir_ / "a.safetensors", g, {});
    const std::string b = save_model_file(dir_ / "b.safetensors", g, make_metadata("other licence", "{}", "other"));
    EXPECT_EQ(a, b);
    {
        torch::NoGradGuard no_grad;
        g->named_parameters()["synthesis.b4.const"].add_(1.0);
    }
    EXPECT_NE(save_model_file(dir_ / "c.safetensors", g, {}), a);
}

TEST_F(ModelFileTest, ForeignSafetensorsIsRejected) {
    const auto path = dir_ / "foreign.safetensors";
    core::write_safetensors(path, {{"weight", torch::ones({2})}}, {{"format", "pt"}});
    expect_error(path, "not a facegen model file");
}

TEST_F(ModelFileTest, WrongShapeIsNamed) {
    const auto path = rewrite(save_tiny("m.safetensors"), "shape.safetensors", [](core::SafetensorsFile& f) {
        f.tensors["synthesis.b8.conv0.weight"] = torch::zeros({4, 4, 3, 3});
    });
    expect_error(path, "tensor 'synthesis.b8.conv0.weight' has shape [4, 4, 3, 3], expected [8, 8, 3, 3] for the declared config");
}

TEST_F(ModelFileTest, MissingAndUnknownTensors) {
    const auto source = save_tiny("m.safetensors");
    expect_error(rewrite(source, "missing.safetensors", [](core::SafetensorsFile& f) { f.tensors.erase("mapping.w_avg"); }),
                 "tensor 'mapping.w_avg' is missing");
    expect_error(rewrite(source, "unknown.safetensors",
                         [](core::SafetensorsFile& f) { f.tensors["synthesis.b32.conv0.weight"] = torch::zeros({1}); }),
                 "unknown tensor 'synthesis.b32.conv0.weight'");
    // Official derived constants are tolerated.
    const auto with_filter = rewrite(source, "filter.safetensors", [](core::SafetensorsFile& f) {
        f.tensors["synthesis.b8.resample_filter"] = torch::ones({4, 4});
    });
    EXPECT_NO_THROW(load_model_file(with_filter));
}

TEST_F(ModelFileTest, BadDtypeConfigAndVersion) {
    const auto source = save_tiny("m.safetensors");
    expect_error(rewrite(source, "dtype.safetensors",
                         [](core::SafetensorsFile& f) { f.tensors["mapping.w_avg"] = torch::zeros({8}, torch::kInt32); }),
                 "dtype I32");
    expect_error(rewrite(source, "config.safetensors",
                         [](core::SafetensorsFile& f) {
                             f.metadata["generator_config"] = R"({"resolution": 100, "z_dim": 8})";
                         }),
                 "resolution 100");
    expect_error(rewrite(source, "config_json.safetensors",
                         [](core::SafetensorsFile& f) { f.metadata["generator_config"] = "{"; }),
                 "not valid JSON");
    expect_error(rewrite(source, "noconfig.safetensors", [](core::SafetensorsFile& f) { f.metadata.erase("generator_config"); }),
                 "lacks generator_config");
    expect_error(rewrite(source, "version.safetensors", [](core::SafetensorsFile& f) { f.metadata["format_version"] = "3"; }),
                 "format_version 3");
    expect_error(rewrite(source, "version_text.safetensors",
                         [](core::SafetensorsFile& f) { f.metadata["format_version"] = "one"; }),
                 "bad format_version");
}

// The discriminator travels with the generator (as in an official network pickle) so that
// training can start again from a model file.
TEST_F(ModelFileTest, DiscriminatorRoundTripIsExactAndLeavesTheModelIdAlone) {
    Generator g(tiny_config());
    Discriminator d(tiny_d_config());
    const std::string id_alone = save_model_file(dir_ / "g.safetensors", g, {});
    const auto path = dir_ / "gd.safetensors";
    const std::string id = save_model_file(path, g, {}, torch::kFloat32, &d);
    EXPECT_EQ(id, id_alone) << "the id names the generator, whatever travels with it";
    EXPECT_EQ(core::read_safetensors(path).metadata.at("format_version"), "2");
    EXPECT_EQ(core::read_safetensors(dir_ / "g.safetensors").metadata.at("format_version"), "1");

    LoadedModel with_d = load_model_file(path, torch::kCPU, /*with_discriminator=*/true);
    ASSERT_TRUE(with_d.discriminator_config.has_value());
    EXPECT_EQ(*with_d.discriminator_config, tiny_d_config());
    ASSERT_TRUE(with_d.discriminator);
    EXPECT_EQ(with_d.format_version, 2);
    torch::InferenceMode guard;
    const torch::Tensor images = torch::randn({4, 3, 16, 16});
    EXPECT_TRUE(torch::equal(d->forward(images), with_d.discriminator->forward(images)));

    LoadedModel without_d = load_model_file(path);  // generate's way: no discriminator built
    EXPECT_TRUE(without_d.discriminator_config.has_value());
    EXPECT_FALSE(without_d.discriminator);
    const torch::Tensor z = torch::randn({2, 8});
    const auto options = SynthesisOptions{NoiseMode::Const, {}};
    EXPECT_TRUE(torch::equal(g->forward(z, {}, 1.0, std::nullopt, options),
                             without_d.generator->forward(z, {}, 1.0, std::nullopt, options)));
}

TEST_F(ModelFileTest, BadDiscriminatorTensorsAreNamed) {
    Discriminator d(tiny_d_config());
    const auto source = save_tiny("gd.safetensors", torch::kFloat32, &d);
    const auto shape = rewrite(source, "d_shape.safetensors", [](core::SafetensorsFile& f) {
        f.tensors["discriminator.b16.conv0.weight"] = torch::zeros({1, 1, 3, 3});
    });
    expect_error(shape, "tensor 'discriminator.b16.conv0.weight' has shape [1, 1, 3, 3]", /*with_discriminator=*/true);
    EXPECT_NO_THROW(load_model_file(shape)) << "a generator-only load does not build the discriminator";
    expect_error(rewrite(source, "d_missing.safetensors",
                         [](core::SafetensorsFile& f) { f.tensors.erase("discriminator.b16.conv0.weight"); }),
                 "tensor 'discriminator.b16.conv0.weight' is missing", true);
    expect_error(rewrite(source, "d_noconfig.safetensors",
                         [](core::SafetensorsFile& f) { f.metadata.erase("discriminator_config"); }),
                 "no discriminator_config");
    expect_error(rewrite(source, "d_badconfig.safetensors",
                         [](core::SafetensorsFile& f) { f.metadata["discriminator_config"] = R"({"resolution": 7})"; }),
                 "resolution 7");
}

TEST_F(ModelFileTest, TruncatedAndEmptyModelFiles) {
    const auto source = save_tiny("m.safetensors");
    const std::string bytes = core::read_file(source);
    const auto truncated = dir_ / "truncated.safetensors";
    core::write_file_atomically(truncated, bytes.substr(0, bytes.size() / 2));
    expect_error(truncated, "truncated");
    const auto empty = dir_ / "empty.safetensors";
    core::write_file_atomically(empty, "");
    expect_error(empty, "empty");
    expect_error(dir_ / "absent.safetensors", "no such file");
}

TEST_F(ModelFileTest, ExpectedTensorsMatchGenerator) {
    const auto expected = expected_model_tensors(tiny_config());
    EXPECT_EQ(expected.at("synthesis.b4.const"), (std::vector<int64_t>{8, 4, 4}));
    EXPECT_EQ(expected.at("synthesis.b16.conv1.noise_const"), (std::vector<int64_t>{16, 16}));
    EXPECT_EQ(expected.count("synthesis.b16.resample_filter"), 0u);
}

}  // namespace
}  // namespace facegen::model

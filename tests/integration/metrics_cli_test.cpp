#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "core/png_io.h"
#include "data/pack.h"
#include "model/generator.h"
#include "model/model_file.h"
#include "test_support.h"
#include "tiny_model.h"

namespace {

namespace ft = facegen::test;

// One tiny model (16x16) and one tiny dataset (16x16, 40 train + 24 val) shared by the suite.
// The first validation image (40) is training image 3 mirrored: a copy for the nearest metric.
class MetricsCLITest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        torch::manual_seed(0);
        dir_ = new ft::TempDir();
        facegen::model::Generator generator(ft::tiny_generator_config());
        facegen::model::ModelMetadata metadata;
        metadata.description = "metrics CLI test";
        facegen::model::save_model_file(model_path(), generator, metadata);

        facegen::data::PackWriter writer(data_path(), /*resolution=*/16, /*channels=*/3);
        facegen::data::PackIndex index;
        torch::Tensor copied;
        for (int64_t i = 0; i < 64; ++i) {
            auto image = (torch::rand({3, 16, 16}) * 255).to(torch::kUInt8).contiguous();
            if (i == 3) copied = image;
            if (i == 40) image = copied.flip({2}).contiguous();
            writer.append(image.data_ptr<uint8_t>(), nlohmann::json::object());
            index.splits.push_back(i < 40 ? facegen::data::Split::kTrain : facegen::data::Split::kVal);
            index.labels.emplace_back();
        }
        writer.commit(index);
    }
    static void TearDownTestSuite() {
        delete dir_;
        dir_ = nullptr;
    }
    static std::filesystem::path model_path() { return *dir_ / "tiny.safetensors"; }
    static std::filesystem::path data_path() { return *dir_ / "tiny-data"; }
    static std::string detector() {
        return (ft::source_dir() / "tests" / "golden" / "metrics_tiny_detector.pt").string();
    }

    static ft::CommandResult metrics(const std::string& args) {
        return ft::run_command("'" + ft::facegen_binary().string() + "' metrics " + args);
    }
    static nlohmann::json json_of(const ft::CommandResult& result) {
        EXPECT_EQ(result.exit_code, 0) << result.err;
        return nlohmann::json::parse(result.out);
    }

    static ft::TempDir* dir_;
};
ft::TempDir* MetricsCLITest::dir_ = nullptr;

TEST_F(MetricsCLITest, SWDOfModelAgainstDataset) {
    const auto result = metrics("--metric swd --model '" + model_path().string() + "' --data '" +
                                data_path().string() + "' --num 32 --batch 16 --seed 3");
    const auto json = json_of(result);
    EXPECT_EQ(json["metric"], "swd");
    EXPECT_EQ(json["mode"], "model-vs-data");
    EXPECT_EQ(json["num_images_a"], 32);
    EXPECT_EQ(json["num_images_b"], 32);
    EXPECT_FALSE(json["model_id"].get<std::string>().empty());
    EXPECT_TRUE(json["figures"].contains("swd_16"));
    EXPECT_GT(json["value"].get<double>(), 0.0);
    EXPECT_EQ(json["value"], json["figures"]["swd_avg"]);
    // Deterministic from the seed; the batch size changes only the generator's float
    // round-off (convolution kernels batch differently), not the images or positions.
    const auto again = json_of(metrics("--metric swd --model '" + model_path().string() + "' --data '" +
                                       data_path().string() + "' --num 32 --batch 8 --seed 3"));
    EXPECT_NEAR(json["value"].get<double>(), again["value"].get<double>(), 1e-4 * json["value"].get<double>());
}

TEST_F(MetricsCLITest, RealVsRealComparesTrainAndValidationSplits) {
    const auto json = json_of(metrics("--metric swd --real-vs-real --data '" + data_path().string() + "'"));
    EXPECT_EQ(json["mode"], "real-vs-real");
    EXPECT_EQ(json["split_a"], "train");
    EXPECT_EQ(json["split_b"], "val");
    EXPECT_EQ(json["num_images_a"], 24);  // min(--num, 40 train, 24 val)
    EXPECT_EQ(json["num_images_b"], 24);
    EXPECT_GT(json["value"].get<double>(), 0.0);
}

TEST_F(MetricsCLITest, FIDAndKIDWithASuppliedFeatureNetwork) {
    for (const std::string metric : {"fid", "kid"}) {
        const auto json = json_of(metrics("--metric " + metric + " --model '" + model_path().string() +
                                          "' --data '" + data_path().string() + "' --num 20 --inception '" +
                                          detector() + "' --feature-dim 64"));
        EXPECT_EQ(json["metric"], metric);
        EXPECT_EQ(json["feature_dim"], 64);
        EXPECT_EQ(json["num_images_a"], 64);  // the whole split by default
        EXPECT_EQ(json["num_images_b"], 20);
        EXPECT_TRUE(json["figures"].contains(metric));
        EXPECT_GT(json["value"].get<double>(), 0.0) << metric;
    }
}

TEST_F(MetricsCLITest, NearestFindsTheMirroredCopyAndWritesItsPair) {
    const auto pairs = *dir_ / "pairs.png";
    const auto json = json_of(metrics("--metric nearest --real-vs-real --data '" + data_path().string() +
                                      "' --pairs '" + pairs.string() + "' --pairs-count 3"));
    EXPECT_EQ(json["metric"], "nearest");
    EXPECT_EQ(json["num_images_a"], 40);  // the whole train split is the reference
    EXPECT_EQ(json["num_images_b"], 24);
    EXPECT_EQ(json["figures"]["nn_rms_min"], 0.0);  // validation image 40 = train image 3 mirrored
    EXPECT_GT(json["figures"]["nn_rms_median"].get<double>(), 20.0);
    EXPECT_EQ(json["value"], json["figures"]["nn_rms_median"]);
    // Three pairs, closest first, eight tiles a row: the first pair is the copy, identical.
    const auto png = facegen::core::read_png(pairs);
    ASSERT_EQ(png.width, 3 * 2 * 16);
    ASSERT_EQ(png.height, 16);
    for (int64_t y = 0; y < 16; ++y)
        for (int64_t x = 0; x < 16; ++x)
            for (int64_t c = 0; c < 3; ++c)
                ASSERT_EQ(png.pixels[(y * png.width + x) * 3 + c], png.pixels[(y * png.width + x + 16) * 3 + c])
                    << "pixel " << x << "," << y;
}

TEST_F(MetricsCLITest, NearestOfAModelAgainstTheTrainingSplit) {
    const auto json = json_of(metrics("--metric nearest --model '" + model_path().string() + "' --data '" +
                                      data_path().string() + "' --split train --num 10 --batch 4"));
    EXPECT_EQ(json["mode"], "model-vs-data");
    EXPECT_EQ(json["num_images_a"], 40);
    EXPECT_EQ(json["num_images_b"], 10);
    EXPECT_GT(json["figures"]["nn_rms_min"].get<double>(), 0.0);
    EXPECT_LE(json["figures"]["nn_rms_min"].get<double>(), json["figures"]["nn_rms_median"].get<double>());
}

TEST_F(MetricsCLITest, PairsOnlyWithNearest) {
    const auto result = metrics("--metric swd --model '" + model_path().string() + "' --data '" +
                                data_path().string() + "' --pairs '" + (*dir_ / "p.png").string() + "'");
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.err.find("--pairs is only written by --metric nearest"), std::string::npos) << result.err;
    // Checked before any work: a folder that cannot be created (its parent is a file).
    const auto bad_folder = metrics("--metric nearest --real-vs-real --data '" + data_path().string() +
                                    "' --pairs '" + (model_path() / "p.png").string() + "'");
    EXPECT_NE(bad_folder.exit_code, 0);
    EXPECT_NE(bad_folder.err.find(model_path().string() + "' is not a folder"), std::string::npos) << bad_folder.err;
    // A missing folder that can be created is created.
    const auto new_folder = *dir_ / "new" / "pairs.png";
    json_of(metrics("--metric nearest --real-vs-real --data '" + data_path().string() + "' --pairs '" +
                    new_folder.string() + "'"));
    EXPECT_TRUE(std::filesystem::exists(new_folder));
}

TEST_F(MetricsCLITest, UnknownMetricFails) {
    const auto result = metrics("--metric fancy --model '" + model_path().string() + "' --data '" +
                                data_path().string() + "'");
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.err.find("unknown metric 'fancy'"), std::string::npos) << result.err;
    EXPECT_TRUE(result.out.empty());
}

TEST_F(MetricsCLITest, FIDWithoutInceptionFails) {
    const auto result = metrics("--metric fid --model '" + model_path().string() + "' --data '" +
                                data_path().string() + "'");
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.err.find("--inception"), std::string::npos) << result.err;
}

TEST_F(MetricsCLITest, MissingInceptionFileFails) {
    const auto result = metrics("--metric kid --model '" + model_path().string() + "' --data '" +
                                data_path().string() + "' --inception /nonexistent/inception.pt");
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.err.find("'/nonexistent/inception.pt' not found"), std::string::npos) << result.err;
}

TEST_F(MetricsCLITest, MissingModelFails) {
    const auto result = metrics("--model /nonexistent/model.safetensors --data '" + data_path().string() + "'");
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.err.find("/nonexistent/model.safetensors"), std::string::npos) << result.err;
}

TEST_F(MetricsCLITest, MissingDatasetFails) {
    const auto result = metrics("--model '" + model_path().string() + "' --data /nonexistent/dataset");
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.err.find("/nonexistent/dataset"), std::string::npos) << result.err;
}

TEST_F(MetricsCLITest, ModelOrRealVsRealIsRequired) {
    const auto result = metrics("--data '" + data_path().string() + "'");
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.err.find("--model is required"), std::string::npos) << result.err;
}

}  // namespace

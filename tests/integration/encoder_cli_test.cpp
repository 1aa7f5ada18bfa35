// Runs the built facegen binary's `encoder train` on a tiny model (seconds): the encoder file
// beside the model, a second run resuming from the checkpoint, an encoder refused for a model
// it was not made for before any photo is read; and, with real photos, `project` starting
// from the encoder (or not, with --no-encoder) and saying so in projection.json.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "core/png_io.h"
#include "model/model_file.h"
#include "test_support.h"
#include "tiny_model.h"

namespace facegen {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using test::json_lines;
using test::quote;

class EncoderCliTest : public ::testing::Test {
protected:
    void SetUp() override {
        model::Generator generator = test::tiny_generator_for_images(1, 64);
        model_id_ = model::save_model_file(model_path(), generator, {});
    }
    test::CommandResult facegen(const std::string& args) const {
        return test::run_command(quote(test::facegen_binary()) + " " + args);
    }
    fs::path model_path() const { return dir_.path() / "tiny.safetensors"; }
    fs::path encoder_path() const { return dir_.path() / "tiny.encoder.safetensors"; }
    std::string train(int steps) const {
        return "encoder train --model " + quote(model_path()) + " --steps " + std::to_string(steps) +
               " --batch 2 --checkpoint-every 1 --threads 2";
    }
    std::string model_id_;
    test::TempDir dir_;
};

TEST_F(EncoderCliTest, TrainsBesideTheModelAndResumes) {
    const auto first = facegen(train(2));
    ASSERT_EQ(first.exit_code, 0) << first.err;
    ASSERT_TRUE(fs::exists(encoder_path())) << "the default --out is beside the model";
    const std::vector<json> lines = json_lines(first.out);
    ASSERT_EQ(lines.size(), 1u) << first.out;
    EXPECT_EQ(lines[0]["model_id"], model_id_);
    EXPECT_EQ(lines[0]["resumed_from_step"], 0);
    const auto second = facegen(train(3));
    ASSERT_EQ(second.exit_code, 0) << second.err;
    EXPECT_EQ(json_lines(second.out).at(0)["resumed_from_step"], 2);
}

TEST_F(EncoderCliTest, AnEncoderOfAnotherModelIsRefusedBeforeAnyWork) {
    ASSERT_EQ(facegen(train(1)).exit_code, 0);
    const fs::path other = dir_.path() / "other.safetensors";
    model::Generator other_generator = test::tiny_generator_for_images(2, 64);
    const std::string other_id = model::save_model_file(other, other_generator, {});
    const fs::path photo = dir_.path() / "photo.png";
    const std::vector<uint8_t> grey(64 * 64 * 3, 128);
    core::write_png(photo, grey.data(), 64, 64, 3);
    const fs::path out = dir_.path() / "out";
    const auto refused = facegen("project --model " + quote(other) + " --encoder " + quote(encoder_path()) +
                                 " --target " + quote(photo) + " --out " + quote(out));
    EXPECT_NE(refused.exit_code, 0);
    EXPECT_NE(refused.err.find("was made for model " + model_id_ + ", not for model " + other_id), std::string::npos)
        << refused.err;
    EXPECT_FALSE(fs::exists(out / "projection.json"));
    const auto both = facegen("project --model " + quote(model_path()) + " --no-encoder --encoder " +
                              quote(encoder_path()) + " --target " + quote(photo) + " --out " + quote(out));
    EXPECT_NE(both.exit_code, 0);
    EXPECT_NE(both.err.find("--no-encoder and --encoder"), std::string::npos) << both.err;
}

TEST_F(EncoderCliTest, ProjectStartsFromTheEncoderAndSaysSo) {
    if (!fs::exists("/usr/share/dlib/shape_predictor_68_face_landmarks.dat")) GTEST_SKIP() << "no dlib landmarks";
    FACEGEN_SKIP_WITHOUT_SHARED_DATA("utkface");
    fs::path photo;
    for (const auto& entry : fs::directory_iterator(test::shared_data_dir() / "utkface")) {
        if (entry.path().filename().string().rfind("26_0_0_", 0) == 0) {
            photo = entry.path();
            break;
        }
    }
    ASSERT_FALSE(photo.empty());
    ASSERT_EQ(facegen(train(1)).exit_code, 0);
    const auto with = facegen("project --model " + quote(model_path()) + " --target " + quote(photo) + " --out " +
                              quote(dir_.path() / "with") + " --threads 2");
    ASSERT_EQ(with.exit_code, 0) << with.err;
    const json figures = json_lines(with.out).at(0);
    EXPECT_EQ(figures["start_latent"], "encoder") << figures;
    EXPECT_EQ(figures["steps"], 40) << "the short optimisation's default";
    const auto without = facegen("project --model " + quote(model_path()) + " --target " + quote(photo) + " --out " +
                                 quote(dir_.path() / "without") + " --no-encoder --steps 2 --threads 2");
    ASSERT_EQ(without.exit_code, 0) << without.err;
    EXPECT_EQ(json_lines(without.out).at(0)["start_latent"], "average");
    EXPECT_EQ(json_lines(without.out).at(0)["steps"], 2);
}

}  // namespace
}  // namespace facegen

// Runs the built facegen binary's `project` and `edit --target` on real photos with the
// bundled model: the files the official projector writes (and that generate reproduces),
// edits of a projected face with both steps in their provenance, `project measure`, and one
// clear error for each kind of bad photo or option, with nothing written.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "core/atomic_file.h"
#include "core/npy.h"
#include "core/png_io.h"
#include "data/image_io.h"
#include "test_support.h"

namespace facegen {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

using test::json_lines;
using test::quote;

const core::PngText* find_text(const core::PngImage& image, const std::string& keyword) {
    for (const core::PngText& text : image.texts) {
        if (text.keyword == keyword) return &text;
    }
    return nullptr;
}

class ProjectCliTest : public ::testing::Test {
protected:
    void SetUp() override {
        bundled_ = test::source_dir() / "models" / "facegen-default.safetensors";
        if (!fs::exists(bundled_)) GTEST_SKIP() << bundled_ << " not in this checkout";
        if (!fs::exists("/usr/share/dlib/shape_predictor_68_face_landmarks.dat")) GTEST_SKIP() << "no dlib landmarks";
        FACEGEN_SKIP_WITHOUT_SHARED_DATA("utkface");
        const fs::path utkface = test::shared_data_dir() / "utkface";
        for (const char* name : {"26_0_0_", "31_1_2_"}) {
            for (const auto& entry : fs::directory_iterator(utkface)) {
                if (entry.path().filename().string().rfind(name, 0) == 0) {
                    photos_.push_back(entry.path());
                    break;
                }
            }
        }
        ASSERT_EQ(photos_.size(), 2u);
    }
    test::CommandResult facegen(const std::string& args) const {
        return test::run_command(quote(test::facegen_binary()) + " " + args);
    }
    fs::path bundled_;
    std::vector<fs::path> photos_;
    test::TempDir dir_;
};

TEST_F(ProjectCliTest, WritesTheOfficialFilesAndGenerateReproducesTheReconstruction) {
    const fs::path out = dir_.path() / "projection";
    const auto projected = facegen("project --target " + quote(photos_[0]) + " --out " + quote(out) +
                                   " --steps 40 --threads 2");
    ASSERT_EQ(projected.exit_code, 0) << projected.err;
    const std::vector<json> lines = json_lines(projected.out);
    ASSERT_EQ(lines.size(), 1u) << projected.out;
    EXPECT_GT(lines[0]["psnr_db"].get<double>(), 12.0) << lines[0];
    EXPECT_EQ(lines[0]["loss_weights"].get<std::string>().rfind("pixel=1,ssim=1,discriminator=1", 0), 0u) << lines[0];
    EXPECT_NE(projected.err.find("loss="), std::string::npos) << "the progress line shows the loss";
    for (const char* file : {"target.png", "proj.png", "side_by_side.png", "projected_w.npz", "projection.json"}) {
        EXPECT_TRUE(fs::exists(out / file)) << file;
    }
    const auto arrays = core::read_npz(out / "projected_w.npz");
    ASSERT_EQ(arrays.count("w"), 1u);
    EXPECT_EQ(arrays.at("w").sizes(), (std::vector<int64_t>{1, 10, 512}));

    const core::PngImage reconstruction = core::read_png(out / "proj.png");
    ASSERT_NE(find_text(reconstruction, "facegen:edit"), nullptr);
    EXPECT_NE(find_text(reconstruction, "facegen:edit")->text.find("projected from photo"), std::string::npos);
    EXPECT_EQ(core::read_png(out / "side_by_side.png").width, 2 * 64);

    const auto generated = facegen("generate --latents " + quote(out / "projected_w.npz") + " --out " +
                                   quote(dir_.path() / "again") + " --threads 2");
    ASSERT_EQ(generated.exit_code, 0) << generated.err;
    EXPECT_EQ(core::read_png(dir_.path() / "again" / "latent0000.png").pixels, reconstruction.pixels);
}

TEST_F(ProjectCliTest, EditOfAPhotoRecordsTheProjectionAndTheEdit) {
    const fs::path out = dir_.path() / "edited";
    const auto edited = facegen("edit --target " + quote(photos_[1]) + " --edit age=+20 --projection-steps 20 --out " +
                                quote(out) + " --threads 2");
    ASSERT_EQ(edited.exit_code, 0) << edited.err;
    const core::PngImage image = core::read_png(out / "edited.png");
    ASSERT_NE(find_text(image, "facegen:edit"), nullptr);
    const std::string note = find_text(image, "facegen:edit")->text;
    EXPECT_NE(note.find("age=+20"), std::string::npos) << note;
    EXPECT_NE(note.find("projected from photo"), std::string::npos) << note;
    EXPECT_TRUE(fs::exists(out / "projected_w.npz"));
    EXPECT_NE(image.pixels, core::read_png(out / "proj.png").pixels);
}

TEST_F(ProjectCliTest, MeasureComparesWithTheBaselineAndSkipsPhotosWithoutAFace) {
    const fs::path photos = dir_.path() / "photos";
    fs::create_directories(photos);
    fs::copy_file(photos_[0], photos / "a.jpg");
    fs::copy_file(photos_[1], photos / "b.jpg");
    data::RgbImage grey(120, 120);
    std::fill(grey.pixels.begin(), grey.pixels.end(), 100);
    core::write_file_atomically(photos / "c.png", data::encode_png(grey));
    const auto measured = facegen("project measure --photos " + quote(photos) + " --count 3 --steps 10 --threads 2 " +
                                  "--grid " + quote(dir_.path() / "grid.png") + " --grid-faces 2");
    ASSERT_EQ(measured.exit_code, 0) << measured.err;
    const json figures = json::parse(measured.out);
    EXPECT_EQ(figures["projected"], 2);
    EXPECT_EQ(figures["skipped_no_usable_face"], 1);
    EXPECT_EQ(figures["baseline"]["loss"], "pixel=1");
    EXPECT_GT(figures["chosen"]["psnr_db"]["mean"].get<double>(), 5.0);
    EXPECT_GT(figures["chosen"]["seconds_per_photo_alone"].get<double>(), 0.0);
    const core::PngImage grid = core::read_png(dir_.path() / "grid.png");
    EXPECT_EQ(grid.width, 6 * 64);  // photo | baseline | projection | 3 edits
    EXPECT_EQ(grid.height, 2 * 64);
}

TEST_F(ProjectCliTest, BadPhotosAndOptionsGetOneClearErrorAndNothingIsLost) {
    const fs::path out = dir_.path() / "out";
    fs::create_directories(out);
    core::write_file_atomically(out / "projected_w.npz", "kept");

    data::RgbImage grey(200, 200);
    std::fill(grey.pixels.begin(), grey.pixels.end(), 128);
    core::write_file_atomically(dir_.path() / "wall.png", data::encode_png(grey));
    const std::string jpeg = core::read_file(photos_[0]);
    core::write_file_atomically(dir_.path() / "truncated.jpg", jpeg.substr(0, jpeg.size() / 3));

    const std::vector<std::pair<std::string, std::string>> cases = {
        {"--target " + quote(dir_.path() / "wall.png"), "no face found in"},
        {"--target " + quote(dir_.path() / "truncated.jpg"), "truncated.jpg"},
        {"--target " + quote(dir_.path()), "is not a file"},
        {"--target " + quote(dir_.path() / "missing.jpg"), "missing.jpg"},
        {"--target " + quote(photos_[0]) + " --space z", "bad --space"},
        {"--target " + quote(photos_[0]) + " --steps 0", "bad --steps 0"},
        {"--target " + quote(photos_[0]) + " --loss colour=1", "unknown loss term 'colour'"},
        {"--target " + quote(photos_[0]) + " --crop-scale 9", "bad --crop-scale"},
    };
    for (const auto& [args, expected] : cases) {
        const bool sets_steps = args.find("--steps") != std::string::npos;
        const auto result = facegen("project " + args + " --out " + quote(out) + (sets_steps ? "" : " --steps 5"));
        EXPECT_EQ(result.exit_code, 1) << args << "\n" << result.err;
        EXPECT_NE(result.err.find(expected), std::string::npos) << args << "\n" << result.err;
        EXPECT_EQ(result.err.find("terminate"), std::string::npos) << result.err;
    }
    EXPECT_EQ(core::read_file(out / "projected_w.npz"), "kept");
    EXPECT_FALSE(fs::exists(out / "proj.png"));

    const auto edit = facegen("edit --target " + quote(photos_[0]) + " --edit height=+1 --out " + quote(out));
    EXPECT_EQ(edit.exit_code, 1);
    EXPECT_NE(edit.err.find("height"), std::string::npos) << edit.err;
    const auto two_sources = facegen("edit --target " + quote(photos_[0]) + " --seeds 1 --edit age=+1 --out " + quote(out));
    EXPECT_NE(two_sources.err.find("exactly one of --seeds, --latents and --target"), std::string::npos) << two_sources.err;
}

}  // namespace
}  // namespace facegen

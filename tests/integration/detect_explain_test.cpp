// Runs the built facegen binary's `detect --explain` with a patch detector: a heat map per
// image, its path in the JSON line, the "uncertain" count in the summary, and refusals of
// an --explain that cannot work.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "data/image_io.h"
#include "detect/detector.h"
#include "test_pictures.h"
#include "test_support.h"

namespace facegen {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using test::quote;

class DetectExplainTest : public ::testing::Test {
protected:
    void SetUp() override {
        detect::DetectorInfo info;
        info.kind = detect::DetectorKind::kSpectralPatches;
        info.spectral.hidden = 4;
        info.calibration = {0.0, 0.0};  // every image 0.5: inside the band [0.2, 0.6)
        info.threshold = 0.6;
        torch::manual_seed(5);
        detect::Detector(info).save(dir_ / "patches.safetensors");
        for (int i = 0; i < 2; ++i) {
            const torch::Tensor pixels = test::smooth_picture(150, i);
            data::RgbImage image(150, 150);
            std::copy_n(pixels.data_ptr<uint8_t>(), image.pixels.size(), image.pixels.begin());
            core::write_file_atomically(dir_ / ("photo" + std::to_string(i) + ".png"), data::encode_png(image));
        }
    }
    test::CommandResult facegen(const std::string& args) const {
        return test::run_command(quote(test::facegen_binary()) + " detect --threads 1 --detector " +
                                 quote(dir_ / "patches.safetensors") + " " + args);
    }
    test::TempDir dir_;
};

TEST_F(DetectExplainTest, OneImageOneHeatMap) {
    const auto result = facegen(quote(dir_ / "photo0.png") + " --explain " + quote(dir_ / "heat.png"));
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const std::vector<json> lines = test::json_lines(result.out);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0]["verdict"], "uncertain");
    EXPECT_EQ(lines[0]["detector"]["heat_map"], (dir_ / "heat.png").string());
    EXPECT_EQ(lines[1]["summary"]["uncertain"], 1);
    const data::DecodedImage map = data::decode_image(test::read_file(dir_ / "heat.png"), "heat.png");
    EXPECT_EQ(map.image.width, 300);  // 150 px enlarged twice to reach 256
}

TEST_F(DetectExplainTest, SeveralImagesGoToAFolder) {
    const auto refused = facegen(quote(dir_ / "photo0.png") + " " + quote(dir_ / "photo1.png") + " --explain " +
                                 quote(dir_ / "heat.png"));
    EXPECT_NE(refused.exit_code, 0);
    EXPECT_NE(refused.err.find("--explain"), std::string::npos) << refused.err;
    const auto result = facegen(quote(dir_ / "photo0.png") + " " + quote(dir_ / "photo1.png") + " --explain " +
                                quote(dir_ / "maps"));
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_TRUE(fs::exists(dir_ / "maps" / "photo0.heat.png"));
    EXPECT_TRUE(fs::exists(dir_ / "maps" / "photo1.heat.png"));
}

}  // namespace
}  // namespace facegen

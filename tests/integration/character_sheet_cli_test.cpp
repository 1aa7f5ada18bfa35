// `facegen generate --variations ... --grid sheet.png` through the built binary: bad input
// refused before anything is written, and sheets of the bundled model (one per seed) kept
// the same person, labelled, with their reports.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/png_io.h"
#include "model/model_file.h"
#include "test_support.h"
#include "tiny_model.h"

namespace facegen {
namespace {

namespace fs = std::filesystem;

using test::quote;

class CharacterSheetCliTest : public ::testing::Test {
protected:
    test::CommandResult generate(const std::string& arguments) {
        return test::run_command(quote(test::facegen_binary()) + " generate --threads 2 " + arguments);
    }
    test::TempDir dir_;
};

TEST_F(CharacterSheetCliTest, BadVariationsAreRefusedAndNothingIsWritten) {
    const fs::path sheet = dir_ / "sheet.png";
    const test::CommandResult unknown = generate("--seeds 1 --variations pose,hair --grid " + quote(sheet));
    EXPECT_EQ(unknown.exit_code, 1) << unknown.err;
    EXPECT_NE(unknown.err.find("'hair'"), std::string::npos) << unknown.err;
    EXPECT_NE(unknown.err.find("pose, expression, lighting, age"), std::string::npos) << unknown.err;
    const test::CommandResult empty = generate("--seeds 1 --variations '' --grid " + quote(sheet));
    EXPECT_EQ(empty.exit_code, 1) << empty.err;
    EXPECT_NE(empty.err.find("empty"), std::string::npos) << empty.err;
    const test::CommandResult no_grid = generate("--seeds 1 --variations age --out " + quote(dir_ / "out"));
    EXPECT_EQ(no_grid.exit_code, 1);
    EXPECT_NE(no_grid.err.find("--grid"), std::string::npos) << no_grid.err;
    const test::CommandResult even = generate("--seeds 1 --variations age --variation-steps 4 --grid " + quote(sheet));
    EXPECT_EQ(even.exit_code, 1);
    EXPECT_NE(even.err.find("--variation-steps"), std::string::npos) << even.err;

    // A model without attribute directions beside it.
    model::Generator tiny = test::tiny_generator_for_images(1, 64);
    model::save_model_file(dir_ / "tiny.safetensors", tiny, {});
    const test::CommandResult no_directions =
        generate("--model " + quote(dir_ / "tiny.safetensors") + " --seeds 1 --variations age --grid " + quote(sheet));
    EXPECT_EQ(no_directions.exit_code, 1);
    EXPECT_NE(no_directions.err.find("no attribute directions"), std::string::npos) << no_directions.err;
    EXPECT_FALSE(fs::exists(sheet));
    EXPECT_FALSE(fs::exists(dir_ / "sheet.json"));
    EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(CharacterSheetCliTest, OneSheetPerSeedOfTheBundledModelKeepsThePerson) {
    const test::CommandResult run =
        generate("--seeds 5,6 --variations pose,age --variation-steps 3 --grid " + quote(dir_ / "sheets" / "s.png"));
    ASSERT_EQ(run.exit_code, 0) << run.err;
    for (const char* seed : {"0005", "0006"}) {
        const fs::path png = dir_ / "sheets" / (std::string("s-seed") + seed + ".png");
        EXPECT_NE(run.out.find(png.string()), std::string::npos) << run.out;
        const core::PngImage image = core::read_png(png);
        EXPECT_EQ(image.width, 3 * 64);
        EXPECT_EQ(image.height, 2 * 64);
        bool labelled = false;
        for (const core::PngText& text : image.texts) labelled |= text.text.find("character sheet") != std::string::npos;
        EXPECT_TRUE(labelled);
        const nlohmann::json report = nlohmann::json::parse(test::read_file(dir_ / "sheets" / (std::string("s-seed") + seed + ".json")));
        EXPECT_EQ(report["rows"], 2);
        EXPECT_LT(report["identity_distance_max"].get<double>(), 0.6) << report.dump(1);
        EXPECT_TRUE(report["cells"][0].contains("attribute_change"));  // the shipped classifier read them
    }
    EXPECT_NE(run.err.find("identity distance"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace facegen

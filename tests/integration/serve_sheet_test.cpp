// GET /v1/sheet.png of `facegen serve` (FACEGEN_BIN): the character sheet of a face of the
// bundled model, the same pixels as generate --variations, bad queries named, and a model
// without directions answered with a reason.
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "core/png_io.h"
#include "model/model_file.h"
#include "serve_process.h"
#include "test_support.h"
#include "tiny_model.h"

namespace facegen {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using test::quote;

core::PngImage decode_png(const std::string& bytes) {
    test::TempDir dir;
    std::ofstream(dir / "image.png", std::ios::binary) << bytes;
    return core::read_png(dir / "image.png");
}

std::string text_of(const core::PngImage& image, const std::string& keyword) {
    for (const core::PngText& text : image.texts) {
        if (text.keyword == keyword) return text.text;
    }
    return "";
}

TEST(ServeSheetTest, TheSheetOfAFaceIsWhatGenerateMakesAndBadQueriesAreNamed) {
    const fs::path models = test::source_dir() / "models";
    if (!fs::exists(models / "facegen-default.directions.safetensors")) {
        GTEST_SKIP() << "the bundled model's directions are not in this checkout";
    }
    test::ServeProcess server("--model " + quote(models / "facegen-default.safetensors") + " --threads 1 --no-detector");
    httplib::Client http("127.0.0.1", server.port());
    http.set_read_timeout(60, 0);
    const auto described = http.Get("/v1/models");
    ASSERT_TRUE(described);
    const json sheets = json::parse(described->body)["sheets"];
    EXPECT_EQ(sheets["available"], true) << sheets;
    EXPECT_NE(sheets["variations"].dump().find("\"age\""), std::string::npos) << sheets;

    const auto answer = http.Get("/v1/sheet.png?seed=7&variations=pose,age&steps=3");
    ASSERT_TRUE(answer);
    ASSERT_EQ(answer->status, 200) << answer->body;
    EXPECT_EQ(answer->get_header_value("Content-Type"), "image/png");
    EXPECT_EQ(answer->get_header_value("X-Facegen-Seed"), "7");
    EXPECT_LT(std::stod(answer->get_header_value("X-Facegen-Identity-Distance-Max")), 0.6);
    const core::PngImage image = decode_png(answer->body);
    EXPECT_EQ(image.width, 3 * 64);
    EXPECT_EQ(image.height, 2 * 64);
    EXPECT_NE(text_of(image, "facegen:edit").find("character sheet"), std::string::npos);

    test::TempDir dir;
    const auto cli = test::run_command(quote(test::facegen_binary()) + " generate --seeds 7 --variations pose,age " +
                                       "--variation-steps 3 --threads 1 --grid " + quote(dir / "sheet.png"));
    ASSERT_EQ(cli.exit_code, 0) << cli.err;
    EXPECT_EQ(image.pixels, core::read_png(dir / "sheet.png").pixels);

    const auto unknown = http.Get("/v1/sheet.png?seed=7&variations=pose,hair");
    ASSERT_TRUE(unknown);
    EXPECT_EQ(unknown->status, 400);
    EXPECT_NE(unknown->body.find("pose, expression, lighting, age"), std::string::npos) << unknown->body;
    const auto no_seed = http.Get("/v1/sheet.png?variations=age");
    ASSERT_TRUE(no_seed);
    EXPECT_EQ(no_seed->status, 400);
    EXPECT_NE(no_seed->body.find("seed"), std::string::npos) << no_seed->body;
    const auto even = http.Get("/v1/sheet.png?seed=7&steps=4");
    ASSERT_TRUE(even);
    EXPECT_EQ(even->status, 400);
    EXPECT_NE(even->body.find("odd"), std::string::npos) << even->body;
}

TEST(ServeSheetTest, AModelWithoutDirectionsSaysWhyThereAreNoSheets) {
    test::TempDir dir;
    model::Generator tiny = test::tiny_generator_for_images(2, 64);
    model::save_model_file(dir / "tiny.safetensors", tiny, {});
    test::ServeProcess server("--model " + quote(dir / "tiny.safetensors") + " --threads 1 --no-detector");
    httplib::Client http("127.0.0.1", server.port());
    const auto described = http.Get("/v1/models");
    ASSERT_TRUE(described);
    EXPECT_EQ(json::parse(described->body)["sheets"]["available"], false);
    const auto answer = http.Get("/v1/sheet.png?seed=1");
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 501);
    EXPECT_NE(answer->body.find("no attribute directions"), std::string::npos) << answer->body;
}

}  // namespace
}  // namespace facegen

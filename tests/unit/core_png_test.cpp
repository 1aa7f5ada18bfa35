// PNG writing round trip through libpng: pixels, text chunks, atomic writes.
#include <gtest/gtest.h>

#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/png_io.h"
#include "test_support.h"

namespace facegen::core {
namespace {

class PngTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!png_supported()) GTEST_SKIP() << "built without libpng";
    }
    test::TempDir dir_;
};

TEST_F(PngTest, PixelsRoundTrip) {
    const int64_t w = 5, h = 3, c = 3;
    std::vector<uint8_t> pixels(static_cast<size_t>(w * h * c));
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 7 % 256);
    write_png(dir_ / "a.png", pixels.data(), w, h, c);
    const PngImage image = read_png(dir_ / "a.png");
    EXPECT_EQ(image.width, w);
    EXPECT_EQ(image.height, h);
    EXPECT_EQ(image.channels, c);
    EXPECT_EQ(image.pixels, pixels);
}

TEST_F(PngTest, GrayAndRgbaRoundTrip) {
    for (int64_t c : {1, 2, 4}) {
        std::vector<uint8_t> pixels(static_cast<size_t>(4 * 4 * c));
        for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(255 - i);
        write_png(dir_ / "g.png", pixels.data(), 4, 4, c);
        const PngImage image = read_png(dir_ / "g.png");
        EXPECT_EQ(image.channels, c);
        EXPECT_EQ(image.pixels, pixels);
    }
}

TEST_F(PngTest, FileHoldsTheEncodedBytes) {
    std::vector<uint8_t> pixels(8 * 8 * 3, 77);
    const std::vector<PngText> texts = {{"Description", "a test"}, {"XML:com.adobe.xmp", "<x/>", /*force_itxt=*/true}};
    write_png(dir_ / "1.png", pixels.data(), 8, 8, 3, texts);
    EXPECT_EQ(read_file(dir_ / "1.png"), encode_png(pixels.data(), 8, 8, 3, texts));
    const PngImage image = read_png(dir_ / "1.png");
    ASSERT_EQ(image.texts.size(), 2u);
    EXPECT_EQ(image.texts[0].text, "a test");
    EXPECT_TRUE(image.texts[1].force_itxt);
}

TEST_F(PngTest, BadSizeIsAnErrorNamingTheFile) {
    std::vector<uint8_t> pixels(3, 0);
    try {
        write_png(dir_ / "bad.png", pixels.data(), 1, 1, 5);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("bad.png"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("1x1x5"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(dir_ / "bad.png"));
}

TEST_F(PngTest, WriteIntoMissingFolderFailsWithoutLeftovers) {
    std::vector<uint8_t> pixels(3, 0);
    try {
        write_png(dir_ / "missing" / "a.png", pixels.data(), 1, 1, 3);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("a.png"), std::string::npos);
    }
    EXPECT_TRUE(std::filesystem::is_empty(dir_.path()));
}

TEST_F(PngTest, ReadingNonPngFails) {
    std::ofstream(dir_ / "n.png") << "not a png";
    EXPECT_THROW(read_png(dir_ / "n.png"), Error);
}

}  // namespace
}  // namespace facegen::core

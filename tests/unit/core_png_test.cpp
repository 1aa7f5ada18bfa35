// PNG writing round trip through libpng, with the generated-image text chunks and XMP.
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "core/image_metadata.h"
#include "core/png_io.h"
#include "test_support.h"

namespace facegen::core {
namespace {

class PngTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!png_supported()) GTEST_SKIP() << "built without libpng";
    }
    static const PngText* find_text(const PngImage& image, const std::string& keyword) {
        for (const auto& t : image.texts) {
            if (t.keyword == keyword) return &t;
        }
        return nullptr;
    }
    static GeneratedImageInfo sample_info() {
        GeneratedImageInfo info;
        info.model_id = "0123456789abcdef";
        info.license = "non-commercial research only <UTKFace & CelebA> — ü";
        info.seed = 42;
        info.latent_space = "z";
        info.truncation_psi = 0.7;
        info.truncation_cutoff = 8;
        info.noise_mode = "const";
        info.software_version = "v0.1-test";
        return info;
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

TEST_F(PngTest, GeneratedImageTextChunksRoundTrip) {
    const GeneratedImageInfo info = sample_info();
    std::vector<uint8_t> pixels(2 * 2 * 3, 128);
    write_png(dir_ / "m.png", pixels.data(), 2, 2, 3, png_text_for_generated_image(info));
    const PngImage image = read_png(dir_ / "m.png");
    ASSERT_NE(find_text(image, "facegen:seed"), nullptr);
    EXPECT_EQ(find_text(image, "facegen:seed")->text, "42");
    EXPECT_EQ(find_text(image, "facegen:model_id")->text, "0123456789abcdef");
    EXPECT_EQ(find_text(image, "facegen:truncation_psi")->text, "0.69999999999999996");
    EXPECT_EQ(find_text(image, "facegen:truncation_cutoff")->text, "8");
    EXPECT_EQ(find_text(image, "facegen:noise_mode")->text, "const");
    EXPECT_EQ(find_text(image, "facegen:version")->text, "v0.1-test");
    EXPECT_EQ(find_text(image, "Software")->text, "facegen v0.1-test");
    // Non-ASCII licence text survives as UTF-8 iTXt.
    ASSERT_NE(find_text(image, "facegen:license"), nullptr);
    EXPECT_EQ(find_text(image, "facegen:license")->text, info.license);
    EXPECT_TRUE(find_text(image, "facegen:license")->force_itxt);
    EXPECT_FALSE(find_text(image, "facegen:seed")->force_itxt);
}

TEST_F(PngTest, XmpPacketLabelsImageAiGenerated) {
    std::vector<uint8_t> pixels(2 * 2 * 3, 0);
    write_png(dir_ / "x.png", pixels.data(), 2, 2, 3, png_text_for_generated_image(sample_info()));
    const PngImage image = read_png(dir_ / "x.png");
    const PngText* xmp = find_text(image, "XML:com.adobe.xmp");
    ASSERT_NE(xmp, nullptr);
    EXPECT_TRUE(xmp->force_itxt);  // XMP in PNG must be iTXt
    EXPECT_NE(xmp->text.find("Iptc4xmpExt:DigitalSourceType=\"http://cv.iptc.org/newscodes/digitalsourcetype/"
                             "trainedAlgorithmicMedia\""),
              std::string::npos);
    EXPECT_NE(xmp->text.find("xmlns:Iptc4xmpExt=\"http://iptc.org/std/Iptc4xmpExt/2008-02-29/\""), std::string::npos);
    EXPECT_EQ(xmp->text.rfind("<?xpacket begin=", 0), 0u);
    EXPECT_NE(xmp->text.find("<?xpacket end=\"r\"?>"), std::string::npos);
    // The licence is XML-escaped inside dc:rights.
    EXPECT_NE(xmp->text.find("&lt;UTKFace &amp; CelebA&gt;"), std::string::npos);
    EXPECT_EQ(xmp->text.find("<UTKFace"), std::string::npos);
}

TEST_F(PngTest, SameInputGivesSameBytes) {
    std::vector<uint8_t> pixels(8 * 8 * 3, 77);
    write_png(dir_ / "1.png", pixels.data(), 8, 8, 3, png_text_for_generated_image(sample_info()));
    write_png(dir_ / "2.png", pixels.data(), 8, 8, 3, png_text_for_generated_image(sample_info()));
    std::ifstream a(dir_ / "1.png", std::ios::binary), b(dir_ / "2.png", std::ios::binary);
    std::string bytes_a((std::istreambuf_iterator<char>(a)), {}), bytes_b((std::istreambuf_iterator<char>(b)), {});
    EXPECT_EQ(bytes_a, bytes_b);
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

// The labels every generated image carries: PNG text chunks and the IPTC XMP packet.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "core/png_io.h"
#include "provenance/image_provenance.h"
#include "provenance/labelled_png.h"
#include "provenance/watermark.h"
#include "test_support.h"

namespace facegen::provenance {
namespace {

class ProvenanceLabelTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!core::png_supported()) GTEST_SKIP() << "built without libpng";
    }
    static const core::PngText* find_text(const core::PngImage& image, const std::string& keyword) {
        for (const auto& t : image.texts) {
            if (t.keyword == keyword) return &t;
        }
        return nullptr;
    }
    static ImageProvenance sample_provenance() {
        ImageProvenance info;
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
    static torch::Tensor gradient_pixels(int64_t h, int64_t w, int64_t c) {
        return torch::arange(h * w * c, torch::kInt64).remainder(256).to(torch::kUInt8).reshape({h, w, c});
    }
    /// A smooth picture with some texture, the kind of image a watermark is made for.
    static torch::Tensor picture(int64_t h, int64_t w) {
        const auto y = torch::linspace(0, 1, h).view({h, 1, 1});
        const auto x = torch::linspace(0, 1, w).view({1, w, 1});
        const auto c = torch::tensor({0.9, 0.7, 0.6}).view({1, 1, 3});
        const auto value = 120 + 60 * c * torch::sin(6.0 * x + 3.0 * y) + 40 * torch::cos(11.0 * x * y) * c;
        return value.round().clamp(0, 255).to(torch::kUInt8);
    }
    static torch::Tensor read_pixels(const core::PngImage& image) {
        return torch::from_blob(const_cast<uint8_t*>(image.pixels.data()), {image.height, image.width, image.channels},
                                torch::kUInt8)
            .clone();
    }
    test::TempDir dir_;
};

TEST_F(ProvenanceLabelTest, TextChunksRoundTrip) {
    const ImageProvenance info = sample_provenance();
    write_labelled_png(dir_ / "m.png", gradient_pixels(2, 2, 3), info);
    const core::PngImage image = core::read_png(dir_ / "m.png");
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

TEST_F(ProvenanceLabelTest, XmpPacketLabelsImageAiGenerated) {
    write_labelled_png(dir_ / "x.png", gradient_pixels(2, 2, 3), sample_provenance());
    const core::PngImage image = core::read_png(dir_ / "x.png");
    const core::PngText* xmp = find_text(image, "XML:com.adobe.xmp");
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

TEST_F(ProvenanceLabelTest, GridDescriptionCountsImages) {
    ImageProvenance info = sample_provenance();
    info.seed.reset();
    info.n_images = 16;
    write_labelled_png(dir_ / "g.png", gradient_pixels(4, 4, 3), info);
    const core::PngImage image = core::read_png(dir_ / "g.png");
    EXPECT_EQ(find_text(image, "facegen:n_images")->text, "16");
    EXPECT_EQ(find_text(image, "facegen:seed"), nullptr);
    EXPECT_NE(find_text(image, "Description")->text.find("Grid of AI-generated images"), std::string::npos);
}

TEST_F(ProvenanceLabelTest, SameInputGivesSameBytes) {
    const torch::Tensor pixels = picture(64, 64);
    EXPECT_EQ(encode_labelled_png(pixels, sample_provenance()), encode_labelled_png(pixels, sample_provenance()));
}

TEST_F(ProvenanceLabelTest, WatermarkIsInThePixelsAndNamedInTheText) {
    const torch::Tensor pixels = picture(64, 48);
    const torch::Tensor before = pixels.clone();
    const ImageProvenance info = sample_provenance();
    write_labelled_png(dir_ / "w.png", pixels, info);
    EXPECT_TRUE(pixels.equal(before)) << "the caller's pixels must not change";
    const core::PngImage image = core::read_png(dir_ / "w.png");
    const WatermarkReading reading = read_watermark(image.pixels.data(), image.width, image.height, image.channels);
    ASSERT_TRUE(reading.found);
    EXPECT_EQ(reading.payload, payload_for_model(info.model_id));
    ASSERT_NE(find_text(image, "facegen:watermark"), nullptr);
    EXPECT_EQ(find_text(image, "facegen:watermark")->text, to_string(payload_for_model(info.model_id)));
    EXPECT_TRUE(read_pixels(image).equal(labelled_pixels(pixels, info)));
    // Invisible: the mark changes the picture by far less than a visible edit would.
    const double mse = (read_pixels(image).to(torch::kFloat64) - pixels.to(torch::kFloat64)).pow(2).mean().item<double>();
    EXPECT_GT(mse, 0.0);
    EXPECT_GT(10.0 * std::log10(255.0 * 255.0 / mse), 32.0);
}

TEST_F(ProvenanceLabelTest, NoWatermarkWhenAskedKeepsThePixelsExactly) {
    ImageProvenance info = sample_provenance();
    info.watermark = false;
    const torch::Tensor pixels = picture(64, 64);
    write_labelled_png(dir_ / "n.png", pixels, info);
    const core::PngImage image = core::read_png(dir_ / "n.png");
    EXPECT_TRUE(read_pixels(image).equal(pixels));
    EXPECT_EQ(find_text(image, "facegen:watermark")->text, "none");
    EXPECT_FALSE(read_watermark(image.pixels.data(), image.width, image.height, image.channels).found);
}

TEST_F(ProvenanceLabelTest, ImagesTooSmallToMarkSayNone) {
    const torch::Tensor pixels = picture(16, kWatermarkMinSide);
    EXPECT_FALSE(can_watermark(kWatermarkMinSide, 16, 3));
    EXPECT_TRUE(can_watermark(kWatermarkMinSide, kWatermarkMinSide, 3));
    write_labelled_png(dir_ / "s.png", pixels, sample_provenance());
    const core::PngImage image = core::read_png(dir_ / "s.png");
    EXPECT_TRUE(read_pixels(image).equal(pixels));
    EXPECT_EQ(find_text(image, "facegen:watermark")->text, "none");
}

TEST_F(ProvenanceLabelTest, ImagesOfAModelWithoutIdCarryPrefixZero) {
    ImageProvenance info = sample_provenance();
    info.model_id.clear();  // training previews: the model has no id before it is saved
    write_labelled_png(dir_ / "z.png", picture(64, 64), info);
    const core::PngImage image = core::read_png(dir_ / "z.png");
    const WatermarkReading reading = read_watermark(image.pixels.data(), image.width, image.height, image.channels);
    ASSERT_TRUE(reading.found);
    EXPECT_EQ(reading.payload.model_prefix(), 0u);
}

TEST_F(ProvenanceLabelTest, MalformedModelIdIsNamed) {
    ImageProvenance info = sample_provenance();
    info.model_id = "not-hex";
    try {
        encode_labelled_png(picture(64, 64), info);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("not-hex"), std::string::npos) << e.what();
    }
}

TEST_F(ProvenanceLabelTest, PixelsSurviveWithoutWatermark) {
    const torch::Tensor pixels = gradient_pixels(8, 6, 3);
    write_labelled_png(dir_ / "p.png", pixels, sample_provenance());
    const core::PngImage image = core::read_png(dir_ / "p.png");
    EXPECT_EQ(image.width, 6);
    EXPECT_EQ(image.height, 8);
    const torch::Tensor read = torch::from_blob(const_cast<uint8_t*>(image.pixels.data()), {8, 6, 3}, torch::kUInt8);
    EXPECT_TRUE(read.equal(pixels));
}

TEST_F(ProvenanceLabelTest, NonContiguousPixelsAreLaidOutFirst) {
    const torch::Tensor chw = gradient_pixels(3, 4, 5);
    const torch::Tensor hwc_view = chw.permute({1, 2, 0});  // [4, 5, 3], not contiguous
    write_labelled_png(dir_ / "v.png", hwc_view, sample_provenance());
    const core::PngImage image = core::read_png(dir_ / "v.png");
    const torch::Tensor read = torch::from_blob(const_cast<uint8_t*>(image.pixels.data()), {4, 5, 3}, torch::kUInt8);
    EXPECT_TRUE(read.equal(hwc_view));
}

TEST_F(ProvenanceLabelTest, WrongPixelTensorIsRefused) {
    EXPECT_THROW(encode_labelled_png(torch::zeros({4, 4, 3}, torch::kFloat32), sample_provenance()), c10::Error);
    EXPECT_THROW(encode_labelled_png(torch::zeros({1, 4, 4, 3}, torch::kUInt8), sample_provenance()), c10::Error);
}

}  // namespace
}  // namespace facegen::provenance

// The patch detector: spectral features (shape, indifference to brightness and contrast,
// response to upsampling traces), the patch grid and working scale, the re-encoding that
// both classes go through, its file, the "uncertain" band, the heat map, and a toy world
// it must learn to tell apart on a held-out family.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/random_stream.h"
#include "core/safetensors.h"
#include "data/image_io.h"
#include "detect/detector.h"
#include "detect/heat_map.h"
#include "detect/inspect.h"
#include "detect/spectral_patches.h"
#include "detect/world_data.h"
#include "detect/world_training.h"
#include "test_pictures.h"
#include "test_support.h"

namespace facegen::detect {
namespace {

namespace fs = std::filesystem;

/// [N, 3, 64, 64] float patches of smooth pictures plus a little noise.
torch::Tensor smooth_patches(int64_t n, uint64_t seed) {
    std::vector<torch::Tensor> patches;
    for (int64_t i = 0; i < n; ++i) patches.push_back(test::smooth_picture(kPatchSide, static_cast<int64_t>(seed) + i));
    torch::Tensor out = torch::stack(patches).permute({0, 3, 1, 2}).to(torch::kFloat32);
    return out + core::gaussian_tensor(out.sizes(), seed).to(torch::kFloat32) * 2.0;
}

std::string png_bytes(const torch::Tensor& hwc) {
    data::RgbImage image(hwc.size(1), hwc.size(0));
    std::copy_n(hwc.contiguous().data_ptr<uint8_t>(), image.pixels.size(), image.pixels.begin());
    return data::encode_png(image);
}

Detector patch_detector(double scale, double offset, double threshold, double uncertain_below) {
    DetectorInfo info;
    info.kind = DetectorKind::kSpectralPatches;
    info.spectral.hidden = 4;
    info.calibration = {scale, offset};
    info.threshold = threshold;
    info.uncertain_below = uncertain_below;
    torch::manual_seed(3);
    return Detector(info);
}

TEST(SpectralFeaturesTest, ShapeAndIndifferenceToBrightnessAndContrast) {
    const torch::Tensor patches = smooth_patches(3, 1);
    const torch::Tensor features = spectral_features(patches);
    ASSERT_EQ(features.sizes(), (std::vector<int64_t>{3, kSpectralFeatureCount}));
    EXPECT_TRUE(torch::isfinite(features).all().item<bool>());
    // Brightness shifts the mean (removed); contrast scales every power alike (a constant in log).
    const torch::Tensor edited = spectral_features(patches * 0.5 + 30.0);
    EXPECT_LT((edited - features).abs().max().item<double>(), 0.05);
    EXPECT_THROW(spectral_features(torch::zeros({1, 3, 32, 32})), c10::Error);
}

TEST(SpectralFeaturesTest, UpsamplingTracesRaiseTheNyquistPeak) {
    const torch::Tensor plain = smooth_patches(2, 5);
    // A 2x2 checkerboard of +-6: what a transposed convolution leaves behind.
    const torch::Tensor y = torch::arange(kPatchSide).view({kPatchSide, 1}), x = torch::arange(kPatchSide).view({1, kPatchSide});
    const torch::Tensor checker = ((x + y) % 2 * 2 - 1).to(torch::kFloat32) * 6.0;
    const torch::Tensor traced = plain + checker;
    const int64_t diagonal_nyquist = 16 + 8 + 8 + 2;  // third periodic figure: (32, 32)
    const torch::Tensor a = spectral_features(plain).select(1, diagonal_nyquist);
    const torch::Tensor b = spectral_features(traced).select(1, diagonal_nyquist);
    EXPECT_GT((b - a).min().item<double>(), 3.0) << a << b;
}

TEST(PatchGridTest, CoversTheImageWithTheLastPatchFlush) {
    const torch::Tensor image = torch::randint(0, 256, {100, 150, 3}, torch::kUInt8);
    const PatchGrid grid = patch_grid(image);
    EXPECT_EQ(grid.rows, 3);
    EXPECT_EQ(grid.cols, 4);
    ASSERT_EQ(grid.patches.size(0), 12);
    const torch::Tensor last = image.narrow(0, 100 - kPatchSide, kPatchSide).narrow(1, 150 - kPatchSide, kPatchSide);
    EXPECT_TRUE(torch::equal(grid.patches[11], last.permute({2, 0, 1}).to(torch::kFloat32)));
}

TEST(PatchGridTest, LargeImagesAreReducedToTheWorkingScale) {
    data::RgbImage big(1000, 700);
    const torch::Tensor working = to_working_scale(big);
    EXPECT_EQ(working.size(0), kPatchWorkingSide);
    EXPECT_NEAR(working.size(1), 1000.0 * kPatchWorkingSide / 700.0, 1.0);
    data::RgbImage small(120, 90);
    EXPECT_EQ(to_working_scale(small).sizes(), (std::vector<int64_t>{90, 120, 3}));
}

TEST(WildReencodeTest, SizeAndQualityAreDrawnInRangeAndRepeatable) {
    const torch::Tensor square = test::smooth_picture(300, 2);
    std::set<int64_t> sides;
    for (uint64_t seed = 0; seed < 8; ++seed) {
        core::RandomStream a(seed), b(seed);
        const ReencodedImage first = reencode_like_the_wild(square, a);
        const ReencodedImage second = reencode_like_the_wild(square, b);
        EXPECT_TRUE(torch::equal(first.pixels, second.pixels));
        EXPECT_GE(first.pixels.size(0), 112);
        EXPECT_LE(first.pixels.size(0), 176);
        EXPECT_EQ(first.pixels.size(0), first.pixels.size(1));
        EXPECT_GE(first.quality, 65);
        EXPECT_LE(first.quality, 95);
        EXPECT_GT(first.quantisation_sum, 0);
        sides.insert(first.pixels.size(0));
    }
    EXPECT_GT(sides.size(), 3u);
    data::RgbImage image(32, 32);
    EXPECT_GT(jpeg_quantisation_sum(data::encode_jpeg(image, 50)), jpeg_quantisation_sum(data::encode_jpeg(image, 95)));
    EXPECT_EQ(jpeg_quantisation_sum(data::encode_png(image)), 0);
}

TEST(WildReencodeTest, LargeImagesEnterFromTheRealPhotosScale) {
    // Both classes must reach the crop and resize from the same scale and JPEG history: a
    // 600 px image is first reduced into [176, 224], a 200 px one (the real photos' size)
    // keeps its size, both are saved as JPEG there, and both draw the same number of
    // values from their stream.
    const WildReencodeOptions options;
    const torch::Tensor large = test::smooth_picture(600, 4), small = test::smooth_picture(200, 5);
    std::set<int64_t> sides;
    for (uint64_t seed = 0; seed < 12; ++seed) {
        core::RandomStream a(seed), b(seed);
        const torch::Tensor reduced = to_source_scale(large, a, options);
        EXPECT_GE(reduced.size(0), options.source_min_side);
        EXPECT_LE(reduced.size(0), options.source_max_side);
        EXPECT_EQ(reduced.size(0), reduced.size(1));
        sides.insert(reduced.size(0));
        const torch::Tensor kept = to_source_scale(small, b, options);
        EXPECT_EQ(kept.sizes(), small.sizes());
        // Saved as a JPEG at the source scale like the large one: close, not equal.
        EXPECT_FALSE(torch::equal(kept, small));
        EXPECT_LT((kept.to(torch::kFloat32) - small.to(torch::kFloat32)).abs().mean().item<float>(), 4.0f);
        EXPECT_EQ(a.next_u64(), b.next_u64()) << "the classes drew different amounts from their streams";
    }
    EXPECT_GT(sides.size(), 4u);
    WildReencodeOptions off = options;
    off.source_max_side = 0;
    core::RandomStream c(1);
    EXPECT_TRUE(torch::equal(to_source_scale(large, c, off), large));
}

TEST(PatchDetectorFileTest, SaveAndLoadGiveTheSameScoresAndBand) {
    test::TempDir dir;
    Detector detector = patch_detector(1.5, -0.25, 0.6, 0.3);
    detector.save(dir / "d.safetensors");
    Detector loaded = Detector::load(dir / "d.safetensors");
    EXPECT_EQ(loaded.info().kind, DetectorKind::kSpectralPatches);
    EXPECT_DOUBLE_EQ(loaded.info().uncertain_below, 0.3);
    EXPECT_EQ(loaded.info().spectral.hidden, 4);
    const torch::Tensor image = test::smooth_picture(150, 4);
    const ImageScore a = detector.score(image), b = loaded.score(image);
    EXPECT_EQ(a.patch_logits, b.patch_logits);
    EXPECT_EQ(a.rows * a.cols, 16);
}

TEST(PatchDetectorFileTest, FilesOfVersionOneStillLoadAsFaceCnn) {
    test::TempDir dir;
    // A version 1 file as facegen wrote them before the patch detector: no kind, no band.
    Detector cnn(DetectorInfo{{8}, {1.0, 0.0}, 0.5, "{}"});
    cnn.save(dir / "v2.safetensors");
    core::SafetensorsFile file = core::read_safetensors(dir / "v2.safetensors");
    file.metadata["format_version"] = "1";
    file.metadata.erase("kind");
    file.metadata.erase("uncertain_below");
    core::write_safetensors(dir / "v1.safetensors", file.tensors, file.metadata);
    const Detector loaded = Detector::load(dir / "v1.safetensors");
    EXPECT_EQ(loaded.info().kind, DetectorKind::kFaceCnn);
    EXPECT_DOUBLE_EQ(loaded.info().uncertain_below, 0.2);
    file.metadata["format_version"] = "3";
    core::write_safetensors(dir / "v3.safetensors", file.tensors, file.metadata);
    test::expect_error_mentioning([&] { Detector::load(dir / "v3.safetensors"); }, {"reads version 1 to 2"});
}

TEST(UncertainBandTest, WeakEvidenceIsUncertainNotNoSign) {
    const std::string photo = png_bytes(test::smooth_picture(128, 9));
    Detector middle = patch_detector(0.0, 0.0, 0.6, 0.2);  // every image: probability 0.5
    const ImageVerdict weak = inspect_image(photo, "photo.png", &middle, 0.6);
    ASSERT_TRUE(weak.error.empty()) << weak.error;
    EXPECT_TRUE(weak.uncertain);
    EXPECT_FALSE(weak.generated);
    EXPECT_EQ(to_json(weak)["verdict"], "uncertain");
    Detector low = patch_detector(0.0, -5.0, 0.6, 0.2);  // probability 0.007
    EXPECT_EQ(to_json(inspect_image(photo, "photo.png", &low, 0.6))["verdict"], "no sign of generation");
    Detector high = patch_detector(0.0, 5.0, 0.6, 0.2);
    EXPECT_EQ(to_json(inspect_image(photo, "photo.png", &high, 0.6))["verdict"], "generated");
}

TEST(HeatMapTest, PatchesOfHighScoreAreRedAndLowOnesBlue) {
    DetectorInfo info;
    info.threshold = 0.5;
    info.uncertain_below = 0.2;
    ImageScore score;
    score.rows = score.cols = 2;
    score.patch_logits = {-10, -10, -10, 10};
    const torch::Tensor view = torch::full({96, 96, 3}, 128, torch::kUInt8);
    const data::RgbImage map = render_heat_map(view, score, info);
    EXPECT_EQ(map.width, 96 * 3);
    EXPECT_EQ(map.height, 96 * 3);
    const uint8_t* corner_low = map.at(0, 0);
    const uint8_t* corner_high = map.at(map.width - 1, map.height - 1);
    EXPECT_GT(corner_low[2], corner_low[0] + 50);
    EXPECT_GT(corner_high[0], corner_high[2] + 50);
}

uint32_t png_crc(const std::string& bytes) {
    uint32_t crc = 0xFFFFFFFFu;
    for (unsigned char byte : bytes) {
        crc ^= byte;
        for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

std::string big_endian(uint32_t value) {
    return {static_cast<char>(value >> 24), static_cast<char>(value >> 16), static_cast<char>(value >> 8),
            static_cast<char>(value)};
}

TEST(AnimatedInputTest, AnimatedWebpIsRefusedByNameAndAnimatedPngReadsItsFirstFrame) {
    std::string webp = "RIFF" + std::string(4, '\0') + "WEBPVP8X" + big_endian(0x0A000000u) + std::string(1, '\x02') +
                       std::string(9, '\0');
    const ImageVerdict refused = inspect_image(webp, "moving.webp", nullptr, 0.5);
    EXPECT_NE(refused.error.find("moving.webp"), std::string::npos) << refused.error;
    EXPECT_NE(refused.error.find("animated WebP"), std::string::npos) << refused.error;

    // An acTL chunk (2 frames, endless) right after IHDR, as APNG writers put it.
    const std::string png = png_bytes(test::smooth_picture(64, 3));
    const std::string body = "acTL" + big_endian(2) + big_endian(0);
    const std::string actl = big_endian(8) + body + big_endian(png_crc(body));
    const size_t after_ihdr = 8 + 4 + 4 + 13 + 4;
    const std::string apng = png.substr(0, after_ihdr) + actl + png.substr(after_ihdr);
    const ImageVerdict first_frame = inspect_image(apng, "moving.png", nullptr, 0.5);
    ASSERT_TRUE(first_frame.error.empty()) << first_frame.error;
    EXPECT_NE(std::find(first_frame.notes.begin(), first_frame.notes.end(), "animated: first frame judged"),
              first_frame.notes.end());
}

/// A toy world on disk: "real" smooth pictures and "generated" ones with extra fine grain,
/// in two generated families, with a manifest.
fs::path write_toy_world(const fs::path& dir) {
    std::ofstream manifest(dir / "manifest.tsv");
    manifest << "path\tsource\tlabel\tfamily\n";
    const auto write = [&](const std::string& source, const std::string& label, const std::string& family, int n,
                           double grain, int64_t seed0) {
        fs::create_directories(dir / source);
        for (int i = 0; i < n; ++i) {
            const int64_t seed = seed0 + i;
            torch::Tensor image = test::smooth_picture(200, seed).to(torch::kFloat32);
            image += core::gaussian_tensor(image.sizes(), static_cast<uint64_t>(seed)).to(torch::kFloat32) * grain;
            const torch::Tensor pixels = image.round().clamp(0, 255).to(torch::kUInt8);
            const std::string name = source + "/" + std::to_string(i) + ".png";
            core::write_file_atomically(dir / name, png_bytes(pixels));
            manifest << name << '\t' << source << '\t' << label << '\t' << family << '\n';
        }
    };
    write("photos", "real", "photo", 48, 1.0, 0);
    write("gan", "generated", "ganlike", 24, 14.0, 1000);
    write("diffusion", "generated", "difflike", 24, 14.0, 2000);
    return dir;
}

TEST(WorldTrainingTest, LearnsAToyWorldAndMeasuresTheHeldOutFamily) {
    test::TempDir dir;
    WorldTrainingOptions options;
    options.folder = write_toy_world(dir.path());
    options.held_out_families = {"difflike"};
    options.train_per_source = 24;
    options.calibrate_per_source = 12;
    options.test_per_source = 24;
    options.reencodings = 1;
    options.steps = 150;
    options.net.hidden = 8;
    Detector detector = train_world_detector(options);
    const nlohmann::json report = nlohmann::json::parse(detector.info().report_json);
    ASSERT_TRUE(report.contains("held_out")) << report.dump();
    const nlohmann::json& clean = report["held_out"]["clean"]["families"]["difflike"];
    EXPECT_GT(clean["auc"].get<double>(), 0.9) << clean.dump();
    EXPECT_TRUE(report["held_out"].contains("shortcut_check"));
    EXPECT_GT(report["held_out"]["images_per_s"].get<double>(), 0);
    EXPECT_EQ(report["training"]["fit_images_per_source"].count("diffusion"), 0u) << "a held-out family was trained on";

    options.train_families = {"difflike"};
    EXPECT_THROW(options.validate(), Error);
    options.train_families.clear();
    options.source_weights["photos"] = 0;
    EXPECT_THROW(options.validate(), Error) << "a source weighted 0 would drop out of its class silently";
}

}  // namespace
}  // namespace facegen::detect

// The detector: augmentations, the file format (round trip and refusals), the verdict on
// labelled, watermarked, re-saved and broken images, and a short training that learns.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "data/image_io.h"
#include "data/pack.h"
#include "detect/detector.h"
#include "detect/inspect.h"
#include "detect/training.h"
#include "model/model_file.h"
#include "provenance/labelled_png.h"
#include "test_pictures.h"
#include "test_support.h"
#include "tiny_model.h"

namespace facegen::detect {
namespace {

namespace fs = std::filesystem;

torch::Tensor picture(int64_t side, int64_t seed) { return test::smooth_picture(side, seed); }

std::string png_bytes(const torch::Tensor& hwc) {
    data::RgbImage image(hwc.size(1), hwc.size(0));
    std::copy_n(hwc.contiguous().data_ptr<uint8_t>(), image.pixels.size(), image.pixels.begin());
    return data::encode_png(image);
}

provenance::ImageProvenance sample_provenance() {
    provenance::ImageProvenance info;
    info.model_id = "00c0ffee12345678";
    info.seed = 7;
    info.latent_space = "z";
    info.noise_mode = "const";
    info.software_version = "test";
    return info;
}

class DetectFileTest : public ::testing::Test {
protected:
    Detector make_detector() {
        torch::manual_seed(1);
        return Detector(DetectorInfo{{8}, {2.0, -0.5}, 0.6, R"({"note": "test"})"});
    }
    test::TempDir dir_;
};

TEST_F(DetectFileTest, SaveAndLoadGiveTheSameScores) {
    Detector detector = make_detector();
    detector.save(dir_ / "d.safetensors");
    Detector loaded = Detector::load(dir_ / "d.safetensors");
    const torch::Tensor images = torch::stack({picture(64, 1), picture(64, 2), picture(128, 3).narrow(0, 0, 64).narrow(1, 0, 64)});
    EXPECT_EQ(detector.logits(images), loaded.logits(images));
    EXPECT_DOUBLE_EQ(loaded.info().calibration.scale, 2.0);
    EXPECT_DOUBLE_EQ(loaded.info().calibration.offset, -0.5);
    EXPECT_DOUBLE_EQ(loaded.info().threshold, 0.6);
    EXPECT_EQ(nlohmann::json::parse(loaded.info().report_json)["note"], "test");
}

TEST_F(DetectFileTest, TruncatedForeignAndMissingFilesAreNamed) {
    make_detector().save(dir_ / "d.safetensors");
    std::ifstream in(dir_ / "d.safetensors", std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    core::write_file_atomically(dir_ / "cut.safetensors", bytes.substr(0, bytes.size() / 2));
    core::write_file_atomically(dir_ / "junk.safetensors", "not a detector at all");
    for (const char* name : {"cut.safetensors", "junk.safetensors", "missing.safetensors"}) {
        try {
            Detector::load(dir_ / name);
            ADD_FAILURE() << name << " loaded";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
        }
    }
    // A generator model file is a safetensors file too, but not a detector.
    model::Generator generator = test::tiny_generator_for_images(1);
    model::save_model_file(dir_ / "g.safetensors", generator, {});
    try {
        Detector::load(dir_ / "g.safetensors");
        ADD_FAILURE() << "a generator loaded as a detector";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("g.safetensors"), std::string::npos) << e.what();
    }
}

TEST(DetectInspectTest, LabelledPngShowsLabelAndWatermark) {
    const provenance::ImageProvenance info = sample_provenance();
    const std::string png = provenance::encode_labelled_png(picture(64, 4), info);
    const ImageVerdict verdict = inspect_image(png, "face.png", nullptr, 0.5);
    ASSERT_TRUE(verdict.error.empty()) << verdict.error;
    EXPECT_TRUE(verdict.generated);
    EXPECT_TRUE(verdict.metadata.found);
    EXPECT_EQ(verdict.metadata.model_id, info.model_id);
    ASSERT_TRUE(verdict.watermark.has_value());
    EXPECT_TRUE(verdict.watermark->found);
    EXPECT_EQ(verdict.watermark->payload, provenance::payload_for_model(info.model_id));
    EXPECT_EQ(verdict.reasons.size(), 2u);
    const nlohmann::json json = to_json(verdict);
    EXPECT_EQ(json["verdict"], "generated");
    EXPECT_EQ(json["watermark"]["model_prefix"], "00c0ffee");
}

TEST(DetectInspectTest, ReSavedAsJpegTheWatermarkStillSpeaks) {
    // Decode the labelled PNG and save it as JPEG 75: metadata gone, the mark stays.
    const std::string png = provenance::encode_labelled_png(picture(64, 5), sample_provenance());
    const data::DecodedImage decoded = data::decode_image(png, "face.png");
    const std::string jpeg = data::encode_jpeg(decoded.image, 75);
    const ImageVerdict verdict = inspect_image(jpeg, "face.jpg", nullptr, 0.5);
    ASSERT_TRUE(verdict.error.empty()) << verdict.error;
    EXPECT_FALSE(verdict.metadata.found);
    ASSERT_TRUE(verdict.watermark.has_value());
    EXPECT_TRUE(verdict.watermark->found);
    EXPECT_TRUE(verdict.generated);
}

TEST(DetectInspectTest, AnUnmarkedPictureShowsNoSign) {
    const ImageVerdict verdict = inspect_image(png_bytes(picture(80, 6)), "photo.png", nullptr, 0.5);
    ASSERT_TRUE(verdict.error.empty()) << verdict.error;
    EXPECT_FALSE(verdict.generated);
    EXPECT_TRUE(verdict.reasons.empty());
    EXPECT_EQ(to_json(verdict)["verdict"], "no sign of generation");
}

TEST(DetectInspectTest, DetectorScoresLargeImagesWithinBoundedMemory) {
    torch::manual_seed(2);
    Detector detector(DetectorInfo{{8}, {1.0, 0.0}, 0.5, "{}"});
    const ImageVerdict verdict = inspect_image(png_bytes(picture(2048, 7)), "big.png", &detector, 0.5);
    ASSERT_TRUE(verdict.error.empty()) << verdict.error;
    ASSERT_TRUE(verdict.probability.has_value());
    EXPECT_GE(*verdict.probability, 0.0);
    EXPECT_LE(*verdict.probability, 1.0);
    // Under 64 px the detector cannot read the image; the other evidence still counts.
    const ImageVerdict small = inspect_image(png_bytes(picture(48, 7)), "small.png", &detector, 0.5);
    ASSERT_TRUE(small.error.empty()) << small.error;
    EXPECT_FALSE(small.probability.has_value());
    EXPECT_FALSE(small.detector_note.empty());
}

TEST(DetectInspectTest, BrokenInputGivesAVerdictWithAnError) {
    const std::string png = png_bytes(picture(64, 8));
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"text.txt", "hello, I am not an image"},
        {"cut.png", png.substr(0, png.size() / 2)},
        {"tiny.png", png_bytes(picture(1, 1))},
        {"empty.jpg", ""},
    };
    for (const auto& [name, bytes] : cases) {
        const ImageVerdict verdict = inspect_image(bytes, name, nullptr, 0.5);
        EXPECT_FALSE(verdict.error.empty()) << name;
        EXPECT_NE(verdict.error.find(name), std::string::npos) << verdict.error;
        EXPECT_TRUE(to_json(verdict).contains("error"));
    }
}

TEST(DetectInspectTest, HeaderClaimingAHugeImageIsRefusedBeforeDecoding) {
    // A valid JPEG whose header says 30000x30000 (900 megapixels), with almost no data.
    data::RgbImage small(16, 16);
    std::string jpeg = data::encode_jpeg(small, 90);
    const size_t sof = jpeg.find("\xFF\xC0", 0, 2);
    ASSERT_NE(sof, std::string::npos);
    for (size_t at : {sof + 5, sof + 7}) {  // height, then width, big-endian
        jpeg[at] = static_cast<char>(30000 >> 8);
        jpeg[at + 1] = static_cast<char>(30000 & 0xFF);
    }
    const ImageVerdict verdict = inspect_image(jpeg, "huge.jpg", nullptr, 0.5);
    EXPECT_NE(verdict.error.find("too large"), std::string::npos) << verdict.error;
}

TEST(DetectTrainingTest, FakeSourceTextIsParsedOrNamed) {
    const FakeSource plain = parse_fake_source("bundled=models/m.safetensors");
    EXPECT_EQ(plain.name, "bundled");
    EXPECT_EQ(plain.model, "models/m.safetensors");
    EXPECT_DOUBLE_EQ(plain.truncation_psi, 1.0);
    const FakeSource psi = parse_fake_source("b07=m@x.safetensors@0.7");
    EXPECT_EQ(psi.model, "m@x.safetensors");
    EXPECT_DOUBLE_EQ(psi.truncation_psi, 0.7);
    for (const char* bad : {"nomodel", "=m.safetensors", "a=", "a=m.safetensors@psi", "a=m.safetensors@-1"}) {
        EXPECT_THROW(parse_fake_source(bad), Error) << bad;
    }
}

// End to end at toy scale: "real" faces are smooth pictures, "generated" ones come from a
// random 64 px generator; a few dozen steps must tell them apart on unseen images, and the
// held-out generator (another random generator) is measured without being trained on.
TEST(DetectTrainingTest, ShortTrainingLearnsAndReports) {
    test::TempDir dir;
    {
        data::PackWriter writer(dir / "real", 64, 3);
        data::PackIndex index;
        for (int64_t i = 0; i < 96; ++i) {
            const torch::Tensor chw = picture(64, i).permute({2, 0, 1}).contiguous();
            writer.append(chw.data_ptr<uint8_t>(), {{"source", "picture" + std::to_string(i)}});
            index.labels.push_back({});
            index.splits.push_back(i < 64 ? data::Split::kTrain : data::Split::kVal);
        }
        writer.commit(index);
    }
    for (int seed : {1, 2}) {
        model::Generator generator = test::tiny_generator_for_images(seed, 64);
        model::save_model_file(dir / ("g" + std::to_string(seed) + ".safetensors"), generator, {});
    }
    DetectorTrainingOptions options;
    options.real_dataset = dir / "real";
    options.fakes = {parse_fake_source("g1=" + (dir / "g1.safetensors").string()),
                     parse_fake_source("g2=" + (dir / "g2.safetensors").string())};
    options.held_out = {"g2"};
    options.train_per_source = 64;
    options.eval_per_source = 32;
    options.steps = 40;
    options.batch = 16;
    options.net.width = 8;
    Detector detector = train_detector(options);
    const nlohmann::json report = nlohmann::json::parse(detector.info().report_json);
    EXPECT_GT(report["test"]["clean"]["training_generators"]["auc"].get<double>(), 0.9) << report.dump(1);
    EXPECT_TRUE(report["test"]["clean"]["per_source"].contains("g2"));
    EXPECT_TRUE(report["test"]["jpeg75"]["per_source"].contains("g1"));
    EXPECT_GT(report["speed"]["images_per_s"].get<double>(), 0.0);
    detector.save(dir / "d.safetensors");
    EXPECT_EQ(Detector::load(dir / "d.safetensors").info().report_json, detector.info().report_json);

    options.held_out = {"g1", "g2"};
    EXPECT_THROW(train_detector(options), Error);
    options.held_out = {"g3"};
    EXPECT_THROW(train_detector(options), Error);
}

}  // namespace
}  // namespace facegen::detect

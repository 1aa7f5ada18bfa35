// facegen::anonymize: the mask, the paste through the inverse alignment, colour matching,
// JPEG labels, and whole photos with the bundled models: pixels outside the face keep their
// bytes, the face changes and stops being the same person, a photo without faces comes
// back as it was, and bad input is refused by name with nothing written.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "anonymize/anonymizer.h"
#include "anonymize/colour_match.h"
#include "anonymize/face_mask.h"
#include "anonymize/face_paste.h"
#include "anonymize/labelled_photo.h"
#include "anonymize/photo_files.h"
#include "core/atomic_file.h"
#include "data/image_io.h"
#include "generate/session.h"
#include "test_pictures.h"
#include "test_support.h"

namespace facegen::anonymize {
namespace {

namespace fs = std::filesystem;
using test::error_message_of;

data::RgbImage to_image(const torch::Tensor& hwc) {
    const torch::Tensor pixels = hwc.contiguous();
    data::RgbImage image(pixels.size(1), pixels.size(0));
    std::copy_n(pixels.data_ptr<uint8_t>(), image.pixels.size(), image.pixels.data());
    return image;
}

/// 68 landmarks of an upright face with eyes at y = 100 (x 80 and 120) and mouth corners at
/// y = 150: what ffhq_quad reads (eyes 36-47, mouth corners 48 and 54).
std::vector<data::Point2> upright_landmarks() {
    std::vector<data::Point2> points(68, data::Point2{100, 120});
    for (int i = 36; i < 42; ++i) points[i] = {80, 100};
    for (int i = 42; i < 48; ++i) points[i] = {120, 100};
    points[48] = {85, 150};
    points[54] = {115, 150};
    return points;
}

TEST(FaceMask, IsOneInTheMiddleZeroOutsideAndFadesBetween) {
    const FaceMask mask = face_mask_for(0.7);
    EXPECT_DOUBLE_EQ(mask.weight(mask.centre_x, mask.centre_y), 1.0);
    EXPECT_DOUBLE_EQ(mask.weight(0.02, 0.02), 0.0);
    EXPECT_DOUBLE_EQ(mask.weight(mask.centre_x + mask.radius_x * 1.001, mask.centre_y), 0.0);
    const double rim = mask.weight(mask.centre_x + mask.radius_x * 0.9, mask.centre_y);
    EXPECT_GT(rim, 0.0);
    EXPECT_LT(rim, 1.0);
    // A tighter crop (larger scale) shows the face smaller: its mask is smaller too.
    EXPECT_LT(face_mask_for(1.0).radius_x, mask.radius_x);
}

TEST(FacePaste, ChangesOnlyPixelsUnderTheMask) {
    const data::RgbImage original = to_image(test::smooth_picture(240, 3));
    data::RgbImage photo = original;
    const data::FFHQQuad quad = data::ffhq_quad(upright_landmarks(), 0.7);
    const FaceMask mask = face_mask_for(0.7);
    const torch::Tensor face = torch::full({64, 64, 3}, 250, torch::kUInt8);
    const int64_t changed = paste_face(photo, quad, mask, face);
    EXPECT_GT(changed, 1000);
    int64_t outside_changed = 0, inside_changed = 0;
    for (int64_t y = 0; y < photo.height; ++y) {
        for (int64_t x = 0; x < photo.width; ++x) {
            const data::Point2 q = data::ffhq_project(quad, {static_cast<double>(x), static_cast<double>(y)}, 1);
            const bool differs = !std::equal(photo.at(x, y), photo.at(x, y) + 3, original.at(x, y));
            if (mask.weight(q.x + 0.5, q.y + 0.5) <= 0) {
                outside_changed += differs;
            } else {
                inside_changed += differs;
            }
        }
    }
    EXPECT_EQ(outside_changed, 0);
    EXPECT_EQ(inside_changed, changed);
    // The middle of the face is the pasted face's colour.
    const data::Point2 centre = quad.center;
    EXPECT_EQ(photo.at(std::lround(centre.x), std::lround(centre.y) + 10)[0], 250);
}

TEST(FacePaste, BlurKeepsPixelsOutsideTheMaskAndFlattensTheFace) {
    data::RgbImage original(240, 240);
    for (int64_t y = 0; y < 240; ++y) {
        for (int64_t x = 0; x < 240; ++x) std::fill_n(original.at(x, y), 3, static_cast<uint8_t>(((x / 3 + y / 3) % 2) * 255));
    }
    data::RgbImage photo = original;
    const data::FFHQQuad quad = data::ffhq_quad(upright_landmarks(), 0.7);
    const FaceMask mask = face_mask_for(0.7);
    EXPECT_GT(blur_face(photo, quad, mask), 1000);
    const PixelBox box = mask_box(quad, mask, photo.width, photo.height);
    for (int64_t y = 0; y < photo.height; ++y) {
        for (int64_t x = 0; x < photo.width; ++x) {
            if (x < box.left || x >= box.right || y < box.top || y >= box.bottom) {
                ASSERT_TRUE(std::equal(photo.at(x, y), photo.at(x, y) + 3, original.at(x, y))) << x << "," << y;
            }
        }
    }
    // The checkerboard under the middle of the face becomes grey.
    const uint8_t middle = photo.at(std::lround(quad.center.x), std::lround(quad.center.y))[0];
    EXPECT_NEAR(middle, 128, 20);
}

TEST(ColourMatch, MovesTheFacesMeanToTheReferences) {
    const torch::Tensor face = test::smooth_picture(64, 1);
    const torch::Tensor reference = (test::smooth_picture(64, 5).to(torch::kInt32) / 2 + 20).to(torch::kUInt8);
    const torch::Tensor weights = torch::ones({64, 64});
    const torch::Tensor matched = match_colour(face, reference, weights);
    const torch::Tensor mean_matched = matched.to(torch::kFloat32).mean(torch::IntArrayRef{0, 1});
    const torch::Tensor mean_reference = reference.to(torch::kFloat32).mean(torch::IntArrayRef{0, 1});
    EXPECT_LT((mean_matched - mean_reference).abs().max().item<float>(), 2.0f);
}

TEST(LabelledPhoto, JpegCarriesTheXmpPacketAndStillDecodes) {
    const data::RgbImage image = to_image(test::smooth_picture(80, 2));
    provenance::ImageProvenance info;
    info.model_id = "518486c08355a537";
    info.composite = "1 face replaced by people who do not exist";
    info.watermark = false;
    const std::string jpeg = encode_labelled_photo(image, PhotoFormat::kJPEG, info);
    EXPECT_NE(jpeg.find("http://ns.adobe.com/xap/1.0/"), std::string::npos);
    EXPECT_NE(jpeg.find("compositeWithTrainedAlgorithmicMedia"), std::string::npos);
    const data::DecodedImage decoded = data::decode_image(jpeg, "labelled.jpg");
    EXPECT_EQ(decoded.image.width, 80);
    const std::string png = encode_labelled_photo(image, PhotoFormat::kPNG, info);
    EXPECT_NE(png.find("compositeWithTrainedAlgorithmicMedia"), std::string::npos);
    EXPECT_EQ(data::decode_image(png, "labelled.png").image.pixels, image.pixels);  // lossless, no watermark
    EXPECT_NE(error_message_of([] { insert_jpeg_xmp("not a jpeg", "x", ""); }).find("no SOI"), std::string::npos);
    EXPECT_NE(error_message_of([] { format_for_path("out.gif"); }).find("'.gif'"), std::string::npos);
}

TEST(AnonymizeOptions, OutOfRangeValuesAreNamed) {
    AnonymizeOptions options;
    options.pool_size = 0;
    EXPECT_NE(error_message_of([&] { options.validate(); }).find("pool size 0"), std::string::npos);
    EXPECT_NE(error_message_of([] { parse_fallback("pixelate"); }).find("unknown fallback 'pixelate'"), std::string::npos);
    EXPECT_EQ(parse_fallback("keep"), Fallback::kKeep);
}

/// The bundled generator, classifier and identity network with a small pool: loaded once.
class AnonymizerTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        const fs::path models = test::source_dir() / "models";
        for (const char* name : {"facegen-default.safetensors", "facegen-attributes.safetensors",
                                 "facegen-face-recognition.safetensors"}) {
            if (!fs::exists(models / name)) {
                skip_reason_ = std::string(name) + " is not in this checkout";
                return;
            }
        }
        if (!fs::exists(data::kDefaultPredictorPath)) {
            skip_reason_ = "dlib's 68-landmark model is not installed";
            return;
        }
        AnonymizerModels files;
        files.generator = models / "facegen-default.safetensors";
        files.classifier = models / "facegen-attributes.safetensors";
        files.face_recognition = models / "facegen-face-recognition.safetensors";
        AnonymizeOptions options;
        options.pool_size = 24;
        options.verify = true;
        anonymizer_ = std::make_unique<Anonymizer>(files, options);
    }
    static void TearDownTestSuite() { anonymizer_.reset(); }
    void SetUp() override {
        if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    }
    /// A generated face enlarged to 160 px in a 260 x 220 grey frame: a photo with one face
    /// that needs no data beside the checkout.
    static data::RgbImage generated_photo() {
        generate::Session session(test::source_dir() / "models" / "facegen-default.safetensors");
        generate::Request request;
        request.seeds = {7};
        request.watermark = false;
        const data::RgbImage face = data::resize_area(to_image(session.run(request).front().pixels), 160, 160);
        data::RgbImage photo(260, 220);
        std::fill(photo.pixels.begin(), photo.pixels.end(), 110);
        for (int64_t y = 0; y < 160; ++y) std::copy_n(face.at(0, y), 160 * 3, photo.at(50, 30 + y));
        return photo;
    }
    static inline std::unique_ptr<Anonymizer> anonymizer_;
    static inline std::string skip_reason_;
    test::TempDir dir_;
};

void expect_face_replaced_and_rest_untouched(const data::RgbImage& photo, const AnonymizedPhoto& result) {
    ASSERT_GE(result.faces.size(), 1u);
    const FaceOutcome& face = result.faces.front();
    EXPECT_EQ(face.action, FaceOutcome::Action::kReplaced) << face.reason;
    EXPECT_GE(face.identity_distance, 0.6);
    EXPECT_GT(face.pixels_changed, 500);
    EXPECT_EQ(result.pixels_changed_outside_masks, 0);
    // Pixels outside the mask's box are byte for byte the photo's.
    const PixelBox box{face.box.left - face.box.area(), 0, 0, 0};
    (void)box;
    int64_t differing = 0;
    for (size_t i = 0; i < photo.pixels.size(); ++i) differing += photo.pixels[i] != result.image.pixels[i];
    EXPECT_GT(differing, 500);
    // Corners are far from any face.
    EXPECT_TRUE(std::equal(photo.at(0, 0), photo.at(0, 0) + 3, result.image.at(0, 0)));
    EXPECT_TRUE(std::equal(photo.at(photo.width - 1, photo.height - 1), photo.at(photo.width - 1, photo.height - 1) + 3,
                           result.image.at(photo.width - 1, photo.height - 1)));
}

TEST_F(AnonymizerTest, AGeneratedFaceIsReplacedAndTheRestIsUntouched) {
    const data::RgbImage photo = generated_photo();
    const AnonymizedPhoto result = anonymizer_->anonymize(photo, "generated.png");
    expect_face_replaced_and_rest_untouched(photo, result);
    const nlohmann::json report = to_json(result);
    EXPECT_EQ(report["faces_replaced"], 1);
    EXPECT_EQ(report["faces"][0]["action"], "replaced");
}

TEST_F(AnonymizerTest, AUTKFacePhotoIsReplacedAndTheRestIsUntouched) {
    FACEGEN_SKIP_WITHOUT_SHARED_DATA("utkface");
    fs::path file;
    for (const auto& entry : fs::directory_iterator(test::shared_data_dir() / "utkface")) {
        if (entry.path().filename().string().rfind("26_", 0) == 0) {
            file = entry.path();
            break;
        }
    }
    ASSERT_FALSE(file.empty()) << "no UTKFace photo of a 26-year-old";
    const data::RgbImage photo = data::decode_image(core::read_file(file), file.string()).image;
    const AnonymizedPhoto result = anonymizer_->anonymize(photo, file.string());
    expect_face_replaced_and_rest_untouched(photo, result);
    ASSERT_TRUE(result.faces.front().found_in_output.has_value());
}

TEST_F(AnonymizerTest, APhotoWithoutFacesIsWrittenUnchangedAndSaysSo) {
    const fs::path input = dir_ / "wall.png", output = dir_ / "wall-anon.png";
    const std::string bytes = data::encode_png(to_image(test::smooth_picture(200, 4)));
    core::write_file_atomically(input, bytes);
    const nlohmann::json report = anonymize_file(*anonymizer_, input, output, dir_ / "wall.json", {});
    EXPECT_EQ(report["faces_found"], 0);
    EXPECT_EQ(report["unchanged"], true);
    EXPECT_NE(report["note"].get<std::string>().find("no face found"), std::string::npos);
    EXPECT_EQ(core::read_file(output), bytes);
    EXPECT_TRUE(fs::exists(dir_ / "wall.json"));
}

TEST_F(AnonymizerTest, BadInputIsRefusedByNameWithNothingWritten) {
    // A truncated JPEG.
    const std::string jpeg = data::encode_jpeg(generated_photo());
    const fs::path truncated = dir_ / "cut.jpg", output = dir_ / "cut-anon.jpg";
    core::write_file_atomically(truncated, jpeg.substr(0, jpeg.size() / 3));
    const std::string cut = error_message_of([&] { anonymize_file(*anonymizer_, truncated, output, {}, {}); });
    EXPECT_NE(cut.find("cut.jpg"), std::string::npos) << cut;
    EXPECT_FALSE(fs::exists(output));
    // An output that exists is refused unless overwriting was asked for.
    const fs::path photo = dir_ / "photo.jpg", taken = dir_ / "taken.png";
    core::write_file_atomically(photo, jpeg);
    core::write_file_atomically(taken, "keep me");
    const std::string exists = error_message_of([&] { anonymize_file(*anonymizer_, photo, taken, {}, {}); });
    EXPECT_NE(exists.find("'" + taken.string() + "' already exists"), std::string::npos) << exists;
    EXPECT_EQ(core::read_file(taken), "keep me");
    // A photo over the pixel limit.
    AnonymizeOptions small = anonymizer_->options();
    EXPECT_NE(error_message_of([&] {
                  data::RgbImage huge(20000, 10000);
                  anonymizer_->anonymize(huge, "huge.png");
              }).find("over the limit"),
              std::string::npos);
    (void)small;
}

TEST_F(AnonymizerTest, AGreyPhotoAndAJpegOutputAreHandled) {
    data::RgbImage grey = generated_photo();
    for (size_t i = 0; i < grey.pixels.size(); i += 3) {
        const auto level = static_cast<uint8_t>((grey.pixels[i] + grey.pixels[i + 1] + grey.pixels[i + 2]) / 3);
        grey.pixels[i] = grey.pixels[i + 1] = grey.pixels[i + 2] = level;
    }
    const fs::path input = dir_ / "grey.png", output = dir_ / "grey-anon.jpg";
    core::write_file_atomically(input, data::encode_png(grey));
    const nlohmann::json report = anonymize_file(*anonymizer_, input, output, {}, {});
    EXPECT_EQ(report["faces_replaced"], 1) << report.dump(2);
    const std::string written = core::read_file(output);
    EXPECT_NE(written.find("compositeWithTrainedAlgorithmicMedia"), std::string::npos);
}

}  // namespace
}  // namespace facegen::anonymize

// Runs the built facegen binary's `attributes` and attribute edits (`generate --edit/--set`,
// `edit`) with the shipped classifier and the bundled model's shipped directions: scores
// per image, edits that move the attribute they name and not the kept ones, provenance,
// and one clear error for each kind of bad input, with nothing written.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/atomic_file.h"
#include "data/image_io.h"
#include "test_pictures.h"
#include "test_support.h"

namespace facegen {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

using test::json_lines;
using test::quote;
using test::read_file;

class AttributesCliTest : public ::testing::Test {
protected:
    void SetUp() override {
        const fs::path models = test::source_dir() / "models";
        bundled_ = models / "facegen-default.safetensors";
        for (const fs::path& file : {bundled_, models / "facegen-attributes.safetensors",
                                     models / "facegen-default.directions.safetensors"}) {
            if (!fs::exists(file)) GTEST_SKIP() << file << " not in this checkout";
        }
    }
    test::CommandResult facegen(const std::string& args) const {
        return test::run_command(quote(test::facegen_binary()) + " " + args);
    }
    /// Mean of one attribute over the images of a folder, scored by the shipped classifier.
    double mean_score(const fs::path& folder, const std::string& attribute) const {
        std::string files;
        for (const auto& entry : fs::directory_iterator(folder)) files += " " + quote(entry.path());
        const auto scored = facegen("attributes score --threads 2" + files);
        EXPECT_EQ(scored.exit_code, 0) << scored.err;
        double sum = 0;
        const std::vector<json> lines = json_lines(scored.out);
        for (const json& line : lines) sum += line["attributes"][attribute].get<double>();
        return lines.empty() ? 0 : sum / static_cast<double>(lines.size());
    }
    fs::path bundled_;
    test::TempDir dir_;
};

TEST_F(AttributesCliTest, ListNamesEveryAttributeWithItsUnit) {
    const auto listed = facegen("attributes list");
    ASSERT_EQ(listed.exit_code, 0) << listed.err;
    const std::vector<json> lines = json_lines(listed.out);
    ASSERT_GE(lines.size(), 20u);
    EXPECT_EQ(lines[0]["name"], "age");
    EXPECT_EQ(lines[0]["unit"], "years");
    for (const json& line : lines) EXPECT_FALSE(line["unit"].get<std::string>().empty()) << line;
}

TEST_F(AttributesCliTest, ScoresEveryImageAndNamesBrokenOnes) {
    const auto made = facegen("generate --model " + quote(bundled_) + " --seeds 1-2 --threads 2 --out " + quote(dir_ / "faces"));
    ASSERT_EQ(made.exit_code, 0) << made.err;
    core::write_file_atomically(dir_ / "notes.txt", "not an image");
    const auto scored = facegen("attributes score --threads 2 " + quote(dir_ / "faces" / "seed0001.png") + " " +
                                quote(dir_ / "notes.txt") + " " + quote(dir_ / "faces" / "seed0002.png"));
    EXPECT_EQ(scored.exit_code, 1);
    const std::vector<json> lines = json_lines(scored.out);
    ASSERT_EQ(lines.size(), 3u);
    const double age = lines[0]["attributes"]["age"].get<double>();
    EXPECT_TRUE(age > 0 && age < 100) << age;
    const double smiling = lines[2]["attributes"]["smiling"].get<double>();
    EXPECT_TRUE(smiling >= 0 && smiling <= 1) << smiling;
    EXPECT_NE(lines[1]["error"].get<std::string>().find("notes.txt"), std::string::npos) << lines[1];
}

// --align finds the face of a photo and frames it as the training sets were: UTKFace photos
// (whose names carry age and gender) read close to their labels, with a head pose; an image
// with no face is named in its error line.
TEST_F(AttributesCliTest, AlignedPhotosReadCloseToTheirLabels) {
    FACEGEN_SKIP_WITHOUT_SHARED_DATA("utkface");
    std::vector<fs::path> all;
    for (const auto& entry : fs::directory_iterator(test::shared_data_dir() / "utkface")) all.push_back(entry.path());
    std::sort(all.begin(), all.end());
    // Adults of 20-59 (the classifier's error grows past 60: docs/attributes.md), every 50th.
    std::vector<fs::path> photos;
    for (size_t i = 0; i < all.size() && photos.size() < 16; i += 50) {
        const std::string name = all[i].filename().string();
        const int age = std::atoi(name.c_str());
        if (age >= 20 && age < 60) photos.push_back(all[i]);
    }
    ASSERT_EQ(photos.size(), 16u);
    const torch::Tensor picture = test::smooth_picture(96, 1).contiguous();
    data::RgbImage plain(96, 96);
    std::memcpy(plain.pixels.data(), picture.data_ptr<uint8_t>(), plain.pixels.size());
    core::write_file_atomically(dir_ / "plain.png", data::encode_png(plain));
    std::string files;
    for (const fs::path& photo : photos) files += " " + quote(photo);
    const auto scored = facegen("attributes score --align --threads 2" + files + " " + quote(dir_ / "plain.png"));
    EXPECT_EQ(scored.exit_code, 1);
    const std::vector<json> lines = json_lines(scored.out);
    ASSERT_EQ(lines.size(), 17u);
    double age_error = 0;
    int gender_right = 0;
    for (size_t i = 0; i < photos.size(); ++i) {
        ASSERT_TRUE(lines[i].contains("attributes")) << lines[i];
        const std::string name = photos[i].filename().string();  // AGE_GENDER_RACE_...
        const double age = std::stod(name.substr(0, name.find('_')));
        const int female = name[name.find('_') + 1] - '0';
        const json& scores = lines[i]["attributes"];
        age_error += std::abs(scores["age"].get<double>() - age);
        gender_right += (scores["gender"].get<double>() > 0.5) == (female == 1);
        EXPECT_LT(std::abs(scores["yaw"].get<double>()), 60.0) << lines[i];
        EXPECT_EQ(lines[i]["face"]["box"].size(), 4u) << lines[i];
    }
    EXPECT_LT(age_error / static_cast<double>(photos.size()), 15.0);
    EXPECT_GE(gender_right, 12);
    EXPECT_NE(lines[16]["error"].get<std::string>().find("no face found in"), std::string::npos) << lines[16];
}

// The bundled model's shipped directions: +30 years must age 12 faces on the classifier's
// reading, with gender (kept) moving far less, and say that the faces stopped at the edge
// of what the model draws (the whole +30 is out of its reach); a target of 70 must move
// them older; every image says how it was edited.
TEST_F(AttributesCliTest, EditsMoveTheirAttributeAndKeepTheOthers) {
    const std::string common = "generate --model " + quote(bundled_) + " --seeds 500-511 --threads 2 --out ";
    ASSERT_EQ(facegen(common + quote(dir_ / "plain")).exit_code, 0);
    const auto older = facegen(common + quote(dir_ / "older") + " --edit age=+30");
    ASSERT_EQ(older.exit_code, 0) << older.err;
    const auto seventy = facegen(common + quote(dir_ / "seventy") + " --set age=70");
    ASSERT_EQ(seventy.exit_code, 0) << seventy.err;
    const double plain_age = mean_score(dir_ / "plain", "age");
    EXPECT_GT(mean_score(dir_ / "older", "age") - plain_age, 5.0);
    EXPECT_NE(older.err.find("warning: age=+30"), std::string::npos) << older.err;
    EXPECT_LT(std::abs(mean_score(dir_ / "older", "gender") - mean_score(dir_ / "plain", "gender")), 0.15);
    // Targets move towards their value, or say where they stopped (docs/attributes.md).
    EXPECT_GT(mean_score(dir_ / "seventy", "age") - plain_age, 5.0);
    const std::string png = read_file(dir_ / "older" / "seed0500.png");
    EXPECT_NE(png.find("facegen:edit"), std::string::npos);
    EXPECT_NE(png.find("age=+30"), std::string::npos);
}

TEST_F(AttributesCliTest, StripShowsEachFaceAtEveryStep) {
    const auto made = facegen("edit --model " + quote(bundled_) + " --seeds 7-8 --attribute smiling --range -3:3 --steps 5 " +
                              "--threads 2 --strip " + quote(dir_ / "strip.png"));
    ASSERT_EQ(made.exit_code, 0) << made.err;
    const std::string png = read_file(dir_ / "strip.png");
    EXPECT_NE(png.find("strip of 5 steps smiling=-3..smiling=+3"), std::string::npos);
}

// A target beyond the faces the model draws stops at their edge and says so: a warning on
// stderr and, in the image's provenance, the value it reached.
TEST_F(AttributesCliTest, AnUnreachableTargetSaysWhereItStopped) {
    const auto far = facegen("generate --model " + quote(bundled_) + " --seeds 600-603 --threads 2 --set age=100 --out " +
                             quote(dir_ / "hundred"));
    ASSERT_EQ(far.exit_code, 0) << far.err;
    EXPECT_NE(far.err.find("warning: age=100"), std::string::npos) << far.err;
    EXPECT_NE(far.err.find("could not reach it"), std::string::npos) << far.err;
    const std::string png = read_file(dir_ / "hundred" / "seed0600.png");
    EXPECT_NE(png.find("age=100 reached "), std::string::npos);
}

// --steps would mean the strip's columns to edit and the optimisation steps to project:
// with --target it is refused and names both unambiguous flags.
TEST_F(AttributesCliTest, StepsWithATargetPhotoIsRefusedAsAmbiguous) {
    core::write_file_atomically(dir_ / "photo.jpg", "not decoded: the flags are checked first");
    const auto strip = facegen("edit --target " + quote(dir_ / "photo.jpg") + " --attribute age --range -10:10 --steps 300 " +
                               "--strip " + quote(dir_ / "s.png"));
    EXPECT_NE(strip.exit_code, 0);
    EXPECT_NE(strip.err.find("--projection-steps"), std::string::npos) << strip.err;
    EXPECT_NE(strip.err.find("--strip-steps"), std::string::npos) << strip.err;
    const auto images = facegen("edit --target " + quote(dir_ / "photo.jpg") + " --edit age=+10 --steps 300 --out " +
                                quote(dir_ / "edited"));
    EXPECT_NE(images.exit_code, 0);
    EXPECT_NE(images.err.find("--projection-steps"), std::string::npos) << images.err;
    EXPECT_FALSE(fs::exists(dir_ / "edited"));
}

TEST_F(AttributesCliTest, AuditGivesSharesThatSumToOneAndAChart) {
    const auto audited = facegen("attributes audit --model " + quote(bundled_) + " --count 48 --threads 2 --chart " +
                                 quote(dir_ / "audit.svg"));
    ASSERT_EQ(audited.exit_code, 0) << audited.err;
    const json audit = json::parse(audited.out);
    EXPECT_EQ(audit["generated"]["n"], 48);
    for (const char* group : {"age_band", "gender", "ethnicity"}) {
        double sum = 0;
        for (const auto& item : audit["generated"][group].items()) sum += item.value().get<double>();
        EXPECT_NEAR(sum, 1.0, 1e-9) << group;
    }
    const std::string svg = read_file(dir_ / "audit.svg");
    EXPECT_EQ(svg.rfind("<svg", 0), 0u);
    EXPECT_NE(svg.find("ethnicity"), std::string::npos);
}

TEST_F(AttributesCliTest, BadEditsGiveOneClearErrorAndWriteNothing) {
    const std::string common = "generate --model " + quote(bundled_) + " --seeds 1 --out " + quote(dir_ / "out");
    const auto unknown = facegen(common + " --edit smile=+1");
    EXPECT_NE(unknown.exit_code, 0);
    EXPECT_NE(unknown.err.find("'smile'"), std::string::npos) << unknown.err;
    const auto range = facegen(common + " --set age=150");
    EXPECT_NE(range.exit_code, 0);
    EXPECT_NE(range.err.find("age=150"), std::string::npos) << range.err;
    // Files that are not what they claim (another model's directions: edit_unit_tests).
    core::write_file_atomically(dir_ / "junk.safetensors", "not a directions file");
    const auto junk = facegen(common + " --edit age=+5 --directions " + quote(dir_ / "junk.safetensors"));
    EXPECT_NE(junk.exit_code, 0);
    EXPECT_NE(junk.err.find("junk.safetensors"), std::string::npos) << junk.err;
    const auto classifier = facegen(common + " --set age=50 --classifier " + quote(dir_ / "junk.safetensors"));
    EXPECT_NE(classifier.exit_code, 0);
    EXPECT_NE(classifier.err.find("junk.safetensors"), std::string::npos) << classifier.err;
    EXPECT_FALSE(fs::exists(dir_ / "out"));
}

}  // namespace
}  // namespace facegen

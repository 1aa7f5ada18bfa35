// The attribute classifier (src/attributes): the catalogue and its errors, the classifier
// file, its units, the lighting measure, and a toy training that must learn.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <fstream>
#include <set>

#include "attributes/catalogue.h"
#include "attributes/classifier.h"
#include "attributes/training.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "data/pack.h"
#include "detect/detector.h"
#include "test_support.h"

namespace facegen::attributes {
namespace {

namespace fs = std::filesystem;

using test::error_message_of;

TEST(AttributeCatalogueTest, NamesAreUniqueAndLearnedOnesHaveLabels) {
    std::set<std::string> names;
    for (const AttributeSpec& spec : attribute_catalogue()) {
        EXPECT_TRUE(names.insert(spec.name).second) << spec.name;
        EXPECT_FALSE(spec.unit.empty()) << spec.name;
        if (spec.kind != AttributeKind::kMeasured) {
            EXPECT_TRUE(!spec.utkface_column.empty() || !spec.celeba_column.empty()) << spec.name;
        }
    }
    EXPECT_EQ(learned_attribute_count() + 4, static_cast<int64_t>(attribute_catalogue().size()));
    EXPECT_EQ(find_attribute("age").unit, "years");
    const std::string message = error_message_of([] { find_attribute("smile"); });
    EXPECT_NE(message.find("'smile'"), std::string::npos) << message;
    EXPECT_NE(message.find("smiling"), std::string::npos) << message;
}

TEST(AttributeClassifierTest, OutputsBecomeYearsProbabilitiesAndOneEthnicityDistribution) {
    torch::manual_seed(4);
    const torch::Tensor outputs = torch::randn({5, learned_attribute_count()}) * 3;
    const torch::Tensor values = outputs_to_values(outputs);
    const int64_t age = attribute_index("age");
    EXPECT_TRUE(torch::allclose(values.select(1, age), kAgeCentre + kAgeSpread * outputs.select(1, age)));
    const int64_t white = attribute_index("ethnicity_white");
    EXPECT_TRUE(torch::allclose(values.narrow(1, white, 5).sum(1), torch::ones({5}), 1e-5, 1e-6));
    const torch::Tensor smiling = values.select(1, attribute_index("smiling"));
    EXPECT_TRUE(((smiling > 0) & (smiling < 1)).all().item<bool>());
}

TEST(AttributeClassifierTest, LightingReadsTheBrighterSide) {
    torch::Tensor faces = torch::full({2, 64, 64, 3}, 100, torch::kUInt8);
    faces[1].narrow(1, 32, 32).fill_(200);  // image 1: its right half is brighter
    AttributeClassifier classifier(8);
    const std::vector<AttributeScores> scores = classifier.score(faces);
    const auto brightness = static_cast<size_t>(attribute_index("brightness"));
    const auto direction = static_cast<size_t>(attribute_index("light_direction"));
    EXPECT_NEAR(scores[0][brightness], 100.0 / 255.0, 1e-6);
    EXPECT_NEAR(scores[0][direction], 0.0, 1e-9);
    EXPECT_NEAR(scores[1][direction], (200.0 - 100.0) / 300.0, 1e-6);
    EXPECT_EQ(to_json(scores[1]).size(), attribute_catalogue().size());
}

TEST(AttributeClassifierTest, FileRoundTripsAndBadFilesAreNamed) {
    test::TempDir dir;
    torch::manual_seed(5);
    AttributeClassifier classifier(8, R"({"note": "test"})");
    classifier.save(dir / "a.safetensors");
    AttributeClassifier loaded = AttributeClassifier::load(dir / "a.safetensors");
    const torch::Tensor faces = torch::randint(0, 256, {3, 64, 64, 3}, torch::kUInt8);
    EXPECT_EQ(classifier.score(faces), loaded.score(faces));
    EXPECT_EQ(nlohmann::json::parse(loaded.report_json())["note"], "test");

    std::ifstream in(dir / "a.safetensors", std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    core::write_file_atomically(dir / "cut.safetensors", bytes.substr(0, bytes.size() / 2));
    detect::Detector(detect::DetectorInfo{{8}, {}, 0.5, "{}"}).save(dir / "detector.safetensors");
    for (const char* name : {"cut.safetensors", "detector.safetensors", "missing.safetensors"}) {
        const std::string message = error_message_of([&] { AttributeClassifier::load(dir / name); });
        EXPECT_NE(message.find(name), std::string::npos) << name << ": " << message;
    }
}

/// A toy world in which age is the brightness of the face and smiling a bright band where
/// the mouth would be: a short training must read both on faces it never saw.
TEST(AttributeTrainingTest, ShortTrainingLearnsAgeAndASmileFromTheirLabels) {
    test::TempDir dir;
    const auto face = [](int64_t age, bool smiling, int64_t i) {
        torch::Tensor image = torch::full({3, 64, 64}, 30 + 3 * age, torch::kInt32);
        image += (torch::arange(64, torch::kInt32).view({1, 1, 64}) + i) % 7;  // texture
        if (smiling) image.narrow(1, 36, 20).narrow(2, 8, 48).fill_(250);
        return image.clamp(0, 255).to(torch::kUInt8).contiguous();
    };
    {
        data::PackWriter writer(dir / "utk", 64, 3);
        data::PackIndex index;
        index.label_columns = {{"age", {}}, {"gender", {"male", "female"}}, {"race", {"white", "black", "asian", "indian", "others"}}};
        for (int64_t i = 0; i < 160; ++i) {
            const int64_t age = 10 + (i * 37) % 61;
            writer.append(face(age, false, i).data_ptr<uint8_t>(), {});
            index.labels.push_back({age, data::kUnknownLabel, data::kUnknownLabel});
            index.splits.push_back(i < 120 ? data::Split::kTrain : data::Split::kVal);
        }
        writer.commit(index);
    }
    {
        data::PackWriter writer(dir / "celeba", 64, 3);
        data::PackIndex index;
        index.label_columns = {{"Smiling", {"no", "yes"}}};
        for (int64_t i = 0; i < 160; ++i) {
            const bool smiling = (i * 7) % 3 == 0;
            writer.append(face(20 + i % 40, smiling, i).data_ptr<uint8_t>(), {});
            index.labels.push_back({smiling ? 1 : 0});
            index.splits.push_back(i < 120 ? data::Split::kTrain : data::Split::kVal);
        }
        writer.commit(index);
    }
    ClassifierTrainingOptions options;
    options.utkface = dir / "utk";
    options.celeba = dir / "celeba";
    options.steps = 250;
    options.batch = 16;
    options.width = 8;
    options.learning_rate = 3e-3;
    AttributeClassifier classifier = train_classifier(options);
    const nlohmann::json report = nlohmann::json::parse(classifier.report_json());
    // Guessing the mean age would be off by about 15 years here.
    EXPECT_LT(report["utkface_val"]["age"]["mae_years"].get<double>(), 8.0) << report.dump(1);
    EXPECT_GT(report["celeba_val"]["smiling"]["accuracy"].get<double>(), 0.9) << report.dump(1);
    EXPECT_FALSE(report["utkface_val"].contains("gender"));  // no gender label: not measured

    options.utkface = dir / "celeba";  // no age, gender or race column
    options.celeba.clear();
    const std::string message = error_message_of([&] { train_classifier(options); });
    EXPECT_NE(message.find("celeba"), std::string::npos) << message;
    options.steps = 0;
    EXPECT_NE(error_message_of([&] { options.validate(); }).find("steps"), std::string::npos);
}

}  // namespace
}  // namespace facegen::attributes

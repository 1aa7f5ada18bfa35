// Character sheets (src/edit/character_sheet.h) on a tiny model with directions fitted by an
// untrained classifier (the mechanics, not the quality): the layout, each row moving along
// its own attribute, the identity limit shrinking a row's ends, the labelled files.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "attributes/catalogue.h"
#include "core/error.h"
#include "edit/character_sheet.h"
#include "edit/directions.h"
#include "generate/session.h"
#include "model/model_file.h"
#include "test_support.h"
#include "tiny_model.h"

namespace facegen::edit {
namespace {

using test::error_message_of;

TEST(SheetVariationsTest, NamesParseInOrderAndBadOnesListTheValidOnes) {
    const std::vector<Variation> rows = parse_variations("pose, expression,lighting,age");
    ASSERT_EQ(rows.size(), 4u);
    EXPECT_EQ(rows[0].name, "pose");
    EXPECT_EQ(rows[0].far_end.at(0).attribute, "yaw");
    EXPECT_EQ(rows[1].far_end.size(), 2u);  // smiling and mouth_open together
    EXPECT_EQ(rows[3].far_end.at(0).attribute, "age");
    for (const Variation& v : sheet_variations()) {
        for (const AttributeEdit& e : v.far_end) {
            const auto [lo, hi] = allowed_range(e.attribute, false);
            EXPECT_TRUE(e.value > 0 && e.value <= hi && -e.value >= lo) << v.name;
        }
    }
    const std::string unknown = error_message_of([] { parse_variations("pose,hair"); });
    EXPECT_NE(unknown.find("'hair'"), std::string::npos) << unknown;
    EXPECT_NE(unknown.find("pose, expression, lighting, age"), std::string::npos) << unknown;
    EXPECT_NE(error_message_of([] { parse_variations(""); }).find("empty"), std::string::npos);
    EXPECT_NE(error_message_of([] { parse_variations("age,,pose"); }).find("empty"), std::string::npos);
    EXPECT_NE(error_message_of([] { parse_variations("age,age"); }).find("twice"), std::string::npos);
    CharacterSheetOptions even;
    even.columns = 4;
    EXPECT_NE(error_message_of([&] { even.validate(); }).find("odd"), std::string::npos);
}

class CharacterSheetTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new test::TempDir;
        model::Generator generator = test::tiny_generator_for_images(3, 64);
        model::save_model_file(*dir_ / "tiny.safetensors", generator, {});
        session_ = new generate::Session(*dir_ / "tiny.safetensors");
        torch::manual_seed(6);
        classifier_ = new attributes::AttributeClassifier(8);
        DirectionFitOptions options;
        options.samples = 300;
        options.truncation_psi = 1.0;
        directions_ = new AttributeDirections(AttributeDirections::fit(*session_, *classifier_, options));
        editor_ = new Editor(*directions_, classifier_);
        identity_net_ = new identity::FaceRecognitionNet(
            identity::load_face_recognition(test::source_dir() / identity::kDefaultFaceRecognitionPath));
    }
    static void TearDownTestSuite() {
        delete identity_net_;
        delete editor_;
        delete directions_;
        delete classifier_;
        delete session_;
        delete dir_;
    }

    static generate::Request face(uint32_t seed) {
        generate::Request request;
        request.seeds = {seed};
        request.truncation_psi = 1.0;
        return request;
    }

    static CharacterSheet make(const std::string& variations, double identity_limit, int64_t columns = 5) {
        CharacterSheetOptions options;
        options.columns = columns;
        options.identity_limit = identity_limit;
        CharacterSheetMaker maker(*session_, *editor_, *identity_net_, classifier_, options);
        return maker.make(face(7), parse_variations(variations));
    }

    /// The attribute's linear model (fitted units) at each cell's latent.
    static std::vector<double> fitted_values(const CharacterSheet& sheet, const std::string& attribute) {
        const AttributeDirection& d = directions_->direction(attribute);
        const torch::Tensor w = sheet.ws.to(torch::kFloat64).mean(1);  // every layer alike
        const torch::Tensor values = w.mv(d.gradient) + d.offset;
        return std::vector<double>(values.data_ptr<double>(), values.data_ptr<double>() + values.numel());
    }

    static test::TempDir* dir_;
    static generate::Session* session_;
    static attributes::AttributeClassifier* classifier_;
    static AttributeDirections* directions_;
    static Editor* editor_;
    static identity::FaceRecognitionNet* identity_net_;
};

test::TempDir* CharacterSheetTest::dir_ = nullptr;
generate::Session* CharacterSheetTest::session_ = nullptr;
attributes::AttributeClassifier* CharacterSheetTest::classifier_ = nullptr;
AttributeDirections* CharacterSheetTest::directions_ = nullptr;
Editor* CharacterSheetTest::editor_ = nullptr;
identity::FaceRecognitionNet* CharacterSheetTest::identity_net_ = nullptr;

TEST_F(CharacterSheetTest, RowsOfColumnsWithTheOriginalInTheMiddle) {
    const CharacterSheet sheet = make("age,expression", /*identity_limit=*/1e3);
    ASSERT_EQ(sheet.rows.size(), 2u);
    EXPECT_EQ(sheet.n_columns, 5);
    ASSERT_EQ(sheet.cells.size(), 10u);
    EXPECT_EQ(sheet.pixels.sizes(), (std::vector<int64_t>{10, 64, 64, 3}));
    EXPECT_EQ(sheet.image().sizes(), (std::vector<int64_t>{2 * 64, 5 * 64, 3}));
    const torch::Tensor original = session_->run(face(7)).at(0).pixels;
    for (int64_t row = 0; row < 2; ++row) {
        for (int64_t column = 0; column < 5; ++column) {
            const SheetCell& cell = sheet.cells[static_cast<size_t>(row * 5 + column)];
            EXPECT_EQ(cell.row, row);
            EXPECT_EQ(cell.column, column);
            EXPECT_DOUBLE_EQ(cell.position, (column - 2) / 2.0);
            const torch::Tensor pixels = sheet.pixels[row * 5 + column];
            const int max_difference = (pixels.to(torch::kInt32) - original.to(torch::kInt32)).abs().max().item<int>();
            if (column == 2) {
                EXPECT_LE(max_difference, 1) << "the middle is the face generate makes";
                EXPECT_EQ(cell.identity_distance, 0);
            } else {
                EXPECT_GT(max_difference, 1) << row << "," << column;
                EXPECT_GT(cell.identity_distance, 0);
            }
        }
    }
    EXPECT_EQ(sheet.provenance.seed, 7u);
    EXPECT_EQ(sheet.provenance.n_images, 10);
    EXPECT_NE(sheet.provenance.edit.find("character sheet"), std::string::npos) << sheet.provenance.edit;
    EXPECT_NE(sheet.provenance.edit.find("age -30..+30"), std::string::npos) << sheet.provenance.edit;
    const nlohmann::json report = sheet.report();
    EXPECT_EQ(report["rows"], 2);
    EXPECT_EQ(report["columns"], 5);
    EXPECT_EQ(report["cells"].size(), 10u);
    EXPECT_EQ(report["variations"][1]["asked"], "smiling=+4,mouth_open=+2");
    EXPECT_TRUE(report["notes"].empty());
}

TEST_F(CharacterSheetTest, EachRowMovesAlongItsOwnAttributeAndHoldsTheKeptOnes) {
    const CharacterSheet sheet = make("age,expression", /*identity_limit=*/1e3);
    const std::vector<double> age = fitted_values(sheet, "age");
    const std::vector<double> smiling = fitted_values(sheet, "smiling");
    const std::vector<double> gender = fitted_values(sheet, "gender");
    for (size_t column = 1; column < 5; ++column) {
        EXPECT_GT(age[column], age[column - 1] + 1e-6) << "age row, column " << column;
        EXPECT_GT(smiling[5 + column], smiling[5 + column - 1] + 1e-6) << "expression row, column " << column;
    }
    // The age row's far right asks +30 years of the linear model times its response.
    EXPECT_NEAR(sheet.cells[4].changes.at(0).reached, 30, 1e-6);
    for (size_t i = 0; i < 10; ++i) {
        EXPECT_NEAR(gender[i], gender[2], 1e-3 * std::max(1.0, std::abs(gender[2]))) << "gender is held, cell " << i;
    }
    // The expression row holds age (not edited there); the age row holds smiling.
    for (size_t column = 0; column < 5; ++column) {
        EXPECT_NEAR(age[5 + column], age[7], 1e-3 * std::max(1.0, std::abs(age[7])));
        EXPECT_NEAR(smiling[column], smiling[2], 1e-3 * std::max(1.0, std::abs(smiling[2])));
    }
    // The classifier's readings are reported per cell for the row's attributes.
    ASSERT_EQ(sheet.cells[0].attribute_change.size(), 1u);
    ASSERT_EQ(sheet.cells[5].attribute_change.size(), 2u);
    EXPECT_EQ(sheet.cells[2].attribute_change.at(0), 0);
}

TEST_F(CharacterSheetTest, ASideThatWouldLeaveThePersonIsShrunkUntilEveryCellStays) {
    const CharacterSheet free = make("age", /*identity_limit=*/1e3);
    const double far_right = free.cells[4].identity_distance;
    const double far_left = free.cells[0].identity_distance;
    ASSERT_GT(std::max(far_left, far_right), 0);
    // A limit just under the farther end's distance: that side must shrink.
    const double limit = 0.99 * std::max(far_left, far_right);
    const CharacterSheet kept = make("age", limit);
    for (const SheetCell& cell : kept.cells) EXPECT_LT(cell.identity_distance, limit) << cell.column;
    const bool right_farther = far_right >= far_left;
    const SheetRow& row = kept.rows.at(0);
    EXPECT_LT(right_farther ? row.kept_positive : row.kept_negative, 1);
    EXPECT_GT(right_farther ? row.shrinks_positive : row.shrinks_negative, 0);
    ASSERT_FALSE(kept.notes().empty());
    EXPECT_NE(kept.notes()[0].find("age"), std::string::npos) << kept.notes()[0];
    EXPECT_NE(kept.provenance.edit.find("age"), std::string::npos);
    EXPECT_EQ(kept.report()["same_person_everywhere"], true);

    // A limit no step can meet: both sides fall back to the original face, and say so.
    const CharacterSheet none = make("age", /*identity_limit=*/1e-9);
    EXPECT_EQ(none.rows[0].kept_negative, 0);
    EXPECT_EQ(none.rows[0].kept_positive, 0);
    for (int64_t i = 0; i < 5; ++i) EXPECT_TRUE(torch::equal(none.pixels[i], none.pixels[2])) << i;
    ASSERT_EQ(none.notes().size(), 2u);
    EXPECT_NE(none.notes()[0].find("original face"), std::string::npos) << none.notes()[0];
}

TEST_F(CharacterSheetTest, BadRequestsAreRefusedBeforeAnyWork) {
    CharacterSheetMaker maker(*session_, *editor_, *identity_net_, nullptr);
    generate::Request two = face(1);
    two.seeds.push_back(2);
    EXPECT_NE(error_message_of([&] { maker.make(two, parse_variations("age")); }).find("one face"), std::string::npos);
    EXPECT_NE(error_message_of([&] { maker.make(face(1), {}); }).find("pose, expression"), std::string::npos);
}

TEST_F(CharacterSheetTest, TheFilesAreALabelledPngAndItsReport) {
    CharacterSheetOptions options;
    options.columns = 3;
    CharacterSheetMaker maker(*session_, *editor_, *identity_net_, nullptr, options);
    const CharacterSheet sheet = maker.make(face(9), parse_variations("pose"));
    EXPECT_TRUE(sheet.cells[0].attribute_change.empty());  // no classifier, no readings
    const std::filesystem::path png = *dir_ / "sheets" / "sheet.png";
    std::filesystem::create_directories(png.parent_path());
    write_character_sheet(sheet, png);
    const std::string bytes = test::read_file(png);
    EXPECT_NE(bytes.find("trainedAlgorithmicMedia"), std::string::npos);
    EXPECT_NE(bytes.find("character sheet"), std::string::npos);
    const nlohmann::json report = nlohmann::json::parse(test::read_file(sheet_report_path(png)));
    EXPECT_EQ(report["seed"], 9);
    EXPECT_EQ(report["columns"], 3);
    EXPECT_EQ(report["variations"][0]["variation"], "pose");
    EXPECT_EQ(report["cells"].size(), 3u);
    EXPECT_FALSE(report["cells"][0].contains("attribute_change"));
}

}  // namespace
}  // namespace facegen::edit

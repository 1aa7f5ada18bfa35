// Attribute edits (src/edit): what users type, directions fitted on a tiny model with an
// untrained classifier (the mechanics, not the quality), conditioning, and generation
// applying an edit and recording it.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "attributes/catalogue.h"
#include "core/error.h"
#include "edit/directions.h"
#include "edit/edit_spec.h"
#include "edit/editor.h"
#include "generate/session.h"
#include "model/model_file.h"
#include "test_support.h"
#include "tiny_model.h"

namespace facegen::edit {
namespace {

namespace fs = std::filesystem;

using test::error_message_of;

TEST(EditSpecTest, ChangesAndTargetsParseAndPrintBack) {
    const std::vector<AttributeEdit> changes = parse_edits("age=+20, smiling=-1.5", false);
    ASSERT_EQ(changes.size(), 2u);
    EXPECT_EQ(changes[0].attribute, "age");
    EXPECT_DOUBLE_EQ(changes[0].value, 20);
    EXPECT_DOUBLE_EQ(changes[1].value, -1.5);
    EXPECT_EQ(to_string(changes), "age=+20,smiling=-1.5");
    const std::vector<AttributeEdit> targets = parse_edits("age=70,eyeglasses=0.9", true);
    EXPECT_TRUE(targets[0].absolute);
    EXPECT_EQ(to_string(targets), "age=70,eyeglasses=0.9");
}

TEST(EditSpecTest, BadEditsAreNamed) {
    const auto message = [](const std::string& text, bool absolute) {
        return error_message_of([&] { parse_edits(text, absolute); });
    };
    EXPECT_NE(message("smile=+1", false).find("'smile'"), std::string::npos);
    EXPECT_NE(message("age=+200", false).find("age=+200"), std::string::npos);
    EXPECT_NE(message("age=130", true).find("0..100"), std::string::npos);
    EXPECT_NE(message("smiling=1.5", true).find("smiling"), std::string::npos);
    EXPECT_NE(message("age", false).find("NAME=VALUE"), std::string::npos);
    EXPECT_NE(message("age=ten", false).find("'ten'"), std::string::npos);
    EXPECT_NE(message("age=nan", false).find("nan"), std::string::npos);
    EXPECT_NE(message("age=+1,age=+2", false).find("twice"), std::string::npos);
    EXPECT_NE(message("", false).find("NAME=VALUE"), std::string::npos);
}

class EditDirectionsTest : public ::testing::Test {
protected:
    void SetUp() override {
        model::Generator generator = test::tiny_generator_for_images(3, 64);
        model_id_ = model::save_model_file(dir_ / "tiny.safetensors", generator, {});
        session_ = std::make_unique<generate::Session>(dir_ / "tiny.safetensors");
        torch::manual_seed(6);
        classifier_ = std::make_unique<attributes::AttributeClassifier>(8);
        DirectionFitOptions options;
        options.samples = 300;
        options.truncation_psi = 1.0;
        directions_ = std::make_unique<AttributeDirections>(AttributeDirections::fit(*session_, *classifier_, options));
    }
    test::TempDir dir_;
    std::string model_id_;
    std::unique_ptr<generate::Session> session_;
    std::unique_ptr<attributes::AttributeClassifier> classifier_;
    std::unique_ptr<AttributeDirections> directions_;
};

TEST_F(EditDirectionsTest, EveryAttributeGetsAFitTiedToTheModel) {
    EXPECT_EQ(directions_->model_id(), model_id_);
    EXPECT_EQ(directions_->directions().size(), attributes::attribute_catalogue().size());
    // The untrained classifier's outputs are smooth functions of the image, so w explains
    // much of them: the fit must see that on samples it did not fit.
    EXPECT_GT(directions_->direction("age").r2, 0.3) << directions_->report().dump(1);
    EXPECT_EQ(directions_->report()["samples"], 300);
}

TEST_F(EditDirectionsTest, ConditioningLeavesTheKeptAttributesUnmoved) {
    const EditDirection age = directions_->conditioned("age", {"gender", "eyeglasses"});
    EXPECT_NEAR(age.unit.norm().item<double>(), 1.0, 1e-5);
    EXPECT_GT(age.units_per_step, 0);
    for (const char* kept : {"gender", "eyeglasses"}) {
        const torch::Tensor gradient = directions_->direction(kept).gradient.to(torch::kFloat32);
        EXPECT_LT(std::abs(gradient.dot(age.unit).item<double>()), 1e-4 * gradient.norm().item<double>()) << kept;
    }
    // Unconditioned, the step along the gradient buys its whole length (times the response).
    const EditDirection free = directions_->conditioned("age", {});
    EXPECT_NEAR(free.units_per_step,
                directions_->direction("age").gradient.norm().item<double>() * directions_->direction("age").response, 1e-6);
    EXPECT_GE(free.units_per_step, age.units_per_step);
}

TEST_F(EditDirectionsTest, FileRoundTripsAndRefusesAnotherModel) {
    directions_->save(dir_ / "d.safetensors");
    const AttributeDirections loaded = AttributeDirections::load(dir_ / "d.safetensors", model_id_);
    EXPECT_TRUE(torch::equal(loaded.direction("smiling").gradient, directions_->direction("smiling").gradient));
    const std::string message = error_message_of([&] { AttributeDirections::load(dir_ / "d.safetensors", "0123456789abcdef"); });
    EXPECT_NE(message.find(model_id_), std::string::npos) << message;
    EXPECT_NE(message.find("0123456789abcdef"), std::string::npos) << message;
    EXPECT_NE(error_message_of([&] { AttributeDirections::load(dir_ / "tiny.safetensors"); }).find("not a facegen directions"),
              std::string::npos);
    EXPECT_EQ(directions_path_for("models/facegen-default.safetensors"),
              fs::path("models/facegen-default.directions.safetensors"));
}

TEST_F(EditDirectionsTest, AChangeMovesWAlongItsDirectionAndGenerationRecordsIt) {
    Editor editor(*directions_, nullptr);
    const std::vector<AttributeEdit> edits = parse_edits("age=+10", false);
    generate::Request request;
    request.seeds = {1, 2, 3};
    request.truncation_psi = 1.0;
    const torch::Tensor ws = session_->ws_for(request, 0, 3);
    const torch::Tensor edited = editor.apply(*session_, ws, edits);
    std::vector<std::string> kept;
    for (const std::string& name : default_kept_attributes()) {
        if (name != "age") kept.push_back(name);
    }
    const EditDirection direction = directions_->conditioned("age", kept);
    const torch::Tensor expected = ws + (10.0 / direction.units_per_step) * direction.unit.view({1, 1, -1});
    EXPECT_TRUE(torch::allclose(edited, expected, 1e-4, 1e-5));
    // Targets need the classifier.
    EXPECT_NE(error_message_of([&] { editor.check(parse_edits("age=60", true)); }).find("classifier"), std::string::npos);

    request.adjust_ws = [&](const torch::Tensor& batch, int64_t) { return editor.apply(*session_, batch, edits); };
    request.adjustment = editor.describe(edits);
    const std::vector<generate::GeneratedImage> images = session_->run(request);
    // The edited latent, synthesised directly (outside inference mode: a pixel may round
    // the other way).
    const torch::Tensor direct = session_->synthesize(edited, model::NoiseMode::Const)[0];
    EXPECT_LE((images[0].pixels.to(torch::kInt32) - direct.to(torch::kInt32)).abs().max().item<int>(), 1);
    EXPECT_NE(images[0].provenance.edit.find("age=+10"), std::string::npos);
    EXPECT_NE(images[0].provenance.edit.find(model_id_), std::string::npos);
}

TEST_F(EditDirectionsTest, ATargetIsReachedOnTheClassifiersScale) {
    Editor editor(*directions_, classifier_.get());
    generate::Request request;
    request.seeds = {4, 5};
    request.truncation_psi = 1.0;
    const torch::Tensor ws = session_->ws_for(request, 0, 2);
    const double start = classifier_->score(session_->synthesize(ws, model::NoiseMode::Const))[0][0];
    const double target = std::clamp(start + 3, 1.0, 99.0);  // a small step the linear model can make
    const torch::Tensor edited = editor.apply(*session_, ws, parse_edits("age=" + std::to_string(target), true));
    const double reached = classifier_->score(session_->synthesize(edited, model::NoiseMode::Const))[0][0];
    EXPECT_LT(std::abs(reached - target), std::abs(start - target)) << start << " -> " << reached << " for " << target;
}

}  // namespace
}  // namespace facegen::edit

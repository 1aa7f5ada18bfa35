// Attribute edits (src/edit): what users type, directions fitted on a tiny model with an
// untrained classifier (the mechanics, not the quality), conditioning, and generation
// applying an edit and recording it.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "attributes/catalogue.h"
#include "core/error.h"
#include "edit/directions.h"
#include "edit/edit_measurement.h"
#include "edit/edit_spec.h"
#include "edit/edit_strip.h"
#include "edit/editor.h"
#include "edit/latent_reach.h"
#include "edit/stratified_steps.h"
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
    // Unconditioned, the step is Sigma g: it buys g . Sigma g / |Sigma g| (times the response).
    const torch::Tensor g = directions_->direction("age").gradient;
    const torch::Tensor& sigma = directions_->w_covariance();
    ASSERT_TRUE(sigma.defined());
    const EditDirection free = directions_->conditioned("age", {});
    EXPECT_NEAR(free.units_per_step,
                g.dot(sigma.mv(g)).item<double>() / sigma.mv(g).norm().item<double>() * directions_->direction("age").response,
                1e-6);
}

TEST_F(EditDirectionsTest, ReusedFitsKeepTheLinearModelsAndMeasureTheRest) {
    DirectionFitOptions options;
    options.samples = 300;
    options.truncation_psi = 1.0;
    options.reuse_fits = directions_.get();
    const AttributeDirections again = AttributeDirections::fit(*session_, *classifier_, options);
    EXPECT_TRUE(torch::equal(again.direction("age").gradient, directions_->direction("age").gradient));
    EXPECT_EQ(again.direction("age").r2, directions_->direction("age").r2);
    EXPECT_TRUE(torch::allclose(again.w_covariance(), directions_->w_covariance()));
    // Same faces, same steps: the same responses.
    EXPECT_NEAR(again.direction("smiling").response, directions_->direction("smiling").response, 1e-6);
    EXPECT_EQ(again.report()["fits_reused"], true);
}

TEST_F(EditDirectionsTest, TheStepRunsWhereTheModelsFacesSpread) {
    // The model's w vary more along Sigma g than along g itself (Chebyshev's sum
    // inequality on the eigenvalues): an edit of a given size stays closer to the faces.
    const torch::Tensor& sigma = directions_->w_covariance();
    for (const char* name : {"age", "gender", "smiling"}) {
        const torch::Tensor g = directions_->direction(name).gradient;
        const torch::Tensor along_gradient = g / g.norm();
        const torch::Tensor along_step = directions_->conditioned(name, {}).unit.to(torch::kFloat64);
        EXPECT_GE(along_step.dot(sigma.mv(along_step)).item<double>(),
                  along_gradient.dot(sigma.mv(along_gradient)).item<double>() * (1 - 1e-6))
            << name;
    }
}

TEST_F(EditDirectionsTest, FileRoundTripsAndRefusesAnotherModel) {
    directions_->save(dir_ / "d.safetensors");
    const AttributeDirections loaded = AttributeDirections::load(dir_ / "d.safetensors", model_id_);
    EXPECT_TRUE(torch::equal(loaded.direction("smiling").gradient, directions_->direction("smiling").gradient));
    EXPECT_TRUE(torch::allclose(loaded.w_covariance(), directions_->w_covariance(), 1e-5, 1e-6));
    EXPECT_TRUE(torch::allclose(loaded.conditioned("age", {"gender"}).unit, directions_->conditioned("age", {"gender"}).unit,
                                1e-4, 1e-5));
    const std::string message = error_message_of([&] { AttributeDirections::load(dir_ / "d.safetensors", "0123456789abcdef"); });
    EXPECT_NE(message.find(model_id_), std::string::npos) << message;
    EXPECT_NE(message.find("0123456789abcdef"), std::string::npos) << message;
    EXPECT_NE(error_message_of([&] { AttributeDirections::load(dir_ / "tiny.safetensors"); }).find("not a facegen directions"),
              std::string::npos);
    EXPECT_EQ(directions_path_for("models/facegen-default.safetensors"),
              fs::path("models/facegen-default.directions.safetensors"));
}

// Faces whose w is age * along_age + (read female) * along_gender + noise, where the older
// are mostly men (as in the bundled model's faces) and wear glasses more often: readings in
// edit units, catalogue order.
struct SyntheticFaces {
    torch::Tensor w, values, along_age, along_gender, along_glasses;
};

SyntheticFaces synthetic_faces(int64_t n, double oldest) {
    torch::manual_seed(11);
    const int64_t w_dim = 16;
    SyntheticFaces faces;
    faces.along_age = torch::zeros({w_dim}, torch::kFloat64);
    faces.along_age[0] = 0.05;
    faces.along_gender = torch::zeros({w_dim}, torch::kFloat64);
    faces.along_gender[1] = 3.0;
    faces.along_glasses = torch::zeros({w_dim}, torch::kFloat64);
    faces.along_glasses[2] = 1.0;
    const torch::Tensor age = torch::rand({n}, torch::kFloat64) * (oldest - 5) + 5;
    const torch::Tensor female = (torch::rand({n}, torch::kFloat64) < 0.9 - 0.8 * (age - 5) / 65).to(torch::kFloat64);
    const torch::Tensor glasses = (torch::rand({n}, torch::kFloat64) < 0.5 * (age - 5) / 65).to(torch::kFloat64);
    faces.w = age.unsqueeze(1) * faces.along_age + female.unsqueeze(1) * faces.along_gender +
              glasses.unsqueeze(1) * faces.along_glasses + 0.1 * torch::randn({n, w_dim}, torch::kFloat64);
    faces.values = torch::full({n, static_cast<int64_t>(attributes::attribute_catalogue().size())}, -3.0, torch::kFloat64);
    faces.values.select(1, attributes::attribute_index("age")).copy_(age);
    faces.values.select(1, attributes::attribute_index("gender")).copy_(female * 6 - 3);
    faces.values.select(1, attributes::attribute_index("eyeglasses")).copy_(glasses * 6 - 3);
    const torch::Tensor group = torch::randint(0, 2, {n}, torch::kInt64);  // white or black
    faces.values.select(1, attributes::attribute_index("ethnicity_white")).copy_(3 - 6 * group.to(torch::kFloat64));
    faces.values.select(1, attributes::attribute_index("ethnicity_black")).copy_(6 * group.to(torch::kFloat64) - 3);
    return faces;
}

double cosine(const torch::Tensor& a, const torch::Tensor& b) {
    return (a.dot(b) / (a.norm() * b.norm())).item<double>();
}

TEST(StratifiedAgeStepsTest, StepsFollowAgeWithinGenderNotThePooledDrift) {
    const SyntheticFaces faces = synthetic_faces(6000, 75);
    const StratifiedAgeSteps steps = fit_stratified_age_steps(faces.w, faces.values);
    EXPECT_EQ(steps.older_strata, 4);  // 2 groups x 2 genders
    EXPECT_EQ(steps.younger_strata, 4);
    for (const torch::Tensor& step : {steps.older, steps.younger}) {
        EXPECT_GT(cosine(step, faces.along_age), 0.98);
        // Per year: the synthetic faces' own rate.
        EXPECT_NEAR(step.dot(faces.along_age).item<double>() / faces.along_age.dot(faces.along_age).item<double>(), 1.0, 0.1);
        EXPECT_LT(std::abs(step.dot(faces.along_glasses).item<double>()), 0.002);  // glasses left out
    }
    // The test bites: pooled means of the same faces (no strata) mix in the gender drift.
    const torch::Tensor age = faces.values.select(1, attributes::attribute_index("age"));
    const torch::Tensor old = age >= 45, young = (age >= 18) & (age <= 32);
    const torch::Tensor pooled = faces.w.index({old}).mean(0) - faces.w.index({young}).mean(0);
    EXPECT_LT(cosine(pooled, faces.along_age), 0.9);
}

TEST(StratifiedAgeStepsTest, NoOldFacesIsNamed) {
    const SyntheticFaces faces = synthetic_faces(500, 40);
    const std::string message = error_message_of([&] { fit_stratified_age_steps(faces.w, faces.values); });
    EXPECT_NE(message.find("45-1000"), std::string::npos) << message;
    EXPECT_NE(message.find("older"), std::string::npos) << message;
    EXPECT_NE(error_message_of([&] { fit_stratified_age_steps(faces.w, faces.values.narrow(1, 0, 3)); }).find("readings"),
              std::string::npos);
}

TEST_F(EditDirectionsTest, AgeTakesItsOwnStepsEachWayHoldingGender) {
    // The untrained classifier reads a narrow band of ages: bands at its own tertiles.
    generate::Request request;
    for (uint32_t seed = 0; seed < 270; ++seed) request.seeds.push_back(seed);
    request.truncation_psi = 1.0;
    torch::Tensor ages;
    {
        torch::InferenceMode inference;
        const std::vector<attributes::AttributeScores> scores =
            classifier_->score(session_->synthesize(session_->ws_for(request, 0, 270), model::NoiseMode::Const));
        std::vector<double> read;
        for (const auto& s : scores) read.push_back(s[static_cast<size_t>(attributes::attribute_index("age"))]);
        ages = torch::tensor(read, torch::kFloat64);
    }
    const double q1 = ages.quantile(1.0 / 3).item<double>(), q2 = ages.quantile(2.0 / 3).item<double>();
    DirectionFitOptions options;
    options.samples = 300;
    options.truncation_psi = 1.0;
    options.covariance_steps = false;
    options.response_samples = 8;  // the responses are not what this test is about
    options.age_bands = {ages.min().item<double>(), q1, q1, q2, q2, ages.max().item<double>(), 3};
    const AttributeDirections fitted = AttributeDirections::fit(*session_, *classifier_, options);
    ASSERT_TRUE(fitted.report()["age_steps"]["fitted"].get<bool>()) << fitted.report()["age_steps"].dump();
    EXPECT_FALSE(fitted.w_covariance().defined());
    const AttributeDirection& age = fitted.direction("age");
    ASSERT_TRUE(age.step_up.defined() && age.step_down.defined());
    const EditDirection up = fitted.conditioned("age", {"gender"}), down = fitted.conditioned("age", {"gender"}, true);
    const torch::Tensor gender = fitted.direction("gender").gradient.to(torch::kFloat32);
    for (const EditDirection& d : {up, down}) {
        EXPECT_NEAR(d.unit.norm().item<double>(), 1.0, 1e-5);
        EXPECT_LT(std::abs(gender.dot(d.unit).item<double>()), 1e-4 * gender.norm().item<double>());
        EXPECT_GT(d.units_per_step, 0);
    }
    EXPECT_LT(cosine(up.unit.to(torch::kFloat64), down.unit.to(torch::kFloat64)), 1 - 1e-6);
    // Unkept, gender is not projected out: the step is the stratified mean itself.
    EXPECT_GT(cosine(fitted.conditioned("age", {}).unit.to(torch::kFloat64), age.step_up), 1 - 1e-6);
    // Other attributes keep their gradient steps.
    const torch::Tensor smiling = fitted.direction("smiling").gradient;
    EXPECT_GT(cosine(fitted.conditioned("smiling", {}).unit.to(torch::kFloat64), smiling), 1 - 1e-6);

    // A change down goes along the step down, by the value over its rate.
    Editor editor(fitted, nullptr, {"gender"});
    const torch::Tensor ws = session_->ws_for(request, 0, 2);
    const torch::Tensor edited = editor.apply_changes(ws, parse_edits("age=-10", false));
    const torch::Tensor expected = ws - (10.0 / down.units_per_step) * down.unit.view({1, 1, -1});
    EXPECT_TRUE(torch::allclose(edited, expected, 1e-4, 1e-5));

    // The file keeps the steps (format 3) and still reads without a covariance.
    fitted.save(dir_ / "steps.safetensors");
    const AttributeDirections loaded = AttributeDirections::load(dir_ / "steps.safetensors", model_id_);
    EXPECT_TRUE(torch::equal(loaded.direction("age").step_down, age.step_down));
    EXPECT_DOUBLE_EQ(loaded.direction("age").response_down, age.response_down);
    EXPECT_FALSE(loaded.w_covariance().defined());
    EXPECT_TRUE(torch::allclose(loaded.conditioned("age", {"gender"}, true).unit, down.unit, 1e-5, 1e-6));
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

TEST_F(EditDirectionsTest, ChangesStopAtTheEdgeOfTheModelsFacesAndSaySo) {
    Editor editor(*directions_, nullptr);
    editor.set_reach(LatentReach::sample(*session_, {500, 3'000'000, 0.01}));
    generate::Request request;
    request.seeds = {1, 2, 3};
    request.truncation_psi = 1.0;
    const torch::Tensor ws = session_->ws_for(request, 0, 3);
    std::vector<std::vector<EditOutcome>> outcomes;
    // A hundred years is far beyond what the tiny model's w hold along any direction.
    const torch::Tensor edited = editor.apply_changes(ws, parse_edits("age=+100", false), &outcomes);
    ASSERT_EQ(outcomes.size(), 3u);
    std::vector<std::string> kept;
    for (const std::string& name : default_kept_attributes()) {
        if (name != "age") kept.push_back(name);
    }
    const EditDirection direction = directions_->conditioned("age", kept);
    const LatentReach reach = LatentReach::sample(*session_, {500, 3'000'000, 0.01});
    const double hi = reach.edges_along(direction.unit).second;
    for (int64_t i = 0; i < 3; ++i) {
        const EditOutcome& outcome = outcomes[static_cast<size_t>(i)].at(0);
        EXPECT_TRUE(outcome.limited && outcome.at_edge);
        EXPECT_LT(outcome.reached, 100);
        const double coordinate = edited[i].to(torch::kFloat64).mv(direction.unit.to(torch::kFloat64)).mean().item<double>();
        EXPECT_LE(coordinate, hi + 1e-3) << i;
        EXPECT_NE(describe_limits(outcomes[static_cast<size_t>(i)]).find("age=+100 limited to +"), std::string::npos)
            << describe_limits(outcomes[static_cast<size_t>(i)]);
    }
    // A small change of a face in the middle of the model's faces (the mean w of many seeds,
    // inside every edge) stays inside and is made whole.
    generate::Request many;
    for (uint32_t seed = 100; seed < 300; ++seed) many.seeds.push_back(seed);
    many.truncation_psi = 1.0;
    const torch::Tensor middle = session_->ws_for(many, 0, 200).mean(0, /*keepdim=*/true);
    // The tiny model's age barely answers its direction, so "small" is measured against the
    // span it can reach: half of the furthest change from the middle is made whole.
    editor.apply_changes(middle, parse_edits("age=+100", false), &outcomes);
    ASSERT_TRUE(outcomes[0].at(0).limited);
    const double furthest = outcomes[0].at(0).reached;
    ASSERT_GT(furthest, 0);
    std::vector<AttributeEdit> half = {{"age", /*absolute=*/false, furthest / 2}};
    editor.apply_changes(middle, half, &outcomes);
    EXPECT_FALSE(outcomes[0].at(0).limited);
    EXPECT_NEAR(outcomes[0].at(0).reached, furthest / 2, 1e-9);
    EXPECT_EQ(describe_limits(outcomes[0]), "");
    EXPECT_NE(editor.describe(parse_edits("age=+1", false)).find("limited to the model's faces"), std::string::npos);
}

TEST_F(EditDirectionsTest, AnUnreachableTargetSaysWhereItStopped) {
    Editor editor(*directions_, classifier_.get());
    editor.set_reach(LatentReach::sample(*session_, {500, 3'000'000, 0.01}));
    generate::Request request;
    request.seeds = {4, 5};
    request.truncation_psi = 1.0;
    const torch::Tensor ws = session_->ws_for(request, 0, 2);
    std::vector<std::vector<EditOutcome>> outcomes;
    // The untrained classifier reads ages near zero; 100 is out of the tiny model's reach.
    const torch::Tensor edited = editor.apply(*session_, ws, parse_edits("age=100", true), &outcomes);
    const std::vector<attributes::AttributeScores> scores =
        classifier_->score(session_->synthesize(edited, model::NoiseMode::Const));
    for (size_t i = 0; i < 2; ++i) {
        const EditOutcome& outcome = outcomes[i].at(0);
        EXPECT_TRUE(outcome.limited);
        EXPECT_NEAR(outcome.reached, scores[i][0], 1e-3);  // the reading of the face returned
        EXPECT_NE(describe_limits(outcomes[i]).find("age=100 reached"), std::string::npos) << describe_limits(outcomes[i]);
    }
}

TEST_F(EditDirectionsTest, AStripShowsEachFaceAcrossTheChange) {
    Editor editor(*directions_, nullptr);
    generate::Request request;
    request.seeds = {1, 2};
    request.truncation_psi = 1.0;
    torch::InferenceMode inference;
    const torch::Tensor ws = session_->ws_for(request, 0, 2);
    const StripSpec spec{"age", -10, 10, 3};
    const torch::Tensor strip = render_strip(*session_, editor, ws, spec);
    const int64_t side = session_->config().resolution;
    ASSERT_EQ(strip.sizes(), torch::IntArrayRef({2 * side, 3 * side, 3}));
    // Row 1 (the second face), column 2 (the last step, +10 years).
    const torch::Tensor expected =
        session_->synthesize(editor.apply(*session_, ws, parse_edits("age=+10", false)), model::NoiseMode::Const)[1];
    EXPECT_TRUE(torch::equal(strip.narrow(0, side, side).narrow(1, 2 * side, side), expected));
    EXPECT_EQ(strip_change(spec, 1), 0);
    EXPECT_EQ(describe_strip(editor, spec).rfind("strip of 3 steps age=-10..age=+10 (", 0), 0u) << describe_strip(editor, spec);
    test::expect_error_mentioning([&] { render_strip(*session_, editor, ws, {"age", -10, 10, 1}); }, {"2 steps"});
    test::expect_error_mentioning([&] { render_strip(*session_, editor, ws, {"age", 5, 5, 3}); }, {"5..5"});
}

TEST_F(EditDirectionsTest, MeasuringEditsReportsEachChangeAndTarget) {
    Editor editor(*directions_, classifier_.get());
    editor.set_reach(LatentReach::sample(*session_, {500, 3'000'000, 0.01}));
    generate::Request request;
    request.seeds = {1, 2, 3};
    request.truncation_psi = 1.0;
    EditMeasurementOptions options;
    options.changes = {parse_edits("age=+10", false), parse_edits("smiling=+2", false)};
    options.targets = {parse_edits("age=50", true)};
    options.batch = 2;
    // The mean colour of a face stands in for the identity network.
    const FaceDescriptors descriptors = [](const torch::Tensor& faces) {
        return faces.to(torch::kFloat32).mean({1, 2});
    };
    std::vector<double> done;
    const nlohmann::json out = measure_edits(*session_, request, editor, *classifier_, descriptors, options,
                                             [&](const core::ProgressReport& report) {
                                                 done.push_back(report.done);
                                                 EXPECT_EQ(report.total, 3);
                                             });
    EXPECT_EQ(done, (std::vector<double>{1, 2, 3}));
    EXPECT_EQ(out["faces"], 3);
    EXPECT_EQ(out["model_id"], model_id_);
    const nlohmann::json& age = out["edits"]["age=+10"];
    EXPECT_EQ(age["edit_unit"], "years");
    for (const char* kind : {"conditioned", "unconditioned"}) {
        const nlohmann::json& figures = age[kind];
        EXPECT_EQ(figures["other_changes"].size(), attributes::attribute_catalogue().size() - 1) << kind;
        EXPECT_FALSE(figures["other_changes"].contains("age")) << kind;
        // Years are age's edit units.
        EXPECT_DOUBLE_EQ(figures["target_change_in_edit_units"].get<double>(), figures["target_change"].get<double>());
        EXPECT_GT(figures["pixel_rms_change"].get<double>(), 0) << kind;
        EXPECT_GE(figures["limited_share"].get<double>(), 0) << kind;
        EXPECT_LE(figures["limited_share"].get<double>(), 1) << kind;
        EXPECT_GE(figures["identity_distance"].get<double>(), 0) << kind;
    }
    EXPECT_EQ(out["edits"]["smiling=+2"]["edit_unit"], "log-odds");
    ASSERT_EQ(out["targets"].size(), 1u);
    EXPECT_EQ(out["targets"][0]["set"], "age=50");
    EXPECT_EQ(out["targets"][0]["close_within"], 7.0);
    EXPECT_GT(out["unrelated_faces_pixel_rms"].get<double>(), 0);
    EXPECT_EQ(out["speed_ms_per_image"]["batch"], 2);

    request.seeds = {1};
    test::expect_error_mentioning([&] { measure_edits(*session_, request, editor, *classifier_, {}, options); },
                                  {"at least 2 faces"});
}

TEST(EditUnitsTest, ProbabilitiesBecomeLogOddsAndOtherUnitsStay) {
    const attributes::AttributeSpec& smiling = attributes::find_attribute("smiling");
    EXPECT_DOUBLE_EQ(attributes::to_edit_units(smiling, 0.5), 0);
    EXPECT_NEAR(attributes::to_edit_units(smiling, 0.75), std::log(3.0), 1e-12);
    // 0 and 1 stay finite: clamped to 1e-4 from either end.
    EXPECT_NEAR(attributes::to_edit_units(smiling, 0), std::log(1e-4 / (1 - 1e-4)), 1e-9);
    EXPECT_NEAR(attributes::to_edit_units(smiling, 1), -std::log(1e-4 / (1 - 1e-4)), 1e-9);
    EXPECT_EQ(attributes::to_edit_units(attributes::find_attribute("age"), 42), 42);
    EXPECT_EQ(attributes::edit_unit(smiling), "log-odds");
    EXPECT_EQ(attributes::edit_unit(attributes::find_attribute("age")), "years");
}

TEST(LatentReachTest, EdgesAreQuantilesAlongTheDirectionAndFacesStayInside) {
    torch::manual_seed(3);
    const torch::Tensor samples = torch::randn({20000, 4}) * torch::tensor({1.0f, 1.0f, 1.0f, 4.0f});
    const LatentReach reach(samples, 0.01);
    const auto [lo, hi] = reach.edges_along(torch::tensor({0.0f, 0.0f, 0.0f, 1.0f}));
    EXPECT_NEAR(lo, -4 * 2.326, 0.4);
    EXPECT_NEAR(hi, 4 * 2.326, 0.4);
    // Face 0 sits at the middle; face 1 already beyond the upper edge: it may come back
    // down but not go further up.
    torch::Tensor ws = torch::zeros({2, 3, 4});
    ws[1].select(1, 3).fill_(20);
    const torch::Tensor limits = reach.step_limits(ws, torch::tensor({0.0f, 0.0f, 0.0f, 1.0f}));
    EXPECT_NEAR(limits[0][0].item<double>(), lo, 1e-6);
    EXPECT_NEAR(limits[0][1].item<double>(), hi, 1e-6);
    EXPECT_NEAR(limits[1][0].item<double>(), lo - 20, 1e-6);
    EXPECT_EQ(limits[1][1].item<double>(), 0);
}

}  // namespace
}  // namespace facegen::edit

// Balanced synthetic datasets (src/synth): the cells and their counts, and whole runs on a
// tiny 64 px model with a test classifier whose head is set from the tiny model's own faces,
// so that its readings spread over the classes (the mechanics, not the quality of the labels).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <regex>

#include "attributes/catalogue.h"
#include "core/npy.h"
#include "core/png_io.h"
#include "data/pack.h"
#include "edit/directions.h"
#include "edit/editor.h"
#include "generate/session.h"
#include "model/model_file.h"
#include "synth/balance.h"
#include "synth/balance_chart.h"
#include "synth/journal.h"
#include "synth/label_files.h"
#include "synth/synth.h"
#include "spread_classifier.h"
#include "test_support.h"
#include "tiny_model.h"

namespace facegen::synth {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using test::error_message_of;

TEST(SynthBalanceTest, CellsAreEveryCombinationNamedInOrder) {
    const CellGrid grid(parse_balance("age,gender,ethnicity"));
    EXPECT_EQ(grid.n_cells(), 8 * 2 * 5);
    EXPECT_EQ(grid.name(0), "0-9_male_white");
    EXPECT_EQ(grid.name(grid.n_cells() - 1), "70+_female_other");
    EXPECT_EQ(grid.index_of("20-29_female_asian"), (2 * 2 + 1) * 5 + 2);
    EXPECT_EQ(grid.describe(grid.index_of("20-29_female_asian")), (json{{"age", "20-29"}, {"gender", "female"}, {"ethnicity", "asian"}}));
    EXPECT_EQ(grid.distance(grid.index_of("20-29_female_asian"), grid.index_of("20-29_male_white")), 2);
    const std::vector<edit::AttributeEdit> targets = grid.targets(grid.index_of("20-29_female_asian"), grid.index_of("70+_female_black"));
    ASSERT_EQ(targets.size(), 2u);
    EXPECT_EQ(edit::to_string(targets), "age=75,ethnicity_black=0.8");
    const CellGrid coarse(parse_balance("age, smiling", {30, 60}));
    EXPECT_EQ(coarse.name(0), "0-29_smiling");
    EXPECT_EQ(coarse.name(5), "60+_no_smiling");
}

TEST(SynthBalanceTest, ScoresDecideTheCell) {
    const CellGrid grid(parse_balance("age,gender,ethnicity"));
    attributes::AttributeScores scores(attributes::attribute_catalogue().size(), 0.0);
    scores[static_cast<size_t>(attributes::attribute_index("age"))] = 70.0;
    scores[static_cast<size_t>(attributes::attribute_index("gender"))] = 0.7;
    scores[static_cast<size_t>(attributes::attribute_index("ethnicity_indian"))] = 0.4;
    scores[static_cast<size_t>(attributes::attribute_index("ethnicity_white"))] = 0.3;
    EXPECT_EQ(grid.name(grid.cell_of(scores)), "70+_female_indian");
    scores[static_cast<size_t>(attributes::attribute_index("age"))] = 69.9;
    scores[static_cast<size_t>(attributes::attribute_index("gender"))] = 0.49;
    EXPECT_EQ(grid.name(grid.cell_of(scores)), "60-69_male_indian");
}

TEST(SynthBalanceTest, RequestedCountsSumExactly) {
    EXPECT_EQ(requested_counts(10, {}, 4), (std::vector<int64_t>{3, 3, 2, 2}));
    EXPECT_EQ(requested_counts(10, {1, 0, 3, 0}, 4), (std::vector<int64_t>{3, 0, 7, 0}));
    const std::vector<int64_t> uniform = requested_counts(400, {}, 80);
    EXPECT_EQ(std::count(uniform.begin(), uniform.end(), 5), 80);
    const CellGrid grid(parse_balance("gender"));
    EXPECT_EQ(weights_from_json(json{{"female", 2}}, grid), (std::vector<double>{0, 2}));
    test::expect_error_mentioning([&] { weights_from_json(json{{"woman", 1}}, grid); }, {"'woman'", "male, female"});
    test::expect_error_mentioning([&] { weights_from_json(json{{"male", -1}}, grid); }, {"'male'", "-1"});
    test::expect_error_mentioning([&] { requested_counts(10, {0, 0}, 2); }, {"all 0"});
}

TEST(SynthBalanceTest, ACountThatLeavesCellsEmptyIsRefused) {
    const CellGrid grid(parse_balance("age,gender,ethnicity"));
    // Uniform: 10 images over 80 cells would all go to the first ten (every one 0-9).
    test::expect_error_mentioning([&] { check_every_cell_reached(10, {}, grid); },
                                  {"count 10", "70 of the 80 cells", "10-19_male_white", "at least 80"});
    check_every_cell_reached(80, {}, grid);
    const CellGrid gender(parse_balance("gender"));
    test::expect_error_mentioning([&] { check_every_cell_reached(100, {1000, 1}, gender); }, {"1 of the 2", "(female)", "at least 1001"});
    check_every_cell_reached(100, {1, 0}, gender);  // a cell weighted 0 is not asked for
    check_every_cell_reached(1001, {1000, 1}, gender);
}

TEST(SynthBalanceTest, UnknownNamesListTheValidOnes) {
    test::expect_error_mentioning([] { parse_balance("age,race"); }, {"'race'", "age, gender, ethnicity", "smiling"});
    test::expect_error_mentioning([] { parse_balance("age,age"); }, {"'age' twice"});
    test::expect_error_mentioning([] { parse_balance(" , "); }, {"names no attribute"});
    test::expect_error_mentioning([] { parse_balance("age", {20, 10}); }, {"increasing"});
    test::expect_error_mentioning([] { parse_balance("brightness"); }, {"'brightness'"});
}

TEST(SynthBalanceChartTest, EveryClassAndCellIsLabelledAndHeadingsLeaveRoom) {
    const CellGrid grid(parse_balance("age,gender,ethnicity"));
    std::vector<int64_t> requested(static_cast<size_t>(grid.n_cells()), 5), achieved(requested.size(), 5);
    achieved[0] = 2;
    const std::string svg = balance_chart_svg(grid, requested, achieved, "test");
    for (const BalanceGroup& group : grid.groups()) {
        for (const std::string& c : group.classes) EXPECT_NE(svg.find(">" + c + "</text>"), std::string::npos) << c;
    }
    for (int64_t cell = 0; cell < grid.n_cells(); ++cell) EXPECT_NE(svg.find(">" + grid.name(cell) + "</text>"), std::string::npos);
    EXPECT_NE(svg.find("0-9_male_white achieved 2"), std::string::npos);
    // Each group's heading ends before the next panel starts (about 6 px a character at 10 px).
    const std::regex heading("<text x=\"([0-9]+)\" y=\"[0-9]+\" font-weight=\"bold\">([^<]+)</text>");
    std::vector<std::pair<int, std::string>> headings;
    for (std::sregex_iterator it(svg.begin(), svg.end(), heading), end; it != end; ++it) headings.emplace_back(std::stoi((*it)[1]), (*it)[2]);
    ASSERT_EQ(headings.size(), 4u);  // three groups and the cells
    EXPECT_EQ(headings[1].second, "gender (max 200)");
    for (size_t i = 0; i + 2 < headings.size(); ++i) {
        EXPECT_GE(headings[i + 1].first - headings[i].first, static_cast<int>(headings[i].second.size()) * 6 + 10) << headings[i].second;
    }
}

TEST(SynthLabelFilesTest, TheCsvAgeIsWholeYearsFromZero) {
    test::TempDir dir;
    const CellGrid grid(parse_balance("age,gender"));
    std::vector<ImageRecord> records;
    for (const double years : {-7.4, 31.6}) {
        ImageRecord r;
        r.scores.assign(attributes::attribute_catalogue().size(), 0.0);
        r.scores[static_cast<size_t>(attributes::attribute_index("age"))] = years;
        r.cell = years < 0 ? "0-9_male" : "30-39_female";
        r.file = r.cell + "/" + image_file_name(7);
        r.seed = 7;
        records.push_back(r);
    }
    write_labels_csv(dir / "labels.csv", records, grid);
    // The shipped classifier reads some babies below 0 years; labels.json keeps that score.
    EXPECT_EQ(test::read_file(dir / "labels.csv"),
              "file,cell,age_band,gender,age,seed,edited\n"
              "0-9_male/seed00000007.png,0-9_male,0-9,male,0,7,0\n"
              "30-39_female/seed00000007.png,30-39_female,30-39,female,32,7,0\n");
}

TEST(SynthJournalTest, ATornLastLineIsDroppedAndCut) {
    test::TempDir dir;
    const fs::path path = dir / "j.jsonl";
    {
        Journal journal(path);
        journal.append({{"a", 1}});
        journal.append({{"b", 2}});
    }
    std::ofstream(path, std::ios::app) << "{\"c\": 3";
    {
        Journal journal(path);
        ASSERT_EQ(journal.events().size(), 2u);
        journal.append({{"d", 4}});
    }
    const Journal reopened(path);
    ASSERT_EQ(reopened.events().size(), 3u);
    EXPECT_EQ(reopened.events()[2], (json{{"d", 4}}));
}

/// A tiny model, a test classifier whose readings spread over its faces, and directions
/// fitted once for the whole suite.
class SynthRunTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new test::TempDir();
        model::Generator generator = test::tiny_generator_for_images(3, 64);
        model::save_model_file(model_path(), generator, {});
        session_ = new generate::Session(model_path());
        torch::manual_seed(6);
        classifier_ = new attributes::AttributeClassifier(8);
        test::spread_readings_over_faces(*classifier_, *session_);
        edit::DirectionFitOptions fit;
        // The fewest faces a fit takes, and no response measured (each direction's step is
        // then the linear model's): 5 s instead of 20, and the edits of these tests land.
        fit.samples = 128;
        fit.response_samples = 0;
        fit.truncation_psi = 1.0;
        directions_ = new edit::AttributeDirections(edit::AttributeDirections::fit(*session_, *classifier_, fit));
    }
    static void TearDownTestSuite() {
        delete directions_;
        delete classifier_;
        delete session_;
        delete dir_;
    }
    static fs::path model_path() { return *dir_ / "tiny.safetensors"; }

    SynthOptions options(const std::string& name, int64_t count, const std::string& balance = "gender") const {
        SynthOptions o;
        o.out = *dir_ / name;
        o.count = count;
        o.balance = balance;
        o.batch = 4;
        o.truncation_psi = 1.0;
        o.edit = false;
        return o;
    }
    SynthResult run(const SynthOptions& o, const core::ProgressCallback& progress = nullptr) {
        edit::Editor editor(*directions_, classifier_);
        SynthTools tools{*session_, *classifier_, o.edit ? &editor : nullptr, "test-classifier"};
        return synthesize_dataset(tools, o, progress);
    }
    static std::vector<std::string> files_under(const fs::path& dir) {
        std::vector<std::string> files;
        for (const auto& entry : fs::recursive_directory_iterator(dir)) {
            if (entry.is_regular_file()) files.push_back(fs::relative(entry.path(), dir).string());
        }
        std::sort(files.begin(), files.end());
        return files;
    }

    static test::TempDir* dir_;
    static generate::Session* session_;
    static attributes::AttributeClassifier* classifier_;
    static edit::AttributeDirections* directions_;
};
test::TempDir* SynthRunTest::dir_ = nullptr;
generate::Session* SynthRunTest::session_ = nullptr;
attributes::AttributeClassifier* SynthRunTest::classifier_ = nullptr;
edit::AttributeDirections* SynthRunTest::directions_ = nullptr;

TEST_F(SynthRunTest, TheRequestedBalanceIsAchievedInAnImageFolderWithLabels) {
    SynthOptions o = options("balanced", 10);
    o.distribution = json{{"male", 2}, {"female", 3}};
    const SynthResult result = run(o);
    ASSERT_TRUE(result.complete()) << result.report.dump(1);
    EXPECT_EQ(result.report["achieved"], 10);
    EXPECT_EQ(result.report["cells"][0]["achieved"], 4);
    EXPECT_EQ(result.report["cells"][1]["achieved"], 6);
    // Every image sits in its cell's folder, and the classifier reads it there.
    const json labels = json::parse(test::read_file(o.out / "labels.json"));
    ASSERT_EQ(labels.size(), 10u);
    for (const json& image : labels) {
        const std::string file = image["file"];
        EXPECT_EQ(file.substr(0, file.find('/')), image["cell"].get<std::string>());
        EXPECT_EQ(image["cell"] == "female", image["scores"]["gender"].get<double>() >= 0.5) << image.dump();
        ASSERT_TRUE(fs::exists(o.out / file));
        // Labelled like every generated image.
        const core::PngImage png = core::read_png(o.out / file);
        bool labelled = false;
        for (const core::PngText& text : png.texts) labelled |= text.keyword == "facegen:model_id";
        EXPECT_TRUE(labelled) << file;
    }
    std::istringstream csv(test::read_file(o.out / "labels.csv"));
    std::string line;
    std::getline(csv, line);
    EXPECT_EQ(line, "file,cell,gender,age,seed,edited");
    int64_t rows = 0;
    while (std::getline(csv, line)) ++rows;
    EXPECT_EQ(rows, 10);
    const torch::Tensor latents = core::read_npy(o.out / "latents.npy");
    EXPECT_EQ(latents.sizes(), (std::vector<int64_t>{10, session_->config().num_ws(), 32}));
    for (const char* file : {"report.json", "report.html", "balance.svg", kManifestFileName}) EXPECT_TRUE(fs::exists(o.out / file)) << file;
    EXPECT_EQ(result.report["stats"]["n_images"], 10);
    EXPECT_EQ(result.report["stats"]["counts"]["gender"]["counts"]["female"], 6);
}

TEST_F(SynthRunTest, TheStoredLatentRedrawsTheImage) {
    const SynthOptions o = options("latents", 4);
    run(o);
    const json labels = json::parse(test::read_file(o.out / "labels.json"));
    const torch::Tensor ws = core::read_npy(o.out / "latents.npy");
    const torch::Tensor pixels = session_->synthesize(ws, model::NoiseMode::Const);
    // The files carry the invisible watermark: a few levels off the raw pixels at most.
    const core::PngImage png = core::read_png(o.out / labels[2]["file"].get<std::string>());
    const torch::Tensor stored = torch::from_blob(const_cast<uint8_t*>(png.pixels.data()), {64, 64, 3}, torch::kUInt8);
    EXPECT_LT((stored.to(torch::kFloat) - pixels[labels[2]["latent_row"].get<int64_t>()].to(torch::kFloat)).abs().mean().item<double>(), 3.0);
}

TEST_F(SynthRunTest, AnInterruptedRunContinuesToTheSameDataset) {
    const SynthOptions whole = options("whole", 12, "gender,smiling");
    run(whole);
    const SynthOptions cut = options("cut", 12, "gender,smiling");
    int64_t batches = 0;
    struct Interrupted {};
    EXPECT_THROW(run(cut, [&](const core::ProgressReport&) {
                     if (++batches == 2) throw Interrupted{};
                 }),
                 Interrupted);
    ASSERT_FALSE(fs::exists(cut.out / "labels.csv"));
    // What a crash leaves: an image whose journal line was never written, a torn line.
    fs::create_directories(cut.out / "male_smiling");
    std::ofstream(cut.out / "male_smiling" / "seed09999999.png") << "half";
    std::ofstream(cut.out / kJournalFileName, std::ios::app) << "{\"accept\": {\"file\": \"fem";
    const SynthResult resumed = run(cut);
    EXPECT_TRUE(resumed.complete());
    EXPECT_FALSE(fs::exists(cut.out / "male_smiling" / "seed09999999.png"));
    EXPECT_EQ(test::read_file(cut.out / "labels.csv"), test::read_file(whole.out / "labels.csv"));
    EXPECT_EQ(files_under(cut.out), files_under(whole.out));
    EXPECT_LT(resumed.report["images_this_run"].get<int64_t>(), 12);
    // Running a finished dataset again changes nothing.
    EXPECT_EQ(run(cut).report["images_this_run"], 0);
    EXPECT_EQ(test::read_file(cut.out / "labels.csv"), test::read_file(whole.out / "labels.csv"));
}

TEST_F(SynthRunTest, ACellTheModelNeverDrawsStopsAfterBoundedTries) {
    SynthOptions o = options("short", 6, "age");
    o.age_band_edges = {99};  // 0-98 and 99+: the tiny model's faces never read 99+
    o.max_tries = 3;
    const SynthResult result = run(o);
    EXPECT_FALSE(result.complete());
    EXPECT_EQ(result.short_cells, (std::vector<std::string>{"99+"}));
    EXPECT_EQ(result.report["seeds_drawn"], 18);  // max_tries x count, then it stops
    EXPECT_EQ(result.report["cells"][0]["achieved"], 3);
    EXPECT_GT(result.report["rejected"]["cell_full"].get<int64_t>(), 0);
    EXPECT_TRUE(fs::exists(o.out / "labels.csv"));  // what was made is a complete dataset
}

TEST_F(SynthRunTest, EditsTowardACellNoFaceReachesAreBounded) {
    SynthOptions o = options("edits-short", 3, "age");
    o.age_band_edges = {99};  // the tiny model's faces read 35 +- 15 years: 99+ is out of reach
    o.distribution = json{{"99+", 1}};
    o.edit = true;
    o.max_tries = 2;
    const SynthResult result = run(o);
    EXPECT_FALSE(result.complete());
    EXPECT_EQ(result.short_cells, (std::vector<std::string>{"99+"}));
    // max_tries x the cell's count edits are aimed at it, then it is given up.
    EXPECT_EQ(result.report["cells"][1]["edits_aimed"], 6);
    EXPECT_EQ(result.report["edits_tried"], 6);
    EXPECT_EQ(result.report["seeds_drawn"], 6);
}

TEST_F(SynthRunTest, EditsMoveFacesIntoCellsThatWantThem) {
    SynthOptions o = options("edited", 6);
    o.distribution = json{{"female", 1}};
    o.edit = true;
    o.max_tries = 4;
    const SynthResult result = run(o);
    EXPECT_TRUE(result.complete()) << result.report.dump(1);
    EXPECT_GT(result.report["edits_tried"].get<int64_t>(), 0);
    // Half the tiny model's faces read male: those are edited, and some land.
    EXPECT_GT(result.report["edited_images"].get<int64_t>(), 0) << result.report.dump(1);
    EXPECT_EQ(result.report["cells"][0]["achieved"], 0);
    const json labels = json::parse(test::read_file(o.out / "labels.json"));
    for (const json& image : labels) {
        EXPECT_EQ(image["cell"], "female");
        if (!image["edit"].get<std::string>().empty()) {
            EXPECT_NE(image["edit"].get<std::string>().find("gender=0.85"), std::string::npos) << image.dump();
        }
    }
}

TEST_F(SynthRunTest, CopiesOfTrainingFacesAreReplaced) {
    // A "training set" holding the first two faces the run will draw.
    const fs::path training = *dir_ / "training";
    {
        generate::Request request;
        request.seeds = {0, 1};
        request.truncation_psi = 1.0;
        const torch::Tensor pixels = session_->synthesize(session_->ws_for(request, 0, 2), model::NoiseMode::Const);
        data::PackWriter writer(training, 64, 3);
        data::PackIndex index;
        for (int64_t i = 0; i < 2; ++i) {
            writer.append(pixels[i].permute({2, 0, 1}).contiguous().data_ptr<uint8_t>(), {});
            index.labels.push_back({});
            index.splits.push_back(data::Split::kTrain);
        }
        writer.commit(index);
    }
    SynthOptions o = options("checked", 4);
    o.training = training;
    const SynthResult result = run(o);
    EXPECT_TRUE(result.complete());
    // Seeds 0 and 1 at least (the tiny model's faces are alike, so others may be too).
    EXPECT_GE(result.report["nearest"]["copies_removed"].get<int64_t>(), 2);
    EXPECT_EQ(result.report["images_this_run"], 4);  // the removed copies are not counted
    const json labels = json::parse(test::read_file(o.out / "labels.json"));
    ASSERT_EQ(labels.size(), 4u);
    for (const json& image : labels) {
        EXPECT_GT(image["seed"].get<uint32_t>(), 1u);
        EXPECT_GE(image["nearest"]["rms"].get<double>(), o.copy_threshold);
    }

    // A copy removed when no draws are left: its cell falls short, and its folder goes (an
    // empty class folder would trip ImageFolder loaders).
    SynthOptions last = options("last-copy", 1, "age");
    last.age_band_edges = {99};
    last.distribution = json{{"0-98", 1}};
    last.max_tries = 1;
    last.training = training;
    const SynthResult short_run = run(last);
    EXPECT_EQ(short_run.short_cells, (std::vector<std::string>{"0-98"}));
    EXPECT_EQ(short_run.report["nearest"]["copies_removed"], 1);
    EXPECT_FALSE(fs::exists(last.out / "0-98"));
    EXPECT_TRUE(fs::exists(last.out / "labels.csv"));
}

TEST_F(SynthRunTest, AFolderThatIsNotThisRunIsRefusedUntouched) {
    const fs::path other = *dir_ / "other";
    fs::create_directories(other);
    std::ofstream(other / "notes.txt") << "mine";
    SynthOptions o = options("other", 4);
    test::expect_error_mentioning([&] { run(o); }, {"'" + other.string() + "'", "not a synth run"});
    EXPECT_EQ(files_under(other), (std::vector<std::string>{"notes.txt"}));

    const SynthOptions first = options("settings", 4);
    run(first);
    SynthOptions changed = options("settings", 8);
    test::expect_error_mentioning([&] { run(changed); }, {"other settings", "count: 4 there, 8 here"});
    changed.overwrite = true;
    EXPECT_EQ(run(changed).report["achieved"], 8);

    o.overwrite = true;
    EXPECT_TRUE(run(o).complete());
    EXPECT_FALSE(fs::exists(other / "notes.txt"));
}

TEST_F(SynthRunTest, BadOptionsFailBeforeAnythingIsWritten) {
    SynthOptions o = options("bad", 4, "gender,hair");
    test::expect_error_mentioning([&] { run(o); }, {"'hair'", "valid names are"});
    o = options("bad", 0);
    test::expect_error_mentioning([&] { run(o); }, {"count 0"});
    o = options("bad", 3, "age,gender");
    test::expect_error_mentioning([&] { run(o); }, {"count 3", "without an image", "at least 16"});
    o = options("bad", 4);
    o.distribution = json{{"nobody", 1}};
    test::expect_error_mentioning([&] { run(o); }, {"'nobody'"});
    o = options("bad", 4);
    o.training = *dir_ / "no-such-dataset";
    test::expect_error_mentioning([&] { run(o); }, {"no-such-dataset"});
    EXPECT_FALSE(fs::exists(*dir_ / "bad"));
}

}  // namespace
}  // namespace facegen::synth

// `facegen dataset synth` through the built binary, on a tiny 64 px model and a test
// classifier whose readings spread over its faces: a run is an ImageFolder that `dataset
// stats` reads and `dataset build` packs with its labels; bad input (unknown balance names,
// a folder that is not this run, counts the balance cannot reach) is refused with a message
// that names it, leaving nothing half-written.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "attributes/classifier.h"
#include "data/pack.h"
#include "generate/session.h"
#include "model/model_file.h"
#include "spread_classifier.h"
#include "test_support.h"
#include "tiny_model.h"

namespace facegen {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using test::quote;

bool mentions(const std::string& text, const std::string& fragment) { return text.find(fragment) != std::string::npos; }

std::vector<std::string> files_under(const fs::path& dir) {
    std::vector<std::string> files;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
        if (entry.is_regular_file()) files.push_back(fs::relative(entry.path(), dir).string());
    }
    std::sort(files.begin(), files.end());
    return files;
}

class SynthCliTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new test::TempDir();
        model::Generator generator = test::tiny_generator_for_images(3, 64);
        model::save_model_file(*dir_ / "tiny.safetensors", generator, {});
        generate::Session session(*dir_ / "tiny.safetensors");
        torch::manual_seed(6);
        attributes::AttributeClassifier classifier(8);
        test::spread_readings_over_faces(classifier, session);
        classifier.save(*dir_ / "classifier.safetensors");
    }
    static void TearDownTestSuite() { delete dir_; }

    /// `facegen dataset synth` on the tiny model, without edits (it has no directions).
    static test::CommandResult synth(const std::string& arguments) {
        return test::run_command(quote(test::facegen_binary()) + " dataset synth --threads 1 --no-edit --truncation-psi 1 --batch 4 --model " +
                                 quote(*dir_ / "tiny.safetensors") + " --classifier " + quote(*dir_ / "classifier.safetensors") + " " +
                                 arguments);
    }
    static test::TempDir* dir_;
};
test::TempDir* SynthCliTest::dir_ = nullptr;

TEST_F(SynthCliTest, ARunIsAnImageFolderThatDatasetStatsReadsAndDatasetBuildPacks) {
    const fs::path out = *dir_ / "faces";
    const test::CommandResult run = synth("--count 6 --balance gender --out " + quote(out));
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const json report = json::parse(run.out);
    EXPECT_EQ(report["achieved"], 6);
    EXPECT_TRUE(report["short_cells"].empty());
    EXPECT_EQ(files_under(out / "male").size(), 3u);
    EXPECT_EQ(files_under(out / "female").size(), 3u);

    const test::CommandResult stats = test::run_command(quote(test::facegen_binary()) + " dataset stats " + quote(out));
    ASSERT_EQ(stats.exit_code, 0) << stats.err;
    EXPECT_EQ(json::parse(stats.out)["n_images"], 6);

    const fs::path packed = *dir_ / "packed";
    const test::CommandResult build =
        test::run_command(quote(test::facegen_binary()) + " dataset build --threads 1 --resolution 64 --align none --input " + quote(out) +
                          " --labels csv:" + quote(out / "labels.csv") + " --out " + quote(packed));
    ASSERT_EQ(build.exit_code, 0) << build.err;
    const data::PackedDataset dataset(packed);
    EXPECT_EQ(dataset.size(), 6);
}

TEST_F(SynthCliTest, UnknownNamesAndForeignFoldersAreRefusedUntouched) {
    const fs::path out = *dir_ / "refused";
    const test::CommandResult unknown = synth("--count 4 --balance gender,race --out " + quote(out));
    EXPECT_EQ(unknown.exit_code, 1);
    EXPECT_TRUE(mentions(unknown.err, "'race'")) << unknown.err;
    EXPECT_TRUE(mentions(unknown.err, "valid names are age, gender, ethnicity")) << unknown.err;
    const test::CommandResult none = synth("--count 0 --balance gender --out " + quote(out));
    EXPECT_EQ(none.exit_code, 1);
    EXPECT_TRUE(mentions(none.err, "count 0")) << none.err;
    const test::CommandResult few = synth("--count 10 --balance age,gender,ethnicity --out " + quote(out));
    EXPECT_EQ(few.exit_code, 1);
    EXPECT_TRUE(mentions(few.err, "count 10 leaves 70 of the 80 cells")) << few.err;
    EXPECT_TRUE(mentions(few.err, "at least 80")) << few.err;
    std::ofstream(*dir_ / "cells.json") << R"({"female": 1, "nobody": 1})";
    const test::CommandResult cell = synth("--count 4 --balance gender --distribution " + quote(*dir_ / "cells.json") + " --out " + quote(out));
    EXPECT_EQ(cell.exit_code, 1);
    EXPECT_TRUE(mentions(cell.err, "'nobody'")) << cell.err;
    EXPECT_FALSE(fs::exists(out));

    // A folder that holds something else, and a run of other settings.
    fs::create_directories(out);
    std::ofstream(out / "notes.txt") << "mine";
    const test::CommandResult foreign = synth("--count 4 --balance gender --out " + quote(out));
    EXPECT_EQ(foreign.exit_code, 1);
    EXPECT_TRUE(mentions(foreign.err, "not a synth run")) << foreign.err;
    EXPECT_TRUE(mentions(foreign.err, "overwrite")) << foreign.err;
    EXPECT_EQ(files_under(out), (std::vector<std::string>{"notes.txt"}));
    const fs::path run = *dir_ / "four";
    ASSERT_EQ(synth("--count 4 --balance gender --out " + quote(run)).exit_code, 0);
    const std::vector<std::string> made = files_under(run);
    const test::CommandResult changed = synth("--count 6 --balance gender --out " + quote(run));
    EXPECT_EQ(changed.exit_code, 1);
    EXPECT_TRUE(mentions(changed.err, "count: 4 there, 6 here")) << changed.err;
    EXPECT_EQ(files_under(run), made);
    const test::CommandResult overwritten = synth("--count 4 --balance gender --overwrite --out " + quote(out));
    EXPECT_EQ(overwritten.exit_code, 0) << overwritten.err;
    EXPECT_FALSE(fs::exists(out / "notes.txt"));
}

TEST_F(SynthCliTest, ACountTheBalanceCannotReachNamesTheShortCellsAndKeepsACompleteDataset) {
    // 0-98 and 99+: the tiny model's faces read 35 +- 15 years, never 99+.
    std::ofstream(*dir_ / "ages.json") << R"({"0-98": 1, "99+": 1})";
    const fs::path out = *dir_ / "short";
    const std::string arguments =
        "--count 4 --balance age --age-bands 99 --max-tries 2 --distribution " + quote(*dir_ / "ages.json") + " --out " + quote(out);
    const test::CommandResult run = synth(arguments);
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_TRUE(mentions(run.err, "1 cells fell short")) << run.err;
    EXPECT_TRUE(mentions(run.err, "99+ 0/2 (drawn 0x")) << run.err;
    EXPECT_TRUE(mentions(run.err, "--allow-short")) << run.err;
    // What was made is a whole dataset: the two faces of 0-98, labelled, with the report.
    EXPECT_EQ(json::parse(run.out)["achieved"], 2);
    EXPECT_EQ(files_under(out / "0-98").size(), 2u);
    const json labels = json::parse(test::read_file(out / "labels.json"));
    EXPECT_EQ(labels.size(), 2u);
    EXPECT_EQ(json::parse(test::read_file(out / "report.json"))["short_cells"], json::array({"99+"}));
    // Accepting it continues the same run (nothing left to draw) and exits 0.
    const test::CommandResult accepted = synth(arguments + " --allow-short");
    EXPECT_EQ(accepted.exit_code, 0) << accepted.err;
    EXPECT_EQ(json::parse(accepted.out)["images_this_run"], 0);
}

}  // namespace
}  // namespace facegen

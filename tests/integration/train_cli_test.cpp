#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "test_support.h"
#include "train/trainer.h"

namespace facegen::train {
namespace {

class TrainCli : public ::testing::Test {
protected:
    void SetUp() override {
        if (!std::filesystem::exists(facegen::test::facegen_binary())) GTEST_SKIP() << "facegen binary not built";
    }
    std::string bin() const { return facegen::test::facegen_binary().string(); }
    // A 16x16 run on synthetic blobs that takes a few seconds; `extra` adds or overrides options.
    facegen::test::CommandResult tiny_run(const std::filesystem::path& out, const std::string& extra,
                                          int resolution = 16, int channel_max = 32) const {
        return facegen::test::run_command(
            bin() + " train --data synthetic:blobs:64 --resolution " + std::to_string(resolution) +
            " --z-dim 32 --w-dim 32 --channel-base 512 --channel-max " + std::to_string(channel_max) +
            " --batch 8 --aug noaug --threads 2 " + extra + " --out '" + out.string() + "'");
    }
    facegen::test::TempDir dir_;
};

TEST_F(TrainCli, HelpShowsOptionsWithDefaults) {
    const auto r = facegen::test::run_command(bin() + " train --help");
    EXPECT_EQ(r.exit_code, 0);
    for (const char* text : {"--kimg", "--batch-gpu", "--resume", "--nproc", "--aug", "--snap-kimg", "25000", "bgc"})
        EXPECT_NE(r.out.find(text), std::string::npos) << text;
}

TEST_F(TrainCli, TinyRunWritesTheRunFolderAndAModel) {
    const auto out = dir_ / "run";
    const auto r = tiny_run(out, "--kimg 0.032 --snap-kimg 0.016");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("model.safetensors"), std::string::npos) << r.out;
    EXPECT_TRUE(std::filesystem::exists(out / "model.safetensors"));
    EXPECT_TRUE(std::filesystem::exists(out / "log.jsonl"));
    EXPECT_TRUE(std::filesystem::exists(out / "config.json"));
    EXPECT_NE(r.err.find("gamma"), std::string::npos) << "resolved options logged";
}

TEST_F(TrainCli, ResumeWithOnlyTheRunFolderRestoresTheRunsOptions) {
    const auto out = dir_ / "run";
    const auto first = tiny_run(out, "--kimg 0.016 --snap-kimg 0.016 --mirror");
    ASSERT_EQ(first.exit_code, 0) << first.err;
    // Only the length changes; data, architecture and recipe come from config.json.
    const auto resumed =
        facegen::test::run_command(bin() + " train --resume latest --kimg 0.032 --out '" + out.string() + "'");
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_NE(resumed.err.find("resumed from"), std::string::npos) << resumed.err;
    EXPECT_NE(resumed.err.find("channel_max = 32"), std::string::npos) << resumed.err;
    EXPECT_NE(resumed.err.find("mirror = 1"), std::string::npos) << resumed.err;
    EXPECT_NE(resumed.err.find("kimg = 0.032"), std::string::npos) << resumed.err;
    EXPECT_NE(resumed.err.find("kimg=0.032 img/s="), std::string::npos) << resumed.err;  // summary: images seen, rate
    EXPECT_NE(resumed.err.find("train: 0.016 kimg ("), std::string::npos) << resumed.err;  // this session's
}

// A run's model file carries its discriminator, so a new run can start from it.
TEST_F(TrainCli, InitFromARunsModelContinuesItsCount) {
    const auto first = dir_ / "first";
    const auto r1 = tiny_run(first, "--kimg 0.016");
    ASSERT_EQ(r1.exit_code, 0) << r1.err;
    const auto info = facegen::test::run_command(bin() + " info '" + (first / "model.safetensors").string() + "'");
    ASSERT_EQ(info.exit_code, 0) << info.err;
    EXPECT_NE(info.out.find("\"mbstd_group_size\""), std::string::npos) << "discriminator listed\n" << info.out;

    const auto second = dir_ / "second";
    const auto r2 = tiny_run(second, "--kimg 0.032 --init-from '" + (first / "model.safetensors").string() + "'");
    ASSERT_EQ(r2.exit_code, 0) << r2.err;
    EXPECT_NE(r2.err.find("generator + discriminator"), std::string::npos) << r2.err;
    EXPECT_NE(r2.err.find("at 0.016 kimg"), std::string::npos) << r2.err;
    EXPECT_NE(r2.err.find("train: 0.016 kimg ("), std::string::npos) << "only the remaining images\n" << r2.err;
    EXPECT_TRUE(std::filesystem::exists(second / "model.safetensors"));

    const auto both = tiny_run(dir_ / "both", "--resume latest --init-from '" + (first / "model.safetensors").string() + "'");
    EXPECT_NE(both.exit_code, 0);
    EXPECT_NE(both.err.find("exclude each other"), std::string::npos) << both.err;
}

// --grow-from: a 16x16 run's model grows into a 32x32 run; files that cannot grow stop the
// command with one error before anything is written.
TEST_F(TrainCli, GrowFromASmallerModelAndBadModelsAreClearErrors) {
    const auto small = dir_ / "small";
    const auto r1 = tiny_run(small, "--kimg 0.016");
    ASSERT_EQ(r1.exit_code, 0) << r1.err;
    const auto model = small / "model.safetensors";

    const auto grown = dir_ / "grown";
    const auto r2 = tiny_run(grown, "--kimg 0.032 --d-warmup-kimg 0.008 --grow-from '" + model.string() + "'", 32);
    ASSERT_EQ(r2.exit_code, 0) << r2.err;
    EXPECT_NE(r2.err.find("from 16x16 to 32x32"), std::string::npos) << r2.err;
    const auto info = facegen::test::run_command(bin() + " info '" + (grown / "model.safetensors").string() + "'");
    ASSERT_EQ(info.exit_code, 0) << info.err;
    EXPECT_NE(info.out.find("grown_from_resolution"), std::string::npos) << "provenance names the growth\n" << info.out;

    const auto same = tiny_run(dir_ / "same", "--kimg 0.032 --grow-from '" + model.string() + "'");
    EXPECT_NE(same.exit_code, 0);
    EXPECT_NE(same.err.find("already 16x16"), std::string::npos) << same.err;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "same")) << "nothing written on a bad model";

    const auto other = tiny_run(dir_ / "other", "--kimg 0.032 --grow-from '" + model.string() + "'", 32, 16);
    EXPECT_NE(other.exit_code, 0);
    EXPECT_NE(other.err.find("in more than the resolution"), std::string::npos) << other.err;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "other"));

    const auto truncated = dir_ / "truncated.safetensors";
    {
        std::ifstream in(model, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    }
    const auto cut = tiny_run(dir_ / "cut", "--kimg 0.032 --grow-from '" + truncated.string() + "'", 32);
    EXPECT_NE(cut.exit_code, 0);
    EXPECT_NE(cut.err.find(truncated.filename().string()), std::string::npos) << "the error names the file\n" << cut.err;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "cut"));
}

// The bundled model is trained across sessions on machines that keep nothing but the
// repository, so the shipped file is also where training continues from: it must carry its
// discriminator and load into a run with the model's architecture options.
TEST_F(TrainCli, TheBundledModelContinuesWithItsOwnDiscriminator) {
    const auto bundled = facegen::test::source_dir() / "models" / "facegen-default.safetensors";
    const auto info = facegen::test::run_command(bin() + " info '" + bundled.string() + "'");
    ASSERT_EQ(info.exit_code, 0) << info.err;
    const auto card = nlohmann::json::parse(info.out);
    ASSERT_TRUE(card.contains("discriminator")) << "the bundled model has no discriminator to continue with";
    const auto& g = card["config"];
    const auto r = facegen::test::run_command(
        bin() + " train --data synthetic:blobs:32 --resolution " + std::to_string(g["resolution"].get<int>()) +
        " --channel-base " + std::to_string(g["channel_base"].get<int>()) + " --channel-max " +
        std::to_string(g["channel_max"].get<int>()) + " --map-layers " +
        std::to_string(g["n_mapping_layers"].get<int>()) + " --z-dim " + std::to_string(g["z_dim"].get<int>()) +
        " --w-dim " + std::to_string(g["w_dim"].get<int>()) +
        " --batch 16 --aug noaug --threads 2 --init-from '" + bundled.string() +
        "' --init-kimg 0 --kimg 0.016 --out '" + (dir_ / "continued").string() + "'");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("generator + discriminator"), std::string::npos) << r.err;
    EXPECT_TRUE(std::filesystem::exists(dir_ / "continued" / "model.safetensors"));
}

// A scheduler stops a job by sending SIGTERM to the process it started: with --nproc that
// is the launcher, which must pass it on so that every rank checkpoints and exits.
TEST_F(TrainCli, SigtermToTheNprocLauncherCheckpointsAndStopsEveryRank) {
    const auto out = dir_ / "run";
    const auto err_path = dir_ / "err.txt";
    const std::string command = "exec " + bin() +
                                " train --data synthetic:blobs:64 --resolution 16 --z-dim 32 --w-dim 32 "
                                "--channel-base 512 --channel-max 32 --batch 8 --aug noaug --nproc 2 --threads 1 "
                                "--kimg 1000 --snap-kimg 0 --out '" + out.string() + "' 2> '" + err_path.string() + "'";
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
        std::_Exit(127);
    }
    auto read_err = [&] {
        std::ifstream in(err_path);
        std::ostringstream s;
        s << in.rdbuf();
        return s.str();
    };
    // Wait until the ranks train (the log gets its first progress line).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (read_err().find("kimg/s") == std::string::npos && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ASSERT_NE(read_err().find("kimg/s"), std::string::npos) << read_err();
    ASSERT_EQ(::kill(pid, SIGTERM), 0);
    int status = 0;
    pid_t done = 0;
    const auto stop_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while ((done = ::waitpid(pid, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < stop_deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (done == 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        FAIL() << "the launcher did not stop within 60 s of SIGTERM\n" << read_err();
    }
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_err();
    EXPECT_NE(read_err().find("interrupted; continue with"), std::string::npos) << read_err();
    EXPECT_FALSE(facegen::train::list_checkpoints(out).empty()) << "a checkpoint on the way out";
}

// A missing or empty dataset stops training before anything is written.
TEST_F(TrainCli, MissingOrEmptyDatasetIsAClearError) {
    auto train_on = [&](const std::filesystem::path& data, const std::string& run) {
        return facegen::test::run_command(bin() + " train --data '" + data.string() + "' --kimg 0.016 --threads 2 --out '" +
                                          (dir_ / run).string() + "'");
    };
    const auto missing = train_on(dir_ / "nothing-here", "missing");
    EXPECT_NE(missing.exit_code, 0);
    EXPECT_NE(missing.err.find("nothing-here' is not a folder"), std::string::npos) << missing.err;
    std::filesystem::create_directories(dir_ / "empty");
    const auto empty = train_on(dir_ / "empty", "empty");
    EXPECT_NE(empty.exit_code, 0);
    EXPECT_NE(empty.err.find("empty' is invalid: no 'index.json'"), std::string::npos) << empty.err;
    EXPECT_EQ(empty.err.find("terminate called"), std::string::npos) << "a clear error, not a crash\n" << empty.err;
    for (const char* run : {"missing", "empty"}) EXPECT_FALSE(std::filesystem::exists(dir_ / run / "config.json")) << run;
}

// `facegen bench train`: one JSON line with the throughput figures.
TEST_F(TrainCli, BenchTrainPrintsOneJsonLineOfFigures) {
    const auto r = facegen::test::run_command(bin() + " bench train --resolution 16 --channel-base 512 --channel-max 32 "
                                                      "--z-dim 32 --batch 8 --steps 2 --threads 2");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto line = r.out.substr(0, r.out.find('\n'));
    const auto figures = nlohmann::json::parse(line);
    for (const char* key : {"train_images_per_s", "peak_rss_MiB", "roofline_fraction"})
        ASSERT_TRUE(figures.contains(key)) << key << " in " << line;
    EXPECT_GT(figures["train_images_per_s"].get<double>(), 0.0);
    EXPECT_GT(figures["peak_rss_MiB"].get<double>(), 0.0);
    const auto bad = facegen::test::run_command(bin() + " bench train --steps 0");
    EXPECT_NE(bad.exit_code, 0);
    EXPECT_NE(bad.err.find("--steps 0"), std::string::npos) << bad.err;
}

// bfloat16 runs the mixed-precision path on a CPU; float16 there is refused up front.
TEST_F(TrainCli, MixedPrecisionOptions) {
    const auto r = tiny_run(dir_ / "bf16", "--kimg 0.016 --precision bf16 --low-precision-res 1");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("precision = \"bf16\""), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("conv_clamp = 256"), std::string::npos) << "auto clamp with reduced precision\n" << r.err;
    const auto fp16 = tiny_run(dir_ / "fp16", "--kimg 0.016 --precision fp16");
    EXPECT_NE(fp16.exit_code, 0);
    EXPECT_NE(fp16.err.find("--precision fp16 needs --device cuda"), std::string::npos) << fp16.err;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "fp16" / "config.json"));
}

TEST_F(TrainCli, BadOptionIsAClearError) {
    const auto r = facegen::test::run_command(bin() + " train --data synthetic:blobs:64 --resolution 16 --batch 6 "
                                                      "--batch-gpu 4 --out '" + (dir_ / "bad").string() + "'");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("batch_gpu = 4"), std::string::npos) << r.err;  // field of --batch-gpu
}

}  // namespace
}  // namespace facegen::train

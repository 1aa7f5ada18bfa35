#include <gtest/gtest.h>
#include <sys/resource.h>
#include <torch/torch.h>

#include <csignal>
#include <fstream>

#include "core/error.h"
#include "core/safetensors.h"
#include "test_support.h"
#include "train/trainer.h"
#include "train_tiny.h"

namespace facegen::train {
namespace {

using TrainCheckpoint = test::TinyTrainerTest;

void expect_same_state(const std::map<std::string, torch::Tensor>& a, const std::map<std::string, torch::Tensor>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (const auto& [name, tensor] : a) {
        ASSERT_TRUE(b.count(name)) << name;
        const auto x = tensor.cpu(), y = b.at(name).cpu();
        // equal, NaN included (r_t is NaN before the first ADA update)
        const bool same = x.sizes() == y.sizes() && x.scalar_type() == y.scalar_type() &&
                          (x.is_floating_point() ? ((x == y) | (x.isnan() & y.isnan())).all().item<bool>() : torch::equal(x, y));
        EXPECT_TRUE(same) << name;
    }
}

TEST_F(TrainCheckpoint, RoundTripRestoresEveryPieceOfState) {
    auto o = test::tiny_options();
    o.aug = AugmentMode::Fixed;  // exercises aug_p in the state without the ADA pipeline
    o.aug_p = 0.25;
    auto identity = [](const torch::Tensor& x, double) { return x; };
    auto data = test::tiny_data(o);
    Trainer a(o, data, torch::kCPU, identity);
    for (int i = 0; i < 5; ++i) a.step();
    const auto path = dir_ / "ckpt.safetensors";
    a.save_checkpoint(path);

    auto data_b = test::tiny_data(o);
    auto o_b = o;
    o_b.seed = 99;  // different initial weights: everything must come from the file
    Trainer b(o_b, data_b, torch::kCPU, identity);
    b.load_checkpoint(path);
    expect_same_state(a.state_tensors(), b.state_tensors());
    EXPECT_EQ(b.cur_nimg(), 5 * o.batch);
    EXPECT_EQ(b.batch_idx(), 5);
    EXPECT_DOUBLE_EQ(b.pl_mean(), a.pl_mean());
    EXPECT_GT(b.pl_mean(), 0.0);
    EXPECT_DOUBLE_EQ(b.aug_p(), 0.25);
    EXPECT_EQ(data_b->state(), data->state());
    EXPECT_EQ(b.adam_g().state().begin()->second.step, a.adam_g().state().begin()->second.step);
}

TEST_F(TrainCheckpoint, ContinuingFromACheckpointIsBitExact) {
    auto o = test::tiny_options();
    Trainer a(o, test::tiny_data(o), torch::kCPU);
    for (int i = 0; i < 3; ++i) a.step();
    const auto path = dir_ / "ckpt.safetensors";
    a.save_checkpoint(path);
    for (int i = 0; i < 3; ++i) a.step();

    Trainer b(o, test::tiny_data(o), torch::kCPU);
    b.load_checkpoint(path);
    for (int i = 0; i < 3; ++i) b.step();
    expect_same_state(a.state_tensors(), b.state_tensors());
}

TEST_F(TrainCheckpoint, OtherArchitectureIsAClearError) {
    auto o = test::tiny_options();
    Trainer a(o, test::tiny_data(o), torch::kCPU);
    const auto path = dir_ / "ckpt.safetensors";
    a.save_checkpoint(path);
    auto other = o;
    other.channel_max = 16;
    Trainer b(other, test::tiny_data(other), torch::kCPU);
    const auto before = b.state_tensors().at("G/mapping.fc0.weight").clone();
    facegen::test::expect_error_mentioning([&] { b.load_checkpoint(path); }, {"another architecture", "ckpt.safetensors"});
    EXPECT_TRUE(torch::equal(before, b.state_tensors().at("G/mapping.fc0.weight")));
}

TEST_F(TrainCheckpoint, TruncatedFileIsAClearError) {
    auto o = test::tiny_options();
    Trainer a(o, test::tiny_data(o), torch::kCPU);
    const auto path = dir_ / "ckpt.safetensors";
    a.save_checkpoint(path);
    std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
    facegen::test::expect_error_mentioning([&] { a.load_checkpoint(path); }, {"ckpt.safetensors", "truncated"});
    std::ofstream(dir_ / "garbage.safetensors") << "not a checkpoint";
    EXPECT_THROW(a.load_checkpoint(dir_ / "garbage.safetensors"), Error);
}

// One flipped bit in the weights: refused, and the trainer keeps its state.
TEST_F(TrainCheckpoint, FlippedByteIsACorruptionError) {
    auto o = test::tiny_options();
    Trainer a(o, test::tiny_data(o), torch::kCPU);
    a.step();
    const auto path = dir_ / "ckpt.safetensors";
    a.save_checkpoint(path);
    {
        std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
        file.seekg(-64, std::ios::end);  // inside the last tensors' data
        char byte = 0;
        file.read(&byte, 1);
        byte ^= 0x10;
        file.seekp(-64, std::ios::end);
        file.write(&byte, 1);
    }
    Trainer b(o, test::tiny_data(o), torch::kCPU);
    const auto before = b.state_tensors();
    facegen::test::expect_error_mentioning([&] { b.load_checkpoint(path); }, {"ckpt.safetensors", "is corrupted"});
    EXPECT_EQ(b.cur_nimg(), 0);
    EXPECT_TRUE(torch::equal(before.at("G/synthesis.b4.const"), b.state_tensors().at("G/synthesis.b4.const")));
}

TEST_F(TrainCheckpoint, ModelFileIsNotACheckpoint) {
    auto o = test::tiny_options();
    Trainer a(o, test::tiny_data(o), torch::kCPU);
    core::write_safetensors(dir_ / "other.safetensors", {{"x", torch::zeros({2})}}, {{"format", "facegen-model"}});
    facegen::test::expect_error_mentioning([&] { a.load_checkpoint(dir_ / "other.safetensors"); }, {"facegen-model"});
}

TEST_F(TrainCheckpoint, FailedSaveLeavesThePreviousCheckpointLoadable) {
    auto o = test::tiny_options();
    Trainer a(o, test::tiny_data(o), torch::kCPU);
    a.step();
    const auto path = dir_ / "ckpt.safetensors";
    a.save_checkpoint(path);
    const auto saved = a.state_tensors().at("G/mapping.fc0.weight").clone();
    a.step();
    // A full disk, simulated: no file may grow beyond 4 KiB (writes fail with EFBIG).
    rlimit old_limit{};
    ::getrlimit(RLIMIT_FSIZE, &old_limit);
    auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit small = old_limit;
    small.rlim_cur = 4096;
    ::setrlimit(RLIMIT_FSIZE, &small);
    bool threw = false;
    try {
        a.save_checkpoint(path);
    } catch (const std::exception&) {
        threw = true;
    }
    ::setrlimit(RLIMIT_FSIZE, &old_limit);
    std::signal(SIGXFSZ, old_handler);
    EXPECT_TRUE(threw);
    Trainer b(o, test::tiny_data(o), torch::kCPU);
    b.load_checkpoint(path);
    EXPECT_TRUE(torch::equal(saved, b.state_tensors().at("G/mapping.fc0.weight")));
    EXPECT_EQ(b.cur_nimg(), o.batch);
}

TEST_F(TrainCheckpoint, RunKeepsTheLastCheckpointsAndExportsTheModel) {
    auto o = test::tiny_options();
    o.keep_checkpoints = 2;
    Trainer a(o, test::tiny_data(o), torch::kCPU, {}, nullptr, RunFolder{dir_.path(), "test"});
    const auto result = a.run();
    EXPECT_EQ(result.cur_nimg, 96);
    const auto all = list_checkpoints(dir_.path());
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all.back().filename(), "checkpoint-000000096.safetensors");
    EXPECT_EQ(resolve_resume("latest", dir_.path()), all.back());
    EXPECT_TRUE(std::filesystem::exists(dir_ / "model.safetensors"));
    EXPECT_TRUE(std::filesystem::exists(dir_ / "config.json"));
    std::ifstream log(dir_ / "log.jsonl");
    std::string line;
    int lines = 0;
    while (std::getline(log, line)) {
        const auto j = nlohmann::json::parse(line);
        EXPECT_TRUE(j.contains("kimg") && j.contains("loss_g") && j.contains("img_per_s") && j.contains("peak_mem_mib"));
        ++lines;
    }
    EXPECT_EQ(lines, 3);
}

TEST_F(TrainCheckpoint, ResumeLatestWithoutCheckpointsIsAnError) {
    EXPECT_THROW(resolve_resume("latest", dir_.path()), Error);
    EXPECT_THROW(resolve_resume((dir_ / "missing.safetensors").string(), dir_.path()), Error);
}

}  // namespace
}  // namespace facegen::train

#include <gtest/gtest.h>

#include <filesystem>

#include "test_support.h"

namespace facegen::train {
namespace {

class TrainCli : public ::testing::Test {
protected:
    void SetUp() override {
        if (!std::filesystem::exists(facegen::test::facegen_binary())) GTEST_SKIP() << "facegen binary not built";
    }
    std::string bin() const { return facegen::test::facegen_binary().string(); }
    // A 16x16 run on synthetic blobs that takes a few seconds; `extra` adds or overrides options.
    facegen::test::CommandResult tiny_run(const std::filesystem::path& out, const std::string& extra) const {
        return facegen::test::run_command(
            bin() + " train --data synthetic:blobs:64 --resolution 16 --z-dim 32 --w-dim 32 --channel-base 512 "
                    "--channel-max 32 --batch 8 --aug noaug --threads 2 " + extra + " --out '" + out.string() + "'");
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
    EXPECT_NE(resumed.err.find("kimg=0.032 in"), std::string::npos) << resumed.err;  // summary: images seen
    EXPECT_NE(resumed.err.find("train: 0.016 kimg ("), std::string::npos) << resumed.err;  // this session's
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
    EXPECT_NE(r.err.find("--batch-gpu 4"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace facegen::train

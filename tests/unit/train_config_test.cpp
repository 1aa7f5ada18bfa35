// The files a run leaves for its resumption stay readable: a config.json written before the
// training options came from one table (a 128x128 run of 2026-12-07, its "options" as
// written) loads and writes back key for key, and a checkpoint keeps the metadata of its
// format's version 1.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <set>
#include <string>

#include "core/safetensors.h"
#include "test_support.h"
#include "train/checkpoint.h"
#include "train/options.h"
#include "train/trainer.h"
#include "train_tiny.h"

namespace facegen::train {
namespace {

// config.json of a run started on 2026-12-07 by a facegen before the options table, as written.
constexpr const char* kConfigOf20261207 = R"json({
  "dataset": "data/utkface-tight-128",
  "device": "cpu",
  "facegen_version": "af1354f-dirty",
  "hardware": "cpu, 2 threads, 2 cores",
  "initialized_from": {
    "d_warmup_kimg": 4.0,
    "grown_from_resolution": 64,
    "kimg": 460.4,
    "model_id": "518486c08355a537",
    "path": "models/facegen-default.safetensors",
    "with_discriminator": true
  },
  "options": {
    "ada_interval": 4,
    "ada_kimg": 500.0,
    "adam_beta1": 0.0,
    "adam_beta2": 0.99,
    "adam_eps": 1e-08,
    "aug": "ada",
    "aug_p": 0.0,
    "augpipe": "bgc",
    "batch": 16,
    "batch_gpu": 16,
    "channel_base": 4096,
    "channel_max": 128,
    "conv_clamp": 0.0,
    "d_lr": 0.0025,
    "d_reg_interval": 16,
    "ema_kimg": 5.0,
    "ema_rampup": 0.05,
    "g_lr": 0.0025,
    "g_reg_interval": 4,
    "gamma": 0.2048,
    "image_kimg": 8.0,
    "img_channels": 3,
    "keep_checkpoints": 3,
    "kimg": 1000.0,
    "low_precision_res": 4,
    "map_layers": 2,
    "mbstd_group": 4,
    "metrics_kimg": 10.0,
    "pl_batch_shrink": 2,
    "pl_decay": 0.01,
    "pl_weight": 2.0,
    "precision": "fp32",
    "resolution": 128,
    "seed": 8,
    "snap_kimg": 4.0,
    "snap_minutes": 10.0,
    "style_mixing": 0.9,
    "target": 0.6,
    "tick_kimg": 1.0,
    "w_dim": 512,
    "z_dim": 512
  },
  "processes": 1,
  "settings": {
    "metrics_images": 1024,
    "mirror": true
  }
})json";

TEST(TrainConfig, ARunsConfigFromBeforeTheOptionsTableLoadsAndWritesBackKeyForKey) {
    const nlohmann::json config = nlohmann::json::parse(kConfigOf20261207);
    const nlohmann::json& saved = config.at("options");
    const TrainOptions o = train_options_from_json(saved);
    EXPECT_EQ(o.resolution, 128);
    EXPECT_EQ(o.batch_gpu, 16);
    EXPECT_EQ(o.seed, 8u);
    EXPECT_DOUBLE_EQ(o.kimg, 1000.0);
    EXPECT_DOUBLE_EQ(o.adam_eps, 1e-8);
    EXPECT_EQ(o.aug, AugmentMode::ADA);
    EXPECT_EQ(o.augpipe, "bgc");
    EXPECT_EQ(o.precision, "fp32");
    // Same keys, values and number kinds (integer, unsigned, float): the text is the same.
    EXPECT_EQ(to_json(o), saved);
    EXPECT_EQ(to_json(o).dump(2), saved.dump(2));
}

TEST(TrainConfig, EveryOptionIsListedOnceAndNamedAsItsFlag) {
    const TrainOptions defaults;
    std::set<std::string> names;
    int64_t n_fields = 0;
    for_each_train_option(defaults, [&](const char* name, const auto&, const char*) {
        names.insert(name);
        ++n_fields;
    });
    EXPECT_EQ(int64_t(names.size()), n_fields) << "a name listed twice";
    EXPECT_EQ(to_json(defaults).size(), names.size());
    for (const std::string& name : names) EXPECT_EQ(name.find('-'), std::string::npos) << name;
}

TEST(TrainConfig, AnUnknownOptionOrAValueOfTheWrongKindIsNamed) {
    facegen::test::expect_error_mentioning([] { train_options_from_json({{"kimg", 4.0}, {"kmig", 4.0}}); }, {"kmig"});
    facegen::test::expect_error_mentioning([] { train_options_from_json({{"batch", "16"}}); }, {"batch", "\"16\""});
    facegen::test::expect_error_mentioning([] { train_options_from_json({{"batch", 1.5}}); }, {"batch", "1.5", "whole number"});
    facegen::test::expect_error_mentioning([] { train_options_from_json({{"aug", "sometimes"}}); }, {"sometimes"});
    const TrainOptions kept = train_options_from_json({{"kimg", 4}}, test::tiny_options());
    EXPECT_DOUBLE_EQ(kept.kimg, 4.0);
    EXPECT_EQ(kept.channel_max, 32) << "fields the JSON does not name keep the defaults given";
}

using TrainCheckpointFormat = test::TinyTrainerTest;

// Version 1 of the checkpoint format: the format, the state record, the options, both
// configs, the facegen version and the tensors' hash.
TEST_F(TrainCheckpointFormat, MetadataKeysAndFormatStayThoseOfVersion1) {
    const TrainOptions o = test::tiny_options();
    Trainer trainer(o, test::tiny_data(o), torch::kCPU);
    trainer.step();
    const auto path = dir_ / "ckpt.safetensors";
    trainer.save_checkpoint(path);
    const core::SafetensorsFile file = core::read_safetensors(path);
    std::set<std::string> keys;
    for (const auto& [key, value] : file.metadata) keys.insert(key);
    EXPECT_EQ(keys, (std::set<std::string>{"content_hash", "discriminator_config", "facegen_version", "format",
                                           "format_version", "generator_config", "options", "state"}));
    EXPECT_EQ(file.metadata.at("format"), "facegen-train-checkpoint");
    EXPECT_EQ(file.metadata.at("format_version"), "1");
    EXPECT_EQ(nlohmann::json::parse(file.metadata.at("options")), to_json(o));
    const nlohmann::json state = nlohmann::json::parse(file.metadata.at("state"));
    for (const char* key : {"cur_nimg", "batch_idx", "tick", "world_size", "data", "wall_clock_s", "g_frozen_until_nimg",
                            "initialized_from"})
        EXPECT_TRUE(state.contains(key)) << key;
    EXPECT_EQ(state.at("cur_nimg").get<int64_t>(), o.batch);
    EXPECT_TRUE(file.tensors.count("G/mapping.fc0.weight"));
    EXPECT_TRUE(file.tensors.count("rng/cpu"));
}

}  // namespace
}  // namespace facegen::train

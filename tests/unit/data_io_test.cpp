#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.h"
#include "data/loader.h"
#include "data/pack.h"
#include "test_support.h"

namespace facegen::data {
namespace {

namespace fs = std::filesystem;

// Image i has every pixel of channel c equal to (i * 3 + c) % 256, except column x of
// row 0 which holds x: enough to identify an image and see a flip.
std::vector<uint8_t> make_image(int64_t i, int64_t r) {
    std::vector<uint8_t> chw(static_cast<size_t>(3 * r * r));
    for (int64_t c = 0; c < 3; ++c) {
        for (int64_t p = 0; p < r * r; ++p) chw[static_cast<size_t>(c * r * r + p)] = static_cast<uint8_t>((i * 3 + c) % 256);
        for (int64_t x = 0; x < r; ++x) chw[static_cast<size_t>(c * r * r + x)] = static_cast<uint8_t>(x);
    }
    return chw;
}

class DataIOTest : public ::testing::Test {
protected:
    void SetUp() override { torch::manual_seed(0); }

    fs::path write_pack(int64_t n, int64_t r = 8, int64_t n_val = 0) {
        const fs::path dir = tmp_ / ("pack" + std::to_string(n_packs_++));
        PackWriter writer(dir, r, 3);
        PackIndex index;
        index.label_columns = {{"gender", {"male", "female"}}, {"identity", {}}};
        for (int64_t i = 0; i < n; ++i) {
            writer.append(make_image(i, r).data(), {{"source", "img" + std::to_string(i)}});
            index.labels.push_back({i % 2, i == 0 ? kUnknownLabel : i / 2});
            index.splits.push_back(i < n - n_val ? Split::kTrain : Split::kVal);
        }
        writer.commit(index);
        return dir;
    }
    std::shared_ptr<const PackedDataset> open(const fs::path& dir) { return std::make_shared<const PackedDataset>(dir); }

    test::TempDir tmp_;
    int n_packs_ = 0;
};

TEST_F(DataIOTest, PackRoundTripKeepsPixelsLabelsSplitsAndProvenance) {
    const fs::path dir = write_pack(5, 8, /*n_val=*/2);
    const PackedDataset dataset(dir);
    ASSERT_EQ(dataset.size(), 5);
    EXPECT_EQ(dataset.resolution(), 8);
    for (int64_t i = 0; i < 5; ++i) {
        const auto expected = make_image(i, 8);
        EXPECT_TRUE(std::equal(expected.begin(), expected.end(), dataset.image(i))) << "image " << i;
    }
    EXPECT_EQ(dataset.index().labels[3], (std::vector<int64_t>{1, 1}));
    EXPECT_EQ(dataset.index().labels[0][1], kUnknownLabel);
    EXPECT_EQ(dataset.index().select(SplitSelection::kVal), (std::vector<int64_t>{3, 4}));
    EXPECT_EQ(dataset.index().column_index("identity"), 1);
    EXPECT_EQ(dataset.read_provenance()[2]["source"], "img2");
    EXPECT_NO_THROW(dataset.verify());
}

TEST_F(DataIOTest, WriterWithoutCommitLeavesNothing) {
    {
        PackWriter writer(tmp_ / "abandoned", 8, 3);
        writer.append(make_image(0, 8).data(), {});
    }
    EXPECT_FALSE(fs::exists(tmp_ / "abandoned"));
    for (const auto& entry : fs::directory_iterator(tmp_.path())) ADD_FAILURE() << "left behind: " << entry.path();
}

TEST_F(DataIOTest, WriterRefusesExistingOutputUnlessOverwrite) {
    const fs::path dir = write_pack(2);
    try {
        PackWriter writer(dir, 8, 3);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("already exists"), std::string::npos) << e.what();
    }
    PackWriter writer(dir, 4, 3, /*overwrite=*/true);
    writer.append(make_image(9, 4).data(), {});
    PackIndex index;
    index.labels = {{}};
    index.splits = {Split::kTrain};
    writer.commit(index);
    EXPECT_EQ(PackedDataset(dir).resolution(), 4);
}

TEST_F(DataIOTest, TruncatedImagesFileIsAClearError) {
    const fs::path dir = write_pack(3);
    fs::resize_file(dir / kImagesFileName, 100);
    try {
        PackedDataset dataset(dir);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("truncated or corrupt"), std::string::npos) << e.what();
    }
}

TEST_F(DataIOTest, CorruptIndexAndFlippedByteAreClearErrors) {
    const fs::path dir = write_pack(3);
    {
        std::fstream f(dir / kImagesFileName, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(10);
        f.put('\x7f');
    }
    EXPECT_THROW(PackedDataset(dir).verify(), Error);
    std::ofstream(dir / kIndexFileName) << "{\"format\": \"facegen-dataset\", \"version\": 1, \"resolution\": 8";
    try {
        PackedDataset dataset(dir);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("does not parse"), std::string::npos) << e.what();
    }
    EXPECT_THROW(PackedDataset(tmp_ / "missing"), Error);
}

TEST_F(DataIOTest, LoaderBatchIsScaledNCHWWithLabels) {
    auto dataset = open(write_pack(4));
    Loader loader(dataset, LoaderOptions().batch_size(3).shuffle(false).n_threads(1));
    const Batch batch = loader.next();
    ASSERT_EQ(batch.images.sizes(), (std::vector<int64_t>{3, 3, 8, 8}));
    EXPECT_EQ(batch.images.dtype(), torch::kFloat32);
    // Image 1, channel 2 holds 5 away from row 0: 5 / 127.5 - 1.
    EXPECT_FLOAT_EQ(batch.images[1][2][3][3].item<float>(), 5.0f / 127.5f - 1.0f);
    EXPECT_FLOAT_EQ(batch.images[0][0][0][7].item<float>(), 7.0f / 127.5f - 1.0f);
    EXPECT_EQ(batch.labels.sizes(), (std::vector<int64_t>{3, 2}));
    EXPECT_EQ(batch.labels[1][0].item<int64_t>(), 1);
    EXPECT_EQ(batch.indices[2].item<int64_t>(), 2);
    EXPECT_EQ(batch.state, (LoaderState{0, 3}));
}

TEST_F(DataIOTest, LoaderOrderIsDeterministicPerSeedAndEpoch) {
    auto dataset = open(write_pack(20));
    Loader a(dataset, LoaderOptions().seed(7));
    Loader b(dataset, LoaderOptions().seed(7));
    Loader c(dataset, LoaderOptions().seed(8));
    EXPECT_EQ(a.epoch_items(0), b.epoch_items(0));
    EXPECT_NE(a.epoch_items(0), a.epoch_items(1));
    EXPECT_NE(a.epoch_items(0), c.epoch_items(0));
    std::set<int64_t> seen;
    for (const auto& [index, flip] : a.epoch_items(3)) seen.insert(index);
    EXPECT_EQ(seen.size(), 20u);  // a permutation
}

TEST_F(DataIOTest, LoaderResumesBitExactlyAcrossEpochs) {
    auto dataset = open(write_pack(10));
    const auto options = LoaderOptions().batch_size(4).seed(3).x_flip(true).n_threads(2);
    Loader original(dataset, options);
    for (int i = 0; i < 6; ++i) original.next();  // 24 items: past the 20-item epoch
    const LoaderState saved = original.state();
    EXPECT_EQ(saved, (LoaderState{1, 4}));
    const Batch expected = original.next();
    Loader resumed(dataset, options, saved);
    const Batch got = resumed.next();
    EXPECT_TRUE(torch::equal(expected.images, got.images));
    EXPECT_TRUE(torch::equal(expected.indices, got.indices));
    original.reset(saved);
    EXPECT_TRUE(torch::equal(original.next().images, expected.images));
}

TEST_F(DataIOTest, LoaderShardsAreDisjointAndEqualSized) {
    auto dataset = open(write_pack(11));
    std::set<int64_t> all;
    for (int64_t rank = 0; rank < 3; ++rank) {
        Loader loader(dataset, LoaderOptions().seed(1).rank(rank).world_size(3));
        EXPECT_EQ(loader.epoch_size(), 3);  // 11 / 3, remainder dropped
        for (const auto& [index, flip] : loader.epoch_items(0)) EXPECT_TRUE(all.insert(index).second) << index;
    }
    EXPECT_EQ(all.size(), 9u);
    EXPECT_THROW(Loader(dataset, LoaderOptions().rank(3).world_size(3)), c10::Error);
}

TEST_F(DataIOTest, XFlipServesEveryImageOnceMirroredPerEpoch) {
    auto dataset = open(write_pack(3));
    Loader loader(dataset, LoaderOptions().batch_size(6).x_flip(true).n_threads(1));
    EXPECT_EQ(loader.epoch_size(), 6);
    const Batch batch = loader.next();
    EXPECT_EQ(batch.flipped.sum().item<int64_t>(), 3);
    for (int64_t b = 0; b < 6; ++b) {
        const float first = batch.images[b][0][0][0].item<float>();
        EXPECT_FLOAT_EQ(first, (batch.flipped[b].item<bool>() ? 7.0f : 0.0f) / 127.5f - 1.0f);
    }
}

TEST_F(DataIOTest, LoaderSelectsTheValidationSplit) {
    auto dataset = open(write_pack(6, 8, /*n_val=*/2));
    Loader loader(dataset, LoaderOptions().split(SplitSelection::kVal).batch_size(2).shuffle(false));
    EXPECT_EQ(loader.next().indices[0].item<int64_t>(), 4);
    EXPECT_THROW(Loader(dataset, LoaderOptions().split(SplitSelection::kVal).world_size(3)), Error);
}

}  // namespace
}  // namespace facegen::data

#include <gtest/gtest.h>

#include "core/image_grid.h"

namespace facegen::core {
namespace {

class ImageGridTest : public ::testing::Test {
protected:
    void SetUp() override { torch::manual_seed(0); }
};

TEST_F(ImageGridTest, LayoutIsNearSquare) {
    EXPECT_EQ(grid_layout(1).n_columns, 1);
    EXPECT_EQ(grid_layout(4).n_columns, 2);
    EXPECT_EQ(grid_layout(4).n_rows, 2);
    EXPECT_EQ(grid_layout(5).n_columns, 3);
    EXPECT_EQ(grid_layout(5).n_rows, 2);
    EXPECT_EQ(grid_layout(10).n_columns, 4);
    EXPECT_EQ(grid_layout(10).n_rows, 3);
    EXPECT_EQ(grid_layout(3, /*n_columns=*/5).n_columns, 3);
    EXPECT_EQ(grid_layout(7, /*n_columns=*/2).n_rows, 4);
}

TEST_F(ImageGridTest, TilesRowMajorWithBlackPadding) {
    // 3 images of 2x2 RGB, each filled with its index + 1 -> a 2x2 grid with one empty cell.
    torch::Tensor images = torch::empty({3, 2, 2, 3}, torch::kUInt8);
    for (int64_t i = 0; i < 3; ++i) images[i].fill_(i + 1);
    const torch::Tensor grid = make_image_grid(images);
    ASSERT_EQ(grid.sizes(), torch::IntArrayRef({4, 4, 3}));
    EXPECT_EQ(grid[0][0][0].item<uint8_t>(), 1);
    EXPECT_EQ(grid[1][3][2].item<uint8_t>(), 2);
    EXPECT_EQ(grid[3][1][1].item<uint8_t>(), 3);
    EXPECT_EQ(grid[2][2][0].item<uint8_t>(), 0);
    EXPECT_EQ(grid[3][3][2].item<uint8_t>(), 0);
}

TEST_F(ImageGridTest, ConversionMatchesOfficialFormula) {
    // (x * 127.5 + 128).clamp(0, 255) then truncation: -1 -> 0.5 -> 0, 0 -> 128, 1 -> 255.5 -> 255,
    // -0.999 -> 0.6275 -> 0, 0.5 -> 191.75 -> 191, 2 -> 255, -3 -> 0.
    const torch::Tensor x = torch::tensor({-1.0f, 0.0f, 1.0f, -0.999f, 0.5f, 2.0f, -3.0f}).reshape({1, 1, 1, 7});
    const torch::Tensor u = images_to_uint8(x);
    ASSERT_EQ(u.sizes(), torch::IntArrayRef({1, 1, 7, 1}));
    const std::vector<int> expected = {0, 128, 255, 0, 191, 255, 0};
    for (int64_t i = 0; i < 7; ++i) EXPECT_EQ(u[0][0][i][0].item<uint8_t>(), expected[static_cast<size_t>(i)]) << i;
}

TEST_F(ImageGridTest, ConversionIsNhwc) {
    torch::Tensor x = torch::zeros({2, 3, 4, 5});
    x.select(1, 2).fill_(1.0);  // blue channel full
    const torch::Tensor u = images_to_uint8(x);
    ASSERT_EQ(u.sizes(), torch::IntArrayRef({2, 4, 5, 3}));
    EXPECT_EQ(u[1][3][4][2].item<uint8_t>(), 255);
    EXPECT_EQ(u[1][3][4][0].item<uint8_t>(), 128);
}

}  // namespace
}  // namespace facegen::core

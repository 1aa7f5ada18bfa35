#include <gtest/gtest.h>

#include "core/error.h"
#include "generate/latents.h"
#include "core/npy.h"
#include "test_support.h"

namespace facegen::generate {
namespace {

class LatentsTest : public ::testing::Test {
protected:
    static std::string error_of(const torch::Tensor& t, const std::string& key, const LatentDims& dims) {
        try {
            classify_latents(t, key, dims, "lat.npy");
        } catch (const Error& e) {
            return e.what();
        }
        return "";
    }
    LatentDims dims_{/*z_dim=*/8, /*w_dim=*/6, /*num_ws=*/4};
};

TEST_F(LatentsTest, ShapeDecidesSpace) {
    EXPECT_EQ(classify_latents(torch::zeros({3, 8}), "", dims_, "a").space, LatentSpace::Z);
    EXPECT_EQ(classify_latents(torch::zeros({3, 6}), "", dims_, "a").space, LatentSpace::W);
    EXPECT_EQ(classify_latents(torch::zeros({3, 4, 6}), "", dims_, "a").space, LatentSpace::WS);
}

TEST_F(LatentsTest, EqualDimsMeanZUnlessKeyedW) {
    const LatentDims same{8, 8, 4};
    EXPECT_EQ(classify_latents(torch::zeros({2, 8}), "", same, "a").space, LatentSpace::Z);
    EXPECT_EQ(classify_latents(torch::zeros({2, 8}), "w", same, "a").space, LatentSpace::W);
    EXPECT_EQ(classify_latents(torch::zeros({2, 8}), "z", same, "a").space, LatentSpace::Z);
}

TEST_F(LatentsTest, ValuesBecomeFloat32) {
    const Latents f = classify_latents(torch::ones({2, 8}, torch::kFloat64), "", dims_, "a");
    EXPECT_EQ(f.values.scalar_type(), torch::kFloat32);
}

TEST_F(LatentsTest, WrongShapesNameExpectations) {
    const std::string message = error_of(torch::zeros({3, 5}), "", dims_);
    EXPECT_NE(message.find("'lat.npy'"), std::string::npos) << message;
    EXPECT_NE(message.find("[3, 5]"), std::string::npos) << message;
    EXPECT_NE(message.find("expected z [N, 8], w [N, 6] or ws [N, 4, 6]"), std::string::npos) << message;
    EXPECT_FALSE(error_of(torch::zeros({8}), "", dims_).empty());
    EXPECT_FALSE(error_of(torch::zeros({3, 5, 6}), "", dims_).empty());
    EXPECT_FALSE(error_of(torch::zeros({3, 8}), "w", dims_).empty());  // key says w, size says z
}

TEST_F(LatentsTest, EmptyAndNonFiniteRejected) {
    EXPECT_NE(error_of(torch::zeros({0, 8}), "", dims_).find("N = 0"), std::string::npos);
    torch::Tensor bad = torch::zeros({2, 8});
    bad[1][3] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_NE(error_of(bad, "", dims_).find("NaN"), std::string::npos);
}

TEST_F(LatentsTest, ProjectorStyleNpzIsWs) {
    if (!core::npz_supported()) GTEST_SKIP() << "built without libzip";
    const auto path = test::source_dir() / "tests" / "unit" / "fixtures" / "latents_w_2x3x4.npz";
    const Latents f = read_latent_file(path, LatentDims{4, 4, 3});
    EXPECT_EQ(f.space, LatentSpace::WS);
    EXPECT_EQ(f.key, "w");
    EXPECT_EQ(f.values.sizes(), torch::IntArrayRef({2, 3, 4}));
}

TEST_F(LatentsTest, MissingFileNamed) {
    try {
        read_latent_file("/nonexistent/l.npy", dims_);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("'/nonexistent/l.npy'"), std::string::npos);
    }
}

}  // namespace
}  // namespace facegen::generate

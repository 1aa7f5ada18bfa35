#include "train/augment/augment_pipe.h"

#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

namespace facegen::train {
namespace {

class AugmentCudaTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
        torch::manual_seed(0);
    }
};

// A CPU generator makes both runs draw the same augmentations; only the arithmetic differs.
TEST_F(AugmentCudaTest, CudaMatchesCpuWithTheSameDraws) {
    AugmentPipe pipe(augment_preset("bgcfnc"));
    pipe->set_p(0.8);
    const torch::Tensor images = torch::rand({4, 3, 32, 32}) * 2 - 1;
    const torch::Tensor cpu = pipe(images, at::detail::createCPUGenerator(3));
    const torch::Tensor cuda = pipe(images.to(torch::kCUDA), at::detail::createCPUGenerator(3));
    EXPECT_EQ(cuda.device().type(), torch::kCUDA);
    EXPECT_LT((cuda.cpu() - cpu).abs().max().item<double>(), 1e-4);
}

TEST_F(AugmentCudaTest, DefaultGeneratorOnCudaAndSecondOrderGradients) {
    AugmentPipe pipe(augment_preset("bgc"));
    pipe->set_p(1);
    const torch::Tensor x = torch::rand({2, 3, 32, 32}, torch::kCUDA).requires_grad_(true);
    const torch::Tensor w = torch::randn({2, 3, 32, 32}, torch::kCUDA).requires_grad_(true);
    const torch::Tensor logits = torch::tanh(pipe(x) * w).sum();
    const torch::Tensor grad = torch::autograd::grad({logits}, {x}, {}, true, true)[0];
    grad.square().sum().backward();
    ASSERT_TRUE(w.grad().defined());
    EXPECT_GT(w.grad().abs().sum().item<double>(), 0);
}

}  // namespace
}  // namespace facegen::train

#include "train/augment/augment_pipe.h"

#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

namespace facegen::train {
namespace {

class AugmentGradfixTest : public ::testing::Test {
protected:
    void SetUp() override { torch::manual_seed(0); }
    static torch::Tensor random_grid(int64_t n, int64_t h, int64_t w) {
        return torch::rand({n, h, w, 2}, torch::kFloat64) * 2.2 - 1.1;  // some taps fall outside
    }
};

TEST_F(AugmentGradfixTest, ForwardAndFirstOrderMatchNativeGridSample) {
    const torch::Tensor input = torch::randn({2, 3, 5, 6}, torch::kFloat64);
    const torch::Tensor grid = random_grid(2, 4, 7);
    const torch::Tensor weight = torch::randn({2, 3, 4, 7}, torch::kFloat64);

    const torch::Tensor a = input.clone().requires_grad_(true);
    const torch::Tensor out_a = grid_sample_2d(a, grid);
    const torch::Tensor grad_a = torch::autograd::grad({(out_a * weight).sum()}, {a})[0];

    const torch::Tensor b = input.clone().requires_grad_(true);
    const torch::Tensor out_b = at::grid_sampler_2d(b, grid, /*interpolation_mode=*/0, /*padding_mode=*/0,
                                                    /*align_corners=*/false);
    const torch::Tensor grad_b = torch::autograd::grad({(out_b * weight).sum()}, {b})[0];

    EXPECT_TRUE(torch::equal(out_a, out_b));
    EXPECT_LT((grad_a - grad_b).abs().max().item<double>(), 1e-14);
}

// The backward is linear in the incoming gradient v: grad_input(v) = S^T v, where S is the
// sampling matrix. Differentiating <S^T v, u> wrt v must give S u; checked against
// central finite differences in double precision.
TEST_F(AugmentGradfixTest, DoubleBackwardMatchesFiniteDifferences) {
    const torch::Tensor input = torch::randn({1, 2, 4, 4}, torch::kFloat64).requires_grad_(true);
    const torch::Tensor grid = random_grid(1, 3, 3);
    const torch::Tensor u = torch::randn({1, 2, 4, 4}, torch::kFloat64);
    const torch::Tensor v0 = torch::randn({1, 2, 3, 3}, torch::kFloat64);

    auto objective = [&](const torch::Tensor& v) {
        const torch::Tensor out = grid_sample_2d(input, grid);
        const torch::Tensor grad_input = torch::autograd::grad({(out * v).sum()}, {input}, {}, /*retain_graph=*/true,
                                                               /*create_graph=*/true)[0];
        return (grad_input * u).sum();
    };
    const torch::Tensor v = v0.clone().requires_grad_(true);
    const torch::Tensor analytic = torch::autograd::grad({objective(v)}, {v})[0];

    const double eps = 1e-6;
    torch::Tensor numeric = torch::zeros_like(v0);
    for (int64_t i = 0; i < v0.numel(); ++i) {
        torch::Tensor plus = v0.clone(), minus = v0.clone();
        plus.view(-1)[i] += eps;
        minus.view(-1)[i] -= eps;
        numeric.view(-1)[i] = (objective(plus).item<double>() - objective(minus).item<double>()) / (2 * eps);
    }
    EXPECT_LT((analytic - numeric).abs().max().item<double>(), 1e-8);
    EXPECT_GT(analytic.abs().max().item<double>(), 1e-3);
    // And it is the forward op applied to u.
    EXPECT_LT((analytic - grid_sample_2d(u, grid)).abs().max().item<double>(), 1e-12);
}

TEST_F(AugmentGradfixTest, RejectsAGridThatRequiresGrad) {
    const torch::Tensor input = torch::randn({1, 1, 4, 4}, torch::kFloat64);
    EXPECT_THROW(grid_sample_2d(input, random_grid(1, 2, 2).requires_grad_(true)), c10::Error);
    EXPECT_THROW(grid_sample_2d(input, random_grid(2, 2, 2)), c10::Error);
}

// R1 through the augmentation: r1(a) = |d D_a(augment(x)) / dx|^2 with D_a(y) =
// sum(tanh(a * w * y)). Its derivative wrt the discriminator parameter a needs the second
// derivative of every stage of the pipeline; compared with central differences in a.
TEST_F(AugmentGradfixTest, R1ThroughThePipelineMatchesFiniteDifferences) {
    AugmentPipe pipe(augment_preset("bgcfnc"));
    pipe->set_p(0.9);
    const torch::Tensor real = torch::rand({2, 3, 24, 24}, torch::kFloat64) * 2 - 1;
    const torch::Tensor w = torch::randn({2, 3, 24, 24}, torch::kFloat64);
    auto r1 = [&](const torch::Tensor& a) {
        const torch::Tensor x = real.clone().requires_grad_(true);
        const torch::Tensor logits = torch::tanh(a * w * pipe(x, at::detail::createCPUGenerator(77))).sum();
        const torch::Tensor grad = torch::autograd::grad({logits}, {x}, {}, /*retain_graph=*/true,
                                                         /*create_graph=*/true)[0];
        return grad.square().sum();
    };
    const double a0 = 0.7, eps = 1e-5;
    const torch::Tensor a = torch::tensor(a0, torch::kFloat64).requires_grad_(true);
    const torch::Tensor penalty = r1(a);
    penalty.backward();
    const double analytic = a.grad().item<double>();
    const double numeric = (r1(torch::tensor(a0 + eps, torch::kFloat64)).item<double>() -
                            r1(torch::tensor(a0 - eps, torch::kFloat64)).item<double>()) /
                           (2 * eps);
    EXPECT_GT(std::abs(analytic), 1e-3);
    EXPECT_NEAR(analytic, numeric, 1e-6 * std::max(1.0, std::abs(numeric)));
}

TEST_F(AugmentGradfixTest, GradientsFlowToTheInputImages) {
    AugmentPipe pipe(augment_preset("bgcfnc"));
    pipe->set_p(1);
    const torch::Tensor x = torch::rand({2, 3, 32, 32}).requires_grad_(true);
    const torch::Tensor out = pipe(x);
    out.square().sum().backward();
    ASSERT_TRUE(x.grad().defined());
    EXPECT_TRUE(torch::isfinite(x.grad()).all().item<bool>());
    EXPECT_GT(x.grad().abs().sum().item<double>(), 0);
}

}  // namespace
}  // namespace facegen::train

#include "train/augment/ada_controller.h"

#include "core/error.h"

#include <gtest/gtest.h>

namespace facegen::train {
namespace {

class AdaControllerTest : public ::testing::Test {
protected:
    void SetUp() override { torch::manual_seed(0); }
    // Logits whose signs have mean r (n = 100, r a multiple of 0.02).
    static torch::Tensor logits_with_mean_sign(double r) {
        const auto n_positive = static_cast<int64_t>(std::lround((r + 1) / 2 * 100));
        torch::Tensor logits = -torch::rand({100}) - 0.1;
        logits.slice(0, 0, n_positive) *= -1;
        return logits;
    }
};

// Official: p += sign(r_t - target) * batch * interval / (ada_kimg * 1000).
TEST_F(AdaControllerTest, MovesPUpByTheExactStepWhenOverfitting) {
    AdaptiveAugmentController ada(AdaOptions(), /*initial_p=*/0.1);
    ada.accumulate(logits_with_mean_sign(0.8));
    ada.accumulate(logits_with_mean_sign(0.6));
    const AdaAdjustment result = ada.adjust(/*batch_size=*/64);
    EXPECT_TRUE(result.adjusted);
    EXPECT_NEAR(result.r_t, 0.7, 1e-12);
    EXPECT_DOUBLE_EQ(result.step, 64.0 * 4 / (500 * 1000));
    EXPECT_DOUBLE_EQ(ada.p(), 0.1 + 64.0 * 4 / (500 * 1000));
    EXPECT_DOUBLE_EQ(result.p, ada.p());
}

TEST_F(AdaControllerTest, MovesPDownWhenBelowTarget) {
    AdaptiveAugmentController ada(AdaOptions().interval(2).kimg(100), /*initial_p=*/0.5);
    ada.accumulate(logits_with_mean_sign(0.2));
    ada.adjust(/*batch_size=*/32);
    EXPECT_DOUBLE_EQ(ada.p(), 0.5 - 32.0 * 2 / (100 * 1000));
}

TEST_F(AdaControllerTest, NeverGoesBelowZero) {
    AdaptiveAugmentController ada(AdaOptions(), /*initial_p=*/0.0001);
    ada.accumulate(logits_with_mean_sign(-0.4));
    const AdaAdjustment result = ada.adjust(/*batch_size=*/64);
    EXPECT_LT(result.step, 0);
    EXPECT_EQ(ada.p(), 0);
}

TEST_F(AdaControllerTest, ExactlyOnTargetKeepsP) {
    AdaptiveAugmentController ada(AdaOptions(), /*initial_p=*/0.3);
    ada.accumulate(logits_with_mean_sign(0.6));
    EXPECT_EQ(ada.adjust(/*batch_size=*/64).step, 0);
    EXPECT_EQ(ada.p(), 0.3);
}

TEST_F(AdaControllerTest, AdjustClearsTheAccumulatorsAndSkipsWhenEmpty) {
    AdaptiveAugmentController ada(AdaOptions(), /*initial_p=*/0.2);
    ada.accumulate(logits_with_mean_sign(1.0));
    ada.adjust(/*batch_size=*/8);
    EXPECT_EQ(ada.state().count, 0);
    EXPECT_EQ(ada.state().sign_sum, 0);
    const double p = ada.p();
    const AdaAdjustment result = ada.adjust(/*batch_size=*/8);
    EXPECT_FALSE(result.adjusted);
    EXPECT_EQ(ada.p(), p);
}

TEST_F(AdaControllerTest, AccumulatorsSumLikeAnAllReduce) {
    // Two ranks: summing their accumulators before adjust() gives the global mean sign.
    AdaptiveAugmentController rank0, rank1;
    rank0.accumulate(logits_with_mean_sign(1.0));
    rank1.accumulate(logits_with_mean_sign(0.0));
    rank0.accumulators().add_(rank1.accumulators());
    EXPECT_NEAR(rank0.adjust(/*batch_size=*/8).r_t, 0.5, 1e-12);
}

TEST_F(AdaControllerTest, StateRoundTrips) {
    AdaptiveAugmentController ada(AdaOptions(), /*initial_p=*/0.25);
    ada.accumulate(logits_with_mean_sign(0.4));
    const AdaState state = ada.state();
    EXPECT_EQ(state.p, 0.25);
    EXPECT_NEAR(state.sign_sum, 40, 1e-9);
    EXPECT_EQ(state.count, 100);
    AdaptiveAugmentController restored;
    restored.load_state(state);
    EXPECT_EQ(restored.adjust(64).r_t, ada.adjust(64).r_t);
    EXPECT_EQ(restored.p(), ada.p());
}

TEST_F(AdaControllerTest, DueEveryInterval) {
    AdaptiveAugmentController ada(AdaOptions().interval(4));
    EXPECT_FALSE(ada.due(0));
    EXPECT_FALSE(ada.due(3));
    EXPECT_TRUE(ada.due(4));
    EXPECT_TRUE(ada.due(8));
}

TEST_F(AdaControllerTest, BadOptionsThrow) {
    EXPECT_THROW(AdaptiveAugmentController(AdaOptions().interval(0)), facegen::Error);
    EXPECT_THROW(AdaptiveAugmentController(AdaOptions().kimg(0)), facegen::Error);
    try {
        AdaptiveAugmentController(AdaOptions().target(1.5));
        ADD_FAILURE() << "expected a throw";
    } catch (const facegen::Error& e) {
        EXPECT_NE(std::string(e.what()).find("ADA target must be in [-1, 1], got 1.5"), std::string::npos);
    }
}

}  // namespace
}  // namespace facegen::train

// Dynamic batching (src/serve/batcher): many requests, one pass, each request's own
// pixels and provenance.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <thread>

#include "model/generator.h"
#include "model/model_file.h"
#include "serve/batcher.h"
#include "test_support.h"
#include "tiny_model.h"

namespace facegen::serve {
namespace {

class ServeBatcherTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = std::make_unique<test::TempDir>();
        model::Generator generator = test::tiny_generator_for_images(/*seed=*/11);
        model::ModelMetadata metadata;
        metadata.license = "test licence";
        model::save_model_file(model_path(), generator, metadata);
    }
    static void TearDownTestSuite() { dir_.reset(); }
    static std::filesystem::path model_path() { return *dir_ / "tiny.safetensors"; }

    static generate::Request seeds_request(std::vector<uint32_t> seeds, std::optional<double> psi) {
        generate::Request request;
        request.seeds = std::move(seeds);
        request.truncation_psi = psi;
        return request;
    }

    static inline std::unique_ptr<test::TempDir> dir_;
};

TEST_F(ServeBatcherTest, RequestsBatchedTogetherKeepTheirOwnPixelsAndPsi) {
    std::vector<std::pair<int64_t, double>> passes;
    std::mutex passes_mutex;
    BatcherOptions options;
    options.max_batch = 8;
    options.batch_wait = std::chrono::milliseconds(200);  // room for all to arrive
    options.cpu_threads = 1;
    Batcher batcher(generate::Session(model_path()), options, [&](int64_t n, double seconds) {
        std::lock_guard<std::mutex> lock(passes_mutex);
        passes.emplace_back(n, seconds);
    });
    // 3 + 1 + 2 + 4 images: the first pass takes 8 (the 4-image request split 2 + 2).
    const std::vector<generate::Request> requests = {
        seeds_request({1, 2, 3}, 0.5), seeds_request({4}, std::nullopt), seeds_request({5, 6}, 1.5),
        seeds_request({7, 8, 9, 10}, 0.0)};
    std::vector<std::future<std::vector<generate::GeneratedImage>>> futures;
    for (const auto& request : requests) futures.push_back(batcher.submit(request));

    generate::Session alone(model_path());
    for (size_t r = 0; r < requests.size(); ++r) {
        const std::vector<generate::GeneratedImage> batched = futures[r].get();
        const std::vector<generate::GeneratedImage> expected = alone.run(requests[r]);
        ASSERT_EQ(batched.size(), expected.size());
        for (size_t i = 0; i < batched.size(); ++i) {
            EXPECT_TRUE(torch::equal(batched[i].pixels, expected[i].pixels)) << "request " << r << " image " << i;
            EXPECT_EQ(batched[i].provenance.seed, requests[r].seeds[i]);
            EXPECT_EQ(batched[i].provenance.truncation_psi, expected[i].provenance.truncation_psi);
            EXPECT_EQ(batched[i].provenance.license, "test licence");
        }
    }
    std::lock_guard<std::mutex> lock(passes_mutex);
    ASSERT_EQ(passes.size(), 2u);
    EXPECT_EQ(passes[0].first, 8);
    EXPECT_EQ(passes[1].first, 2);
}

TEST_F(ServeBatcherTest, LatentRequestsAreLabelledByRow) {
    BatcherOptions options;
    options.cpu_threads = 1;
    Batcher batcher(generate::Session(model_path()), options);
    generate::Request request;
    request.latents = generate::Latents{generate::LatentSpace::W, torch::randn({3, 32}), ""};
    const auto images = batcher.submit(request).get();
    ASSERT_EQ(images.size(), 3u);
    EXPECT_EQ(images[2].provenance.latent_index, 2);
    EXPECT_FALSE(images[2].provenance.seed.has_value());
    EXPECT_EQ(images[2].provenance.latent_space, "w");
}

TEST_F(ServeBatcherTest, BadRequestsAreRefusedAtSubmitNamingTheValue) {
    BatcherOptions options;
    options.cpu_threads = 1;
    Batcher batcher(generate::Session(model_path()), options);
    generate::Request request;
    request.latents = generate::Latents{generate::LatentSpace::W, torch::randn({1, 7}), ""};
    test::expect_error_mentioning([&] { batcher.submit(request); }, {"w latents of shape [1, 7]"});
    EXPECT_EQ(batcher.queue_depth(), 0);
}

TEST_F(ServeBatcherTest, FullQueueThrowsQueueFull) {
    BatcherOptions options;
    options.max_batch = 1;
    options.max_queue = 1;
    options.max_wait = std::chrono::milliseconds(0);
    options.cpu_threads = 1;
    Batcher batcher(generate::Session(model_path()), options);
    std::vector<uint32_t> many(64);
    for (uint32_t i = 0; i < 64; ++i) many[i] = i;
    // 64 passes of one image: the request waits, part-run, for a long while.
    auto running = batcher.submit(seeds_request(many, std::nullopt));
    EXPECT_THROW(batcher.submit(seeds_request({1}, std::nullopt)), QueueFull);
    EXPECT_EQ(running.get().size(), 64u);
    EXPECT_EQ(batcher.submit(seeds_request({1}, std::nullopt)).get().size(), 1u) << "the queue frees again";
}

// A request that would wait past max_wait behind the images ahead of it is refused at
// once; with nothing ahead, even a large one is taken.
TEST_F(ServeBatcherTest, RequestThatWouldWaitPastMaxWaitThrowsQueueFull) {
    BatcherOptions options;
    options.max_batch = 1;
    options.batch_wait = std::chrono::milliseconds(0);
    options.max_wait = std::chrono::milliseconds(1);
    options.cpu_threads = 1;
    Batcher batcher(generate::Session(model_path()), options);
    EXPECT_EQ(batcher.submit(seeds_request({1}, std::nullopt)).get().size(), 1u) << "nothing ahead, no rate yet";
    std::vector<uint32_t> many(64);
    for (uint32_t i = 0; i < 64; ++i) many[i] = i;
    auto running = batcher.submit(seeds_request(many, std::nullopt));  // nothing ahead: taken
    // 64 passes of one image ahead: far more than 1 ms at any speed.
    test::expect_error_mentioning([&] { batcher.submit(seeds_request({2}, std::nullopt)); },
                                  {"would hold this request about", "images ahead at", "longer than the 1 ms bound"});
    EXPECT_THROW(batcher.submit(seeds_request({2}, std::nullopt)), QueueFull);
    EXPECT_EQ(running.get().size(), 64u);
    EXPECT_EQ(batcher.submit(seeds_request({3}, std::nullopt)).get().size(), 1u) << "taken again once drained";
}

TEST_F(ServeBatcherTest, StoppingFailsWhatStillWaits) {
    std::future<std::vector<generate::GeneratedImage>> waiting;
    {
        BatcherOptions options;
        options.max_batch = 1;
        options.cpu_threads = 1;
        Batcher batcher(generate::Session(model_path()), options);
        std::vector<uint32_t> many(64);
        for (uint32_t i = 0; i < 64; ++i) many[i] = i;
        waiting = batcher.submit(seeds_request(many, std::nullopt));
    }
    test::expect_error_mentioning([&] { waiting.get(); }, {"the server is stopping"});
}

}  // namespace
}  // namespace facegen::serve

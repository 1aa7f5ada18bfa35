// Prometheus text of the server's metrics (src/serve/metrics).
#include <gtest/gtest.h>

#include "serve/metrics.h"

namespace facegen::serve {
namespace {

TEST(ServeMetricsTest, HistogramBucketsAreCumulative) {
    Histogram histogram({1, 2, 4});
    for (double value : {1.0, 1.5, 3.0, 9.0}) histogram.observe(value);
    std::string text;
    histogram.render(text, "x", "route=\"/a\"");
    EXPECT_EQ(text,
              "x_bucket{route=\"/a\",le=\"1\"} 1\n"
              "x_bucket{route=\"/a\",le=\"2\"} 2\n"
              "x_bucket{route=\"/a\",le=\"4\"} 3\n"
              "x_bucket{route=\"/a\",le=\"+Inf\"} 4\n"
              "x_sum{route=\"/a\"} 14.5\n"
              "x_count{route=\"/a\"} 4\n");
}

TEST(ServeMetricsTest, RendersRequestsBatchesAndGauges) {
    Metrics metrics;
    metrics.observe_request("/healthz", 200, 0.001);
    metrics.observe_request("/healthz", 200, 0.002);
    metrics.observe_request("other", 404, std::nullopt);
    metrics.observe_batch(3, 0.1);
    const std::string text = metrics.render(/*queue_depth=*/2, /*max_queue=*/64);
    EXPECT_NE(text.find("facegen_http_requests_total{route=\"/healthz\",status=\"200\"} 2\n"), std::string::npos) << text;
    EXPECT_NE(text.find("facegen_http_requests_total{route=\"other\",status=\"404\"} 1\n"), std::string::npos);
    EXPECT_NE(text.find("facegen_http_request_duration_seconds_count{route=\"/healthz\"} 2\n"), std::string::npos);
    EXPECT_EQ(text.find("facegen_http_request_duration_seconds_count{route=\"other\"}"), std::string::npos)
        << "no latency without a start time";
    EXPECT_NE(text.find("facegen_batch_size_bucket{le=\"2\"} 0\n"), std::string::npos);
    EXPECT_NE(text.find("facegen_batch_size_bucket{le=\"4\"} 1\n"), std::string::npos);
    EXPECT_NE(text.find("facegen_images_generated_total 3\n"), std::string::npos);
    EXPECT_NE(text.find("facegen_queue_depth 2\n"), std::string::npos);
    EXPECT_NE(text.find("facegen_queue_capacity 64\n"), std::string::npos);
    EXPECT_NE(text.find("# TYPE facegen_http_request_duration_seconds histogram\n"), std::string::npos);
}

}  // namespace
}  // namespace facegen::serve

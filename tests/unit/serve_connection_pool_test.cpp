// The threads that answer connections (src/serve/connection_pool): beyond the serving
// threads, connections go to shedding threads at once instead of waiting.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <c10/util/Exception.h>

#include "serve/connection_pool.h"

namespace facegen::serve {
namespace {

using namespace std::chrono_literals;

/// Jobs that hold their thread until released.
class Gate {
public:
    void wait() {
        std::unique_lock<std::mutex> lock(mutex_);
        ++n_waiting_;
        changed_.notify_all();
        changed_.wait(lock, [&] { return open_; });
    }
    void open() {
        std::lock_guard<std::mutex> lock(mutex_);
        open_ = true;
        changed_.notify_all();
    }
    bool wait_for_waiting(int n) {
        std::unique_lock<std::mutex> lock(mutex_);
        return changed_.wait_for(lock, 10s, [&] { return n_waiting_ >= n; });
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    int n_waiting_ = 0;
    bool open_ = false;
};

/// Runs a job on `pool` and returns whether it ran on a shedding thread.
std::future<bool> shedding_of_job(ConnectionPool& pool) {
    auto promise = std::make_shared<std::promise<bool>>();
    pool.enqueue([promise] { promise->set_value(ConnectionPool::on_shedding_thread()); });
    return promise->get_future();
}

TEST(ServeConnectionPoolTest, ConnectionsBeyondTheServingThreadsAreShedAtOnce) {
    ConnectionPool pool(/*n_serving=*/2, /*n_shedding=*/1, /*grace=*/std::chrono::milliseconds(20));
    Gate gate;
    std::atomic<int> n_shedding_seen{0};
    for (int i = 0; i < 2; ++i) {
        pool.enqueue([&] {
            if (ConnectionPool::on_shedding_thread()) ++n_shedding_seen;
            gate.wait();
        });
    }
    ASSERT_TRUE(gate.wait_for_waiting(2));
    EXPECT_EQ(n_shedding_seen, 0) << "the first connections found idle serving threads";
    // Both serving threads are taken: the next connection runs now, on a shedding thread.
    std::future<bool> third = shedding_of_job(pool);
    ASSERT_EQ(third.wait_for(10s), std::future_status::ready) << "the third connection waited";
    EXPECT_TRUE(third.get());
    EXPECT_EQ(pool.n_shed(), 1u);
    EXPECT_FALSE(ConnectionPool::on_shedding_thread()) << "only the pool's shedding threads say so";

    gate.open();
    // Once the serving threads are free again, connections go to them.
    bool served = false;
    for (int attempt = 0; attempt < 200 && !served; ++attempt) {
        served = !shedding_of_job(pool).get();
        if (!served) std::this_thread::sleep_for(10ms);
    }
    EXPECT_TRUE(served) << "the serving threads were never used again";
}

TEST(ServeConnectionPoolTest, AServingThreadThatFreesWithinTheGraceTakesTheConnection) {
    ConnectionPool pool(/*n_serving=*/1, /*n_shedding=*/1, /*grace=*/std::chrono::milliseconds(10'000));
    Gate gate;
    pool.enqueue([&] { gate.wait(); });
    ASSERT_TRUE(gate.wait_for_waiting(1));
    std::future<bool> second = shedding_of_job(pool);
    EXPECT_EQ(second.wait_for(100ms), std::future_status::timeout) << "shed before its grace was over";
    gate.open();
    ASSERT_EQ(second.wait_for(10s), std::future_status::ready);
    EXPECT_FALSE(second.get()) << "the freed serving thread did not take the connection";
    EXPECT_EQ(pool.n_shed(), 0u);
}

TEST(ServeConnectionPoolTest, ShutdownRunsWhatIsQueued) {
    std::atomic<int> n_run{0};
    {
        ConnectionPool pool(1, 1);
        for (int i = 0; i < 20; ++i) {
            pool.enqueue([&] {
                std::this_thread::sleep_for(1ms);
                ++n_run;
            });
        }
        pool.shutdown();
        EXPECT_EQ(n_run, 20);
        pool.shutdown();  // idempotent, and again in the destructor
    }
    EXPECT_EQ(n_run, 20);
}

TEST(ServeConnectionPoolTest, NeedsAThreadOfEachKind) {
    EXPECT_THROW(ConnectionPool(0, 1), c10::Error);
    EXPECT_THROW(ConnectionPool(1, 0), c10::Error);
}

}  // namespace
}  // namespace facegen::serve

#include "serve/connection_pool.h"

#include <c10/util/Exception.h>

namespace facegen::serve {
namespace {

thread_local bool t_shedding = false;

}  // namespace

ConnectionPool::ConnectionPool(size_t n_serving, size_t n_shedding, std::chrono::milliseconds grace)
    : grace_(grace) {
    TORCH_CHECK(n_serving >= 1 && n_shedding >= 1, "connection pool of ", n_serving, " serving and ", n_shedding,
                " shedding threads: both need at least 1");
    for (size_t i = 0; i < n_serving; ++i) serving_.threads.emplace_back([this] { work(serving_, false); });
    for (size_t i = 0; i < n_shedding; ++i) shedding_.threads.emplace_back([this] { work(shedding_, true); });
    std::unique_lock<std::mutex> lock(mutex_);
    idle_changed_.wait(lock, [&] { return serving_.n_idle == n_serving && shedding_.n_idle == n_shedding; });
}

ConnectionPool::~ConnectionPool() { shutdown(); }

void ConnectionPool::enqueue(std::function<void()> connection) {
    std::lock_guard<std::mutex> lock(mutex_);
    Lane& lane = serving_thread_free() ? serving_ : shedding_;
    lane.jobs.push_back(std::move(connection));
    lane.wakeup.notify_one();
}

void ConnectionPool::shutdown() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    serving_.wakeup.notify_all();
    shedding_.wakeup.notify_all();
    idle_changed_.notify_all();
    for (Lane* lane : {&serving_, &shedding_}) {
        for (std::thread& thread : lane->threads) {
            if (thread.joinable()) thread.join();
        }
    }
}

bool ConnectionPool::on_shedding_thread() { return t_shedding; }

size_t ConnectionPool::n_shed() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return n_shed_;
}

void ConnectionPool::work(Lane& lane, bool shedding) {
    t_shedding = shedding;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        ++lane.n_idle;
        idle_changed_.notify_all();
        lane.wakeup.wait(lock, [&] { return stopping_ || !lane.jobs.empty(); });
        --lane.n_idle;
        // As cpp-httplib's own pool: connections already accepted are answered first.
        if (lane.jobs.empty()) return;
        std::function<void()> job = std::move(lane.jobs.front());
        lane.jobs.pop_front();
        if (shedding && !stopping_ &&
            idle_changed_.wait_for(lock, grace_, [&] { return stopping_ || serving_thread_free(); }) &&
            !stopping_) {
            serving_.jobs.push_back(std::move(job));
            serving_.wakeup.notify_one();
            continue;
        }
        if (shedding) ++n_shed_;
        lock.unlock();
        job();
        lock.lock();
    }
}

}  // namespace facegen::serve

#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

// The threads that answer connections, and what happens to a connection when all of them
// are taken. cpp-httplib answers a connection on one thread from its first request to its
// last (keep-alive included); with a plain fixed pool, connections beyond it wait unanswered
// until clients time out, and the generating queue's 503 never fires for them. Here they go
// to a few shedding threads instead, where the server answers at once: 503 with
// Retry-After for what needs the model, and closes. Independent of the HTTP library.
namespace facegen::serve {

class ConnectionPool {
public:
    /// `n_serving` threads answer connections normally; `n_shedding` take the connections
    /// that arrive while every serving thread is taken. Both at least 1. A connection is
    /// shed only when no serving thread frees within `grace` (one finishing its connection
    /// takes the new one instead). Returns once every thread waits for work: a connection
    /// accepted right away must not look like overload.
    ConnectionPool(size_t n_serving, size_t n_shedding,
                   std::chrono::milliseconds grace = std::chrono::milliseconds(20));
    /// shutdown().
    ~ConnectionPool();
    ConnectionPool(const ConnectionPool&) = delete;
    ConnectionPool& operator=(const ConnectionPool&) = delete;

    /// Runs `connection` on an idle serving thread, or, when none is idle, on a shedding
    /// thread (where on_shedding_thread() is true). Never blocks.
    void enqueue(std::function<void()> connection);
    /// Runs what is queued, then stops and joins every thread. Idempotent.
    void shutdown();

    /// True on a shedding thread: the connection being answered arrived when the server
    /// was full, and what cannot be answered at once should be refused.
    static bool on_shedding_thread();

    /// Connections answered by shedding threads so far.
    size_t n_shed() const;

private:
    struct Lane {
        std::deque<std::function<void()>> jobs;
        std::vector<std::thread> threads;
        std::condition_variable wakeup;
        size_t n_idle = 0;  // threads waiting for a job
    };
    void work(Lane& lane, bool shedding);
    /// An idle serving thread that no queued connection has claimed yet. Under mutex_.
    bool serving_thread_free() const { return serving_.n_idle > serving_.jobs.size(); }

    const std::chrono::milliseconds grace_;
    mutable std::mutex mutex_;
    std::condition_variable idle_changed_;  // a thread went back to waiting for work
    Lane serving_;
    Lane shedding_;
    size_t n_shed_ = 0;
    bool stopping_ = false;
};

}  // namespace facegen::serve

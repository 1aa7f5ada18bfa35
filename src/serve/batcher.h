#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.h"
#include "generate/session.h"

// Dynamic batching: requests from many HTTP threads, one model, one worker thread that
// runs whatever is waiting as one forward pass.
namespace facegen::serve {

struct BatcherOptions {
    /// Images per forward pass at most. Default: 16
    int64_t max_batch = 16;
    /// After the first waiting request, how long the worker waits for more before it runs
    /// a pass that is not full. Default: 5 ms
    std::chrono::microseconds batch_wait{5000};
    /// Requests that may wait (the pass being run not counted); more are refused. Default: 64
    int64_t max_queue = 64;
    /// A request that would wait longer than this before its pass starts (the images ahead
    /// of it at the images per second of recent passes) is refused: an answer that late
    /// would find its client gone. Nothing ahead: never refused. 0 = no bound. Default: 1 s
    std::chrono::milliseconds max_wait{1000};
    /// Intra-op CPU threads of the worker (0 = every logical core). Default: 0
    int cpu_threads = 0;
};

/// Thrown by Batcher::submit when max_queue requests are already waiting, or the request
/// would wait longer than max_wait: the caller should retry later (HTTP 503).
class QueueFull : public Error {
public:
    using Error::Error;
};

/// Called on the worker after each forward pass: images in it, and seconds it took
/// (latents, synthesis and the split, not PNG encoding).
using BatchObserver = std::function<void(int64_t n_images, double seconds)>;

/// Owns one generate::Session and the only thread that generates with it. Requests are
/// queued; the worker takes up to max_batch images of waiting requests (a large request
/// is split across passes), builds each request's ws with its own psi, concatenates them,
/// synthesises once and hands every request its images. Session makes an image depend
/// only on its seed or latent, so a request gets the same pixels whatever it is batched
/// with. Thread-safe.
class Batcher {
public:
    Batcher(generate::Session session, BatcherOptions options, BatchObserver on_batch = {});
    /// Finishes the pass being run; requests still waiting fail with an Error.
    ~Batcher();
    Batcher(const Batcher&) = delete;
    Batcher& operator=(const Batcher&) = delete;

    /// Checks `request` against the model (throws facegen::Error naming the value), then
    /// queues it; throws QueueFull when max_queue requests wait already or it would wait
    /// longer than max_wait. The future holds
    /// the request's images in order, with their provenance (Session::provenance_for plus
    /// the seed or latent row), or the error of the pass that failed.
    std::future<std::vector<generate::GeneratedImage>> submit(generate::Request request);

    /// Requests waiting now (not counting the pass being run).
    int64_t queue_depth() const;
    const BatcherOptions& options() const { return options_; }
    /// The model's description. Only its const, immutable parts (config, metadata, checks)
    /// may be used from other threads than the worker.
    const generate::Session& session() const { return session_; }

private:
    struct Job;
    struct Slice {
        std::shared_ptr<Job> job;
        int64_t begin = 0;
        int64_t n = 0;
    };

    void work();
    std::vector<Slice> next_batch();
    std::vector<Slice> take_slices_locked();
    void run_batch(const std::vector<Slice>& batch);
    void fail_batch(const std::vector<Slice>& batch, std::exception_ptr error);

    generate::Session session_;
    const BatcherOptions options_;
    BatchObserver on_batch_;

    mutable std::mutex mutex_;
    std::condition_variable wakeup_;
    std::deque<std::shared_ptr<Job>> queue_;
    int64_t queued_images_ = 0;
    int64_t running_images_ = 0;       // in the pass being run
    double images_per_second_ = 0;     // of recent passes, smoothed; 0 = none run yet
    bool stopping_ = false;
    std::thread worker_;
};

}  // namespace facegen::serve

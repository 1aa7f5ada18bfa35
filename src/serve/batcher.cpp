#include "serve/batcher.h"

#include <algorithm>
#include <cstdio>

#include "core/device.h"

namespace facegen::serve {

using Clock = std::chrono::steady_clock;

struct Batcher::Job {
    generate::Request request;
    provenance::ImageProvenance base;
    std::vector<generate::GeneratedImage> images;  // filled by the worker, pass by pass
    int64_t next = 0;       // first image not yet taken into a pass (guarded by mutex_)
    int64_t n_done = 0;     // worker only
    bool failed = false;    // worker only
    std::promise<std::vector<generate::GeneratedImage>> promise;
};

namespace {

/// The noise seed of image `index` of `request`, as Session::run_each draws it: the seed
/// itself, or the latent row.
uint64_t noise_seed_of(const generate::Request& request, int64_t index) {
    return request.latents ? static_cast<uint64_t>(index) : request.seeds[static_cast<size_t>(index)];
}

}  // namespace

Batcher::Batcher(generate::Session session, BatcherOptions options, BatchObserver on_batch)
    : session_(std::move(session)), options_(options), on_batch_(std::move(on_batch)) {
    if (options_.max_batch < 1) throw make_error("max batch ", options_.max_batch, " is less than 1");
    if (options_.max_queue < 1) throw make_error("queue size ", options_.max_queue, " is less than 1");
    if (options_.batch_wait.count() < 0) {
        throw make_error("batch wait ", options_.batch_wait.count(), " us is negative");
    }
    if (options_.cpu_threads < 0) throw make_error("CPU thread count ", options_.cpu_threads, " is negative");
    if (options_.max_wait.count() < 0) throw make_error("max wait ", options_.max_wait.count(), " ms is negative");
    worker_ = std::thread([this] { work(); });
}

Batcher::~Batcher() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wakeup_.notify_all();
    worker_.join();
    const auto error = std::make_exception_ptr(make_error("the server is stopping; the request was not run"));
    for (auto& job : queue_) job->promise.set_exception(error);
}

std::future<std::vector<generate::GeneratedImage>> Batcher::submit(generate::Request request) {
    session_.check(request);
    auto job = std::make_shared<Job>();
    job->base = session_.provenance_for(request);
    const int64_t n_images = request.n_images();
    job->images.resize(static_cast<size_t>(n_images));
    job->request = std::move(request);
    auto result = job->promise.get_future();
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) throw make_error("the server is stopping");
        if (static_cast<int64_t>(queue_.size()) >= options_.max_queue) {
            throw QueueFull("the generation queue is full (" + std::to_string(options_.max_queue) +
                            " requests waiting); retry later");
        }
        const int64_t n_ahead = queued_images_ + running_images_;
        if (options_.max_wait.count() > 0 && n_ahead > 0 && images_per_second_ > 0) {
            const double wait_s = static_cast<double>(n_ahead) / images_per_second_;
            if (wait_s * 1000 > static_cast<double>(options_.max_wait.count())) {
                char figures[160];
                std::snprintf(figures, sizeof(figures), "about %.1f s (%lld images ahead at %.1f images/s)", wait_s,
                              static_cast<long long>(n_ahead), images_per_second_);
                throw QueueFull(std::string("the generation queue would hold this request ") + figures +
                                ", longer than the " + std::to_string(options_.max_wait.count()) +
                                " ms bound; retry later");
            }
        }
        queue_.push_back(std::move(job));
        queued_images_ += n_images;
    }
    wakeup_.notify_one();
    return result;
}

int64_t Batcher::queue_depth() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<int64_t>(queue_.size());
}

void Batcher::work() {
    // OpenMP's thread count is per thread: set it here, not only on the thread that made us.
    core::set_cpu_threads(options_.cpu_threads);
    torch::InferenceMode inference;
    for (;;) {
        const std::vector<Slice> batch = next_batch();
        if (batch.empty()) return;
        run_batch(batch);
    }
}

std::vector<Batcher::Slice> Batcher::next_batch() {
    std::unique_lock<std::mutex> lock(mutex_);
    wakeup_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return {};
    const auto deadline = Clock::now() + options_.batch_wait;
    while (!stopping_ && queued_images_ < options_.max_batch) {
        if (wakeup_.wait_until(lock, deadline) == std::cv_status::timeout) break;
    }
    if (stopping_) return {};
    std::vector<Slice> batch = take_slices_locked();
    for (const Slice& slice : batch) running_images_ += slice.n;
    return batch;
}

std::vector<Batcher::Slice> Batcher::take_slices_locked() {
    std::vector<Slice> batch;
    int64_t n_taken = 0;
    // One pass has one noise mode; a request with another waits for the next pass.
    const model::NoiseMode noise_mode = queue_.front()->request.noise_mode;
    while (!queue_.empty() && n_taken < options_.max_batch && queue_.front()->request.noise_mode == noise_mode) {
        const std::shared_ptr<Job>& job = queue_.front();
        const int64_t n = std::min(job->request.n_images() - job->next, options_.max_batch - n_taken);
        batch.push_back({job, job->next, n});
        job->next += n;
        n_taken += n;
        queued_images_ -= n;
        if (job->next == job->request.n_images()) queue_.pop_front();
    }
    return batch;
}

void Batcher::run_batch(const std::vector<Slice>& batch) {
    const auto start = Clock::now();
    int64_t n_images = 0;
    std::vector<Job*> finished;
    std::exception_ptr error;
    try {
        std::vector<torch::Tensor> ws;
        std::vector<uint64_t> noise_seeds;
        for (const Slice& slice : batch) {
            ws.push_back(session_.ws_for(slice.job->request, slice.begin, slice.n));
            for (int64_t i = slice.begin; i < slice.begin + slice.n; ++i) {
                noise_seeds.push_back(noise_seed_of(slice.job->request, i));
            }
            n_images += slice.n;
        }
        const torch::Tensor images =
            session_.synthesize(torch::cat(ws), batch.front().job->request.noise_mode, std::move(noise_seeds));
        int64_t row = 0;
        for (const Slice& slice : batch) {
            Job& job = *slice.job;
            for (int64_t i = slice.begin; i < slice.begin + slice.n; ++i, ++row) {
                generate::GeneratedImage& image = job.images[static_cast<size_t>(i)];
                image.pixels = images[row].clone();
                image.provenance = job.base;
                if (job.request.latents) {
                    image.provenance.latent_index = i;
                } else {
                    image.provenance.seed = job.request.seeds[static_cast<size_t>(i)];
                }
            }
            job.n_done += slice.n;
            if (job.n_done == job.request.n_images()) finished.push_back(&job);
        }
    } catch (...) {
        error = std::current_exception();
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    // The pass is over before anyone hears of it: a request submitted by a client that was
    // just answered must not count this pass as still ahead of it.
    {
        std::lock_guard<std::mutex> lock(mutex_);
        running_images_ = 0;
        if (!error && n_images > 0 && seconds > 0) {
            // Smoothed over a few passes: one slow pass (a page fault, a busy core) should not
            // refuse a burst on its own.
            const double rate = static_cast<double>(n_images) / seconds;
            images_per_second_ = images_per_second_ == 0 ? rate : 0.7 * images_per_second_ + 0.3 * rate;
        }
    }
    // Counted before anyone is answered, so a client that reads the metrics after its answer
    // sees its own pass.
    if (on_batch_) on_batch_(n_images, seconds);
    if (error) {
        for (Job* job : finished) {
            job->failed = true;
            job->promise.set_exception(error);
        }
        fail_batch(batch, error);
    } else {
        for (Job* job : finished) job->promise.set_value(std::move(job->images));
    }
}

void Batcher::fail_batch(const std::vector<Slice>& batch, std::exception_ptr error) {
    for (const Slice& slice : batch) {
        Job& job = *slice.job;
        if (job.failed || job.n_done == job.request.n_images()) continue;
        job.failed = true;
        job.promise.set_exception(error);
    }
    // The rest of a failed request may still wait: drop it rather than run it for nobody.
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = queue_.begin(); it != queue_.end();) {
        if ((*it)->failed) {
            queued_images_ -= (*it)->request.n_images() - (*it)->next;
            it = queue_.erase(it);
        } else {
            ++it;
        }
    }
}

}  // namespace facegen::serve

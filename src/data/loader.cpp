#include "data/loader.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "core/error.h"
#include "core/random_stream.h"

namespace facegen::data {
namespace {

// x / 127.5 - 1 (the official scaling, training_loop.py) for every uint8 value.
const std::array<float, 256>& scale_table() {
    static const std::array<float, 256> table = [] {
        std::array<float, 256> t{};
        for (int v = 0; v < 256; ++v) t[static_cast<size_t>(v)] = static_cast<float>(v) / 127.5f - 1.0f;
        return t;
    }();
    return table;
}

}  // namespace

nlohmann::json to_json(const LoaderState& state) {
    return {{"epoch", state.epoch}, {"position", state.position}};
}

LoaderState loader_state_from_json(const nlohmann::json& json) {
    try {
        return {json.at("epoch").get<int64_t>(), json.at("position").get<int64_t>()};
    } catch (const nlohmann::json::exception& e) {
        throw make_error("bad loader state '", json.dump(), "': ", e.what());
    }
}

Loader::Loader(std::shared_ptr<const PackedDataset> dataset, LoaderOptions options, LoaderState start)
    : dataset_(std::move(dataset)), options_(options) {
    TORCH_CHECK(dataset_ != nullptr, "Loader: dataset is null");
    TORCH_CHECK(options_.batch_size() > 0, "Loader: batch_size must be > 0, got ", options_.batch_size());
    TORCH_CHECK(options_.n_threads() > 0, "Loader: n_threads must be > 0, got ", options_.n_threads());
    TORCH_CHECK(options_.prefetch() > 0, "Loader: prefetch must be > 0, got ", options_.prefetch());
    TORCH_CHECK(options_.world_size() > 0 && options_.rank() >= 0 && options_.rank() < options_.world_size(),
                "Loader: rank ", options_.rank(), " outside world_size ", options_.world_size());
    selected_ = dataset_->index().select(options_.split());
    n_items_ = static_cast<int64_t>(selected_.size()) * (options_.x_flip() ? 2 : 1);
    epoch_size_ = n_items_ / options_.world_size();
    if (epoch_size_ == 0) {
        throw make_error("dataset '", dataset_->dir().string(), "' has ", selected_.size(), " images in split '",
                         to_string(options_.split()), "': too few for world_size ", options_.world_size());
    }
    const auto& index = dataset_->index();
    const auto n_columns = static_cast<int64_t>(index.label_columns.size());
    label_table_ = torch::full({index.size(), n_columns}, kUnknownLabel, torch::kInt64);
    auto* labels = label_table_.data_ptr<int64_t>();
    for (int64_t i = 0; i < index.size(); ++i) {
        std::copy(index.labels[static_cast<size_t>(i)].begin(), index.labels[static_cast<size_t>(i)].end(),
                  labels + i * n_columns);
    }
    TORCH_CHECK(start.epoch >= 0 && start.position >= 0 && start.position < epoch_size_, "Loader: state {epoch ",
                start.epoch, ", position ", start.position, "} outside an epoch of ", epoch_size_, " items");
    consumed_state_ = plan_state_ = start;
    start_workers();
}

Loader::~Loader() { stop_workers(); }

LoaderState Loader::state() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return consumed_state_;
}

void Loader::reset(LoaderState state) {
    TORCH_CHECK(state.epoch >= 0 && state.position >= 0 && state.position < epoch_size_, "Loader::reset: state {epoch ",
                state.epoch, ", position ", state.position, "} outside an epoch of ", epoch_size_, " items");
    stop_workers();
    ready_.clear();
    next_plan_seq_ = next_out_seq_ = 0;
    consumed_state_ = plan_state_ = state;
    error_ = nullptr;
    start_workers();
}

std::vector<std::pair<int64_t, bool>> Loader::epoch_items(int64_t epoch) const {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto& order = epoch_order(epoch);
    const auto n_selected = static_cast<int64_t>(selected_.size());
    std::vector<std::pair<int64_t, bool>> out;
    out.reserve(order.size());
    for (int64_t item : order) out.emplace_back(selected_[static_cast<size_t>(item % n_selected)], item >= n_selected);
    return out;
}

const std::vector<int64_t>& Loader::epoch_order(int64_t epoch) const {
    if (epoch == cached_epoch_) return cached_order_;
    std::vector<int64_t> all(static_cast<size_t>(n_items_));
    for (int64_t i = 0; i < n_items_; ++i) all[static_cast<size_t>(i)] = i;
    if (options_.shuffle()) {
        // SplitMix64 (core::RandomStream), not std::shuffle: an epoch's order is then the same
        // on every platform and standard library.
        core::RandomStream stream(options_.seed() * 0x2545f4914f6cdd1dULL ^
                                  static_cast<uint64_t>(epoch) * 0x9e3779b97f4a7c15ULL);
        stream.next_u64();
        for (int64_t i = n_items_ - 1; i > 0; --i) {
            const auto j = static_cast<int64_t>(stream.next_scaled(static_cast<uint64_t>(i + 1)));
            std::swap(all[static_cast<size_t>(i)], all[static_cast<size_t>(j)]);
        }
    }
    cached_order_.resize(static_cast<size_t>(epoch_size_));
    for (int64_t k = 0; k < epoch_size_; ++k) {
        cached_order_[static_cast<size_t>(k)] = all[static_cast<size_t>(options_.rank() + k * options_.world_size())];
    }
    cached_epoch_ = epoch;
    return cached_order_;
}

std::vector<std::pair<int64_t, bool>> Loader::plan_next(LoaderState& state) {
    const auto n_selected = static_cast<int64_t>(selected_.size());
    std::vector<std::pair<int64_t, bool>> items;
    items.reserve(static_cast<size_t>(options_.batch_size()));
    while (static_cast<int64_t>(items.size()) < options_.batch_size()) {
        const int64_t item = epoch_order(state.epoch)[static_cast<size_t>(state.position)];
        items.emplace_back(selected_[static_cast<size_t>(item % n_selected)], item >= n_selected);
        if (++state.position == epoch_size_) {
            state.position = 0;
            ++state.epoch;
        }
    }
    return items;
}

Loader::Prepared Loader::prepare(const std::vector<std::pair<int64_t, bool>>& items, LoaderState after) const {
    const int64_t n = static_cast<int64_t>(items.size());
    const int64_t c = dataset_->channels();
    const int64_t r = dataset_->resolution();
    const bool to_float_here = !options_.device().is_cuda();
    Prepared out;
    out.state = after;
    out.indices = torch::empty({n}, torch::kInt64);
    out.flipped = torch::empty({n}, torch::kBool);
    auto pinned = torch::TensorOptions().pinned_memory(!to_float_here);
    out.images = torch::empty({n, c, r, r}, pinned.dtype(to_float_here ? torch::kFloat32 : torch::kUInt8));
    const auto& table = scale_table();
    for (int64_t b = 0; b < n; ++b) {
        const auto [index, flip] = items[static_cast<size_t>(b)];
        out.indices.data_ptr<int64_t>()[b] = index;
        out.flipped.data_ptr<bool>()[b] = flip;
        const uint8_t* src = dataset_->image(index);
        for (int64_t row = 0; row < c * r; ++row) {
            const uint8_t* s = src + row * r;
            if (to_float_here) {
                float* d = out.images.data_ptr<float>() + (b * c * r + row) * r;
                if (flip) {
                    for (int64_t x = 0; x < r; ++x) d[x] = table[s[r - 1 - x]];
                } else {
                    for (int64_t x = 0; x < r; ++x) d[x] = table[s[x]];
                }
            } else {
                uint8_t* d = out.images.data_ptr<uint8_t>() + (b * c * r + row) * r;
                if (flip) {
                    for (int64_t x = 0; x < r; ++x) d[x] = s[r - 1 - x];
                } else {
                    std::memcpy(d, s, static_cast<size_t>(r));
                }
            }
        }
    }
    out.labels = label_table_.index_select(0, out.indices);
    return out;
}

void Loader::worker_loop() {
    while (true) {
        std::vector<std::pair<int64_t, bool>> items;
        LoaderState after;
        int64_t seq = 0;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            work_cv_.wait(lock, [&] { return stopping_ || next_plan_seq_ - next_out_seq_ < options_.prefetch(); });
            if (stopping_) return;
            seq = next_plan_seq_++;
            items = plan_next(plan_state_);
            after = plan_state_;
        }
        try {
            Prepared prepared = prepare(items, after);
            std::lock_guard<std::mutex> lock(mutex_);
            ready_.emplace(seq, std::move(prepared));
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex_);
            error_ = std::current_exception();
        }
        ready_cv_.notify_all();
    }
}

void Loader::start_workers() {
    stopping_ = false;
    for (int64_t i = 0; i < options_.n_threads(); ++i) workers_.emplace_back([this] { worker_loop(); });
}

void Loader::stop_workers() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    work_cv_.notify_all();
    for (auto& worker : workers_) worker.join();
    workers_.clear();
}

Batch Loader::next() {
    Prepared prepared;
    {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_cv_.wait(lock, [&] { return error_ != nullptr || ready_.count(next_out_seq_) > 0; });
        if (error_) std::rethrow_exception(error_);
        auto it = ready_.find(next_out_seq_);
        prepared = std::move(it->second);
        ready_.erase(it);
        ++next_out_seq_;
        consumed_state_ = prepared.state;
    }
    work_cv_.notify_all();
    Batch batch;
    batch.indices = prepared.indices;
    batch.flipped = prepared.flipped;
    batch.state = prepared.state;
    if (options_.device().is_cuda()) {
        auto on_device = prepared.images.to(options_.device(), /*non_blocking=*/true);
        batch.images = on_device.to(torch::kFloat32).div_(127.5).sub_(1.0);
        batch.labels = prepared.labels.to(options_.device(), /*non_blocking=*/true);
    } else {
        batch.images = prepared.images.to(options_.device());
        batch.labels = prepared.labels.to(options_.device());
    }
    return batch;
}

}  // namespace facegen::data

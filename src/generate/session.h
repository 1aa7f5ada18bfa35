#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "generate/latents.h"
#include "model/model_file.h"
#include "provenance/image_provenance.h"

// Generation as a library: load a model once, then turn requests (seeds or latents) into
// labelled images, the same way for the CLI, the server, edits and projections.
namespace facegen::generate {

/// What to generate: one image per seed, or one per row of a latents array.
struct Request {
    /// z drawn exactly as the official generate.py (numpy's RandomState(seed).randn).
    std::vector<uint32_t> seeds;
    /// Instead of seeds: z [N, z_dim], w [N, w_dim] or ws [N, num_ws, w_dim] rows.
    std::optional<Latents> latents;
    /// Absent: the model's recommended psi for seeds and z, none (1) for w and ws, which
    /// are usually already where the caller wants them (projections, edits).
    std::optional<double> truncation_psi;
    /// Truncate only the first N w layers; absent = every layer.
    std::optional<int64_t> truncation_cutoff;
    model::NoiseMode noise_mode = model::NoiseMode::Const;
    /// Images per forward pass; the images do not depend on it.
    int64_t batch = 8;
    /// Label the images with the invisible watermark when they are encoded (the default;
    /// provenance::ImageProvenance::watermark).
    bool watermark = true;
    /// Changes the ws [n, num_ws, w_dim] of images [begin, begin + n) before they are
    /// synthesised (attribute edits, src/edit); absent = none. Generation stays in one place.
    std::function<torch::Tensor(const torch::Tensor& ws, int64_t begin)> adjust_ws;
    /// What adjust_ws does, recorded in every image's provenance (ImageProvenance::edit).
    std::string adjustment;

    int64_t n_images() const;
};

/// One generated image and what it records about how it was made.
struct GeneratedImage {
    torch::Tensor pixels;  // uint8 [H, W, C], CPU
    provenance::ImageProvenance provenance;
};

/// A model loaded once for generating. Not safe to use from several threads at once: a
/// server serialises its calls (and batches requests instead).
class Session {
public:
    /// Loads `model_path` (empty = the bundled model, generate/bundled_model.h) onto
    /// `device`. Throws facegen::Error naming the file for a missing or unsound model,
    /// and for a class-conditional one (generation needs no labels).
    explicit Session(const std::filesystem::path& model_path = {}, torch::Device device = torch::kCPU);

    const std::filesystem::path& model_path() const { return model_path_; }
    const model::GeneratorConfig& config() const { return loaded_.config; }
    const model::ModelMetadata& metadata() const { return loaded_.metadata; }
    torch::Device device() const { return device_; }
    model::Generator& generator() { return loaded_.generator; }
    /// The psi the model file recommends (1 when it names none).
    double recommended_truncation_psi() const;

    /// Throws facegen::Error naming the value (never a CLI flag) for what this model
    /// cannot make: no source or two, bad psi, a cutoff beyond its layers, a batch < 1.
    void check(const Request& request) const;

    /// The psi that applies to `request` (see Request::truncation_psi).
    double truncation_psi_for(const Request& request) const;

    /// ws [n, num_ws, w_dim] of the request's images [begin, begin + n): truncated, then
    /// adjusted (Request::adjust_ws), exactly what run() and the server synthesise.
    torch::Tensor ws_for(const Request& request, int64_t begin, int64_t n);

    /// Images for ws [N, num_ws, w_dim] as uint8 [N, H, W, C] on the CPU. noise_seeds: one
    /// per image for NoiseMode::Random (each image's noise then depends on its seed only).
    torch::Tensor synthesize(const torch::Tensor& ws, model::NoiseMode noise_mode,
                             std::vector<uint64_t> noise_seeds = {});

    /// What every image of `request` records, before its own seed or latent row.
    provenance::ImageProvenance provenance_for(const Request& request) const;

    /// Generates the request batch by batch, handing each image to `on_image` with its
    /// index in the request, so any number of images fits in memory.
    void run_each(const Request& request, const std::function<void(GeneratedImage&&, int64_t index)>& on_image);

    /// All images of the request, in order.
    std::vector<GeneratedImage> run(const Request& request);

private:
    torch::Tensor truncated_ws_for(const Request& request, int64_t begin, int64_t n);

    std::filesystem::path model_path_;
    torch::Device device_;
    model::LoadedModel loaded_;
};

/// A file name for image `index` of `request`: seed0042.png, or latent0003.png.
std::string image_file_name(const Request& request, int64_t index);

}  // namespace facegen::generate

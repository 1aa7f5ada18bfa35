#include "generate/session.h"

#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/error.h"
#include "core/image_grid.h"
#include "facegen/core/version.h"
#include "generate/bundled_model.h"
#include "generate/numpy_rng.h"
#include "model/truncation.h"

namespace facegen::generate {
namespace {

std::filesystem::path resolve_model_path(const std::filesystem::path& path) {
    const std::filesystem::path resolved = path.empty() ? find_bundled_model() : path;
    if (!std::filesystem::exists(resolved)) throw make_error("model '", resolved.string(), "': no such file");
    return resolved;
}

model::LoadedModel load_for_generation(const std::filesystem::path& path, torch::Device device) {
    model::LoadedModel loaded = model::load_model_file(path, device);
    if (loaded.config.c_dim != 0) {
        throw make_error("model '", path.string(), "' is class-conditional (c_dim ", loaded.config.c_dim,
                         "); generation supports unconditional models only");
    }
    return loaded;
}

/// z [n, z_dim] float32 for seeds [begin, begin + n): float64 like numpy, then float32 as
/// the official mapping network's first cast.
torch::Tensor z_from_seeds(const std::vector<uint32_t>& seeds, int64_t begin, int64_t n, int64_t z_dim) {
    torch::Tensor z = torch::empty({n, z_dim}, torch::kFloat64);
    for (int64_t i = 0; i < n; ++i) {
        const std::vector<double> values = latent_from_seed(seeds[static_cast<size_t>(begin + i)], z_dim);
        std::memcpy(z[i].data_ptr<double>(), values.data(), values.size() * sizeof(double));
    }
    return z.to(torch::kFloat32);
}

/// Noise seeds of images [begin, begin + n): the seed itself, or the latent row.
std::vector<uint64_t> noise_seeds_for(const Request& request, int64_t begin, int64_t n) {
    std::vector<uint64_t> seeds(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        seeds[static_cast<size_t>(i)] =
            request.latents ? static_cast<uint64_t>(begin + i) : request.seeds[static_cast<size_t>(begin + i)];
    }
    return seeds;
}

}  // namespace

int64_t Request::n_images() const {
    return latents ? latents->values.size(0) : static_cast<int64_t>(seeds.size());
}

Session::Session(const std::filesystem::path& model_path, torch::Device device)
    : model_path_(resolve_model_path(model_path)), device_(device), loaded_(load_for_generation(model_path_, device)) {}

double Session::recommended_truncation_psi() const { return model::recommended_truncation_psi(loaded_.metadata); }

void Session::check(const Request& request) const {
    const bool has_seeds = !request.seeds.empty();
    if (!has_seeds && !request.latents) throw make_error("nothing to generate: no seeds and no latents");
    if (has_seeds && request.latents) throw make_error("give seeds or latents, not both");
    if (request.latents) {
        const Latents& latents = *request.latents;
        const bool shape_ok = latents.values.defined() && latents.values.size(0) >= 1 &&
                              (latents.space == LatentSpace::WS
                                   ? latents.values.dim() == 3 && latents.values.size(1) == config().num_ws() &&
                                         latents.values.size(2) == config().w_dim
                                   : latents.values.dim() == 2 &&
                                         latents.values.size(1) ==
                                             (latents.space == LatentSpace::Z ? config().z_dim : config().w_dim));
        if (!shape_ok) {
            throw make_error(to_string(latents.space), " latents of shape ",
                             latents.values.defined() ? latents.values.sizes() : torch::IntArrayRef{},
                             " do not fit this model (z_dim ", config().z_dim, ", w_dim ", config().w_dim, ", num_ws ",
                             config().num_ws(), ")");
        }
    }
    if (request.truncation_psi && !std::isfinite(*request.truncation_psi)) {
        throw make_error("truncation psi ", *request.truncation_psi, " is not a finite number");
    }
    if (request.truncation_cutoff && (*request.truncation_cutoff < 0 || *request.truncation_cutoff > config().num_ws())) {
        throw make_error("truncation cutoff ", *request.truncation_cutoff, " is outside 0..", config().num_ws(),
                         " (this model's w layers)");
    }
    if (request.batch < 1) throw make_error("batch size ", request.batch, " is less than 1");
}

double Session::truncation_psi_for(const Request& request) const {
    if (request.truncation_psi) return *request.truncation_psi;
    const bool from_z = !request.latents || request.latents->space == LatentSpace::Z;
    return from_z ? recommended_truncation_psi() : 1.0;
}

torch::Tensor Session::ws_for(const Request& request, int64_t begin, int64_t n) {
    torch::Tensor ws = truncated_ws_for(request, begin, n);
    return request.adjust_ws ? request.adjust_ws(ws, begin) : ws;
}

torch::Tensor Session::truncated_ws_for(const Request& request, int64_t begin, int64_t n) {
    const double psi = truncation_psi_for(request);
    torch::Tensor z;
    if (request.latents) {
        const torch::Tensor rows = request.latents->values.narrow(0, begin, n).to(device_);
        switch (request.latents->space) {
            case LatentSpace::WS: return model::truncate(rows, generator()->w_avg(), psi, request.truncation_cutoff);
            case LatentSpace::W:
                return model::truncate(rows.unsqueeze(1).repeat({1, config().num_ws(), 1}), generator()->w_avg(), psi,
                                       request.truncation_cutoff);
            case LatentSpace::Z: z = rows; break;
        }
    } else {
        z = z_from_seeds(request.seeds, begin, n, config().z_dim).to(device_);
    }
    return generator()->map(z, torch::Tensor(), psi, request.truncation_cutoff);
}

torch::Tensor Session::synthesize(const torch::Tensor& ws, model::NoiseMode noise_mode,
                                  std::vector<uint64_t> noise_seeds) {
    const int64_t n = ws.size(0);
    model::SynthesisOptions options;
    options.noise_mode = noise_mode;
    if (noise_mode == model::NoiseMode::Random) options.noise_seeds = std::move(noise_seeds);
    torch::Tensor batch_ws = ws;
    if (n == 1) {
        // oneDNN picks other convolution kernels for a batch of exactly one, whose sums
        // differ in the last bits (enough to flip a rounded pixel); run as a pair, every
        // batch size takes the same kernels and an image never depends on its batch.
        batch_ws = ws.expand({2, -1, -1});
        if (!options.noise_seeds.empty()) options.noise_seeds.push_back(options.noise_seeds.front());
    }
    return core::images_to_uint8(generator()->synthesize(batch_ws, options).narrow(0, 0, n));
}

provenance::ImageProvenance Session::provenance_for(const Request& request) const {
    provenance::ImageProvenance info;
    info.model_id = loaded_.metadata.model_id;
    info.license = loaded_.metadata.license;
    info.latent_space = request.latents ? to_string(request.latents->space) : "z";
    info.truncation_psi = truncation_psi_for(request);
    info.truncation_cutoff = request.truncation_cutoff;
    info.noise_mode = model::to_string(request.noise_mode);
    info.software_version = kVersion;
    info.watermark = request.watermark;
    info.edit = request.adjustment;
    return info;
}

void Session::run_each(const Request& request,
                       const std::function<void(GeneratedImage&&, int64_t index)>& on_image) {
    check(request);
    torch::InferenceMode inference;
    const provenance::ImageProvenance base = provenance_for(request);
    const int64_t n_images = request.n_images();
    for (int64_t begin = 0; begin < n_images; begin += request.batch) {
        const int64_t n = std::min(request.batch, n_images - begin);
        const torch::Tensor ws = ws_for(request, begin, n);
        const torch::Tensor images = synthesize(ws, request.noise_mode, noise_seeds_for(request, begin, n));
        for (int64_t i = 0; i < n; ++i) {
            GeneratedImage image{images[i], base};
            if (request.latents) {
                image.provenance.latent_index = begin + i;
            } else {
                image.provenance.seed = request.seeds[static_cast<size_t>(begin + i)];
            }
            on_image(std::move(image), begin + i);
        }
    }
}

std::vector<GeneratedImage> Session::run(const Request& request) {
    std::vector<GeneratedImage> images;
    images.reserve(static_cast<size_t>(std::max<int64_t>(request.n_images(), 0)));
    run_each(request, [&](GeneratedImage&& image, int64_t) { images.push_back(std::move(image)); });
    return images;
}

std::string image_file_name(const Request& request, int64_t index) {
    char name[64];
    if (request.latents) {
        std::snprintf(name, sizeof(name), "latent%04lld.png", static_cast<long long>(index));
    } else {
        std::snprintf(name, sizeof(name), "seed%04u.png", request.seeds.at(static_cast<size_t>(index)));
    }
    return name;
}

}  // namespace facegen::generate

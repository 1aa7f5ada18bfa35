#include "project/encoder_training.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "core/error.h"

namespace facegen::project {

namespace {

constexpr int64_t kHeldOutFaces = 64;
constexpr uint64_t kHeldOutSeed = 0x5eed0f5eedULL;  // a stream training never draws from
constexpr int64_t kWStatisticsSamples = 10000;

/// Faces of the model for w drawn from a stream seeded by (seed, step): a resumed run draws
/// what the uninterrupted run would have.
struct GeneratedBatch {
    torch::Tensor w;       // [N, w_dim]
    torch::Tensor images;  // [N, 3, R, R] in [-1, 1]
};

GeneratedBatch generated_batch(model::Generator& generator, const torch::Tensor& w_avg, int64_t n, double psi_min,
                               uint64_t stream_seed) {
    torch::NoGradGuard no_grad;
    auto cpu = at::detail::createCPUGenerator(stream_seed);
    const torch::Tensor z = at::randn({n, generator->config().z_dim}, cpu);
    const torch::Tensor psi = psi_min + (1.0 - psi_min) * at::rand({n, 1}, cpu);
    const torch::Tensor w_full = generator->map(z, {}).select(1, 0);
    GeneratedBatch out;
    out.w = w_avg + psi * (w_full - w_avg);
    out.images = synthesize_w(generator, out.w);
    return out;
}

torch::Tensor real_batch(const torch::Tensor& photos, int64_t n, uint64_t stream_seed) {
    auto cpu = at::detail::createCPUGenerator(stream_seed);
    const torch::Tensor index = at::randint(photos.size(0), {n}, cpu);
    torch::Tensor images = to_generator_range(photos.index_select(0, index));
    // Mirror images are faces too: doubles what a few hundred photos teach.
    const torch::Tensor flip = at::rand({n}, cpu) < 0.5;
    return torch::where(flip.view({n, 1, 1, 1}), images.flip({3}), images);
}

double cosine_rate(const EncoderTrainingOptions& options, int64_t step) {
    const double t = static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, options.steps - 1));
    return options.learning_rate * (0.05 + 0.95 * 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, t))));
}

void save_checkpoint(const std::filesystem::path& path, LatentEncoder& encoder, torch::optim::Adam& optimizer,
                     int64_t next_step, const std::string& model_id) {
    torch::serialize::OutputArchive archive, encoder_archive, optimizer_archive;
    encoder->save(encoder_archive);
    optimizer.save(optimizer_archive);
    archive.write("encoder", encoder_archive);
    archive.write("optimizer", optimizer_archive);
    archive.write("next_step", torch::tensor(next_step, torch::kInt64));
    archive.write("model_id", c10::IValue(model_id));
    const std::filesystem::path temporary = path.string() + ".tmp";
    archive.save_to(temporary.string());
    std::filesystem::rename(temporary, path);
}

int64_t load_checkpoint(const std::filesystem::path& path, LatentEncoder& encoder, torch::optim::Adam& optimizer,
                        const std::string& model_id) {
    torch::serialize::InputArchive archive, encoder_archive, optimizer_archive;
    c10::IValue stored_id;
    torch::Tensor next_step;
    try {
        archive.load_from(path.string());
        archive.read("model_id", stored_id);
        archive.read("next_step", next_step);
        archive.read("encoder", encoder_archive);
        archive.read("optimizer", optimizer_archive);
    } catch (const c10::Error&) {
        throw make_error("encoder checkpoint '", path.string(), "' is unreadable: delete it to start again");
    }
    if (!stored_id.isString() || stored_id.toStringRef() != model_id) {
        throw make_error("encoder checkpoint '", path.string(), "' belongs to model ",
                         stored_id.isString() ? stored_id.toStringRef() : "?", ", not to model ", model_id);
    }
    try {
        encoder->load(encoder_archive);
        optimizer.load(optimizer_archive);
    } catch (const c10::Error&) {
        throw make_error("encoder checkpoint '", path.string(), "' holds an encoder of another shape");
    }
    return next_step.item<int64_t>();
}

}  // namespace

void EncoderTrainingOptions::validate() const {
    if (steps < 1 || steps > 10000000) throw make_error("steps ", steps, " is outside 1..10000000");
    if (batch < 1 || batch > 1024) throw make_error("batch ", batch, " is outside 1..1024");
    if (photos_per_batch < 0 || photos_per_batch > 1024) {
        throw make_error("photos per batch ", photos_per_batch, " is outside 0..1024");
    }
    if (!(learning_rate > 0.0) || !std::isfinite(learning_rate)) throw make_error("learning rate ", learning_rate, " is not > 0");
    if (!(w_weight >= 0.0)) throw make_error("w weight ", w_weight, " is below 0");
    if (!(psi_min > 0.0 && psi_min <= 1.0)) throw make_error("psi minimum ", psi_min, " is outside (0, 1]");
    if (checkpoint_every < 1) throw make_error("checkpoint interval ", checkpoint_every, " is below 1");
    if (image_loss.identity > 0.0) throw make_error("the identity term is not available when training an encoder");
    if (photos_per_batch > 0 && image_loss.pixel <= 0.0 && image_loss.ssim <= 0.0 && image_loss.discriminator <= 0.0) {
        throw make_error("real photos need an image loss: their w is unknown");
    }
}

torch::Tensor synthesize_w(model::Generator& generator, const torch::Tensor& w) {
    model::SynthesisOptions synthesis;
    synthesis.noise_mode = model::NoiseMode::Const;  // the image generate makes from the same w
    return generator->synthesize(w.unsqueeze(1).expand({w.size(0), generator->config().num_ws(), w.size(1)}), synthesis);
}

WStatistics w_statistics(model::Generator& generator, int64_t samples, uint64_t seed) {
    torch::NoGradGuard no_grad;
    auto cpu = at::detail::createCPUGenerator(seed);
    const torch::Tensor z = at::randn({samples, generator->config().z_dim}, cpu);
    const torch::Tensor w = generator->map(z, {}).select(1, 0);
    WStatistics out;
    out.w_avg = w.mean(0);
    out.w_variance = w.var(0).mean().item<double>();
    return out;
}

EncoderTrainingResult train_encoder(model::Generator generator, model::Discriminator discriminator,
                                    const std::string& model_id, const torch::Tensor& photos,
                                    const EncoderTrainingOptions& options, const std::filesystem::path& checkpoint,
                                    const core::ProgressCallback& progress) {
    options.validate();
    const model::GeneratorConfig& config = generator->config();
    TORCH_CHECK(options.encoder.resolution() == config.resolution && options.encoder.w_dim() == config.w_dim,
                "encoder options do not match the generator");
    const bool with_photos = photos.defined() && photos.numel() > 0 && options.photos_per_batch > 0;
    if (with_photos) {
        TORCH_CHECK(photos.dim() == 4 && photos.size(1) == config.resolution && photos.size(3) == 3 &&
                        photos.scalar_type() == torch::kUInt8,
                    "expected photos uint8 [M, R, R, 3], got ", photos.sizes());
    }
    generator->eval();
    for (auto& parameter : generator->parameters()) parameter.set_requires_grad(false);
    if (discriminator) {
        discriminator->eval();
        for (auto& parameter : discriminator->parameters()) parameter.set_requires_grad(false);
    }
    // The image terms cost a pass through G and D with gradients: on a busy CPU, w alone
    // (image_loss all 0) trains on several times more faces in the same time.
    const bool with_image_loss = options.image_loss.pixel > 0.0 || options.image_loss.ssim > 0.0 ||
                                 options.image_loss.discriminator > 0.0;
    std::optional<ReconstructionLoss> image_loss;
    if (with_image_loss) {
        image_loss.emplace(options.image_loss,
                           options.image_loss.discriminator > 0.0 ? discriminator : model::Discriminator(nullptr),
                           IdentityEmbedder{});
    }

    const WStatistics stats = w_statistics(generator, kWStatisticsSamples, options.seed);
    EncoderTrainingResult result;
    result.encoder = LatentEncoder(options.encoder);
    {
        torch::NoGradGuard no_grad;
        result.encoder->w_avg.copy_(stats.w_avg);
    }
    LatentEncoder& encoder = result.encoder;
    torch::optim::Adam optimizer(encoder->parameters(), torch::optim::AdamOptions(options.learning_rate));
    if (std::filesystem::exists(checkpoint)) {
        result.first_step = load_checkpoint(checkpoint, encoder, optimizer, model_id);
    }

    encoder->train();
    for (int64_t step = result.first_step; step < options.steps; ++step) {
        const double rate = cosine_rate(options, step);
        for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(rate);
        const uint64_t stream = options.seed * 1000003ULL + static_cast<uint64_t>(step);
        const GeneratedBatch batch = generated_batch(generator, stats.w_avg, options.batch, options.psi_min, stream);
        torch::Tensor targets = batch.images;
        if (with_photos) targets = torch::cat({targets, real_batch(photos, options.photos_per_batch, stream + 1)});
        const torch::Tensor w = encoder->forward(targets);
        const torch::Tensor loss_w =
            (w.narrow(0, 0, options.batch) - batch.w).pow(2).mean() / stats.w_variance;
        torch::Tensor total = options.w_weight * loss_w;
        torch::Tensor per_image, loss_image_generated = torch::zeros({});
        if (with_image_loss) {
            {
                torch::NoGradGuard no_grad;
                image_loss->set_targets(targets);
            }
            per_image = (*image_loss)(synthesize_w(generator, w));
            loss_image_generated = per_image.narrow(0, 0, options.batch).mean();
            total = total + loss_image_generated;
        }
        double loss_photos = 0;
        if (with_photos) {
            const torch::Tensor photo_term = per_image.narrow(0, options.batch, options.photos_per_batch).mean();
            total = total + photo_term;
            loss_photos = photo_term.item<double>();
        }
        optimizer.zero_grad();
        total.backward();
        optimizer.step();
        result.loss_curve.push_back(total.item<double>());

        const bool last = step + 1 == options.steps;
        if (!checkpoint.empty() && ((step + 1) % options.checkpoint_every == 0 || last)) {
            save_checkpoint(checkpoint, encoder, optimizer, step + 1, model_id);
        }
        if (progress) {
            core::ProgressReport report;
            report.unit = "step";
            report.done = static_cast<double>(step + 1);
            report.total = static_cast<double>(options.steps);
            report.figures = {{"loss", total.item<double>()},
                              {"w", loss_w.item<double>()},
                              {"image", loss_image_generated.item<double>()},
                              {"lr", rate}};
            if (with_photos) report.figures.push_back({"photos", loss_photos});
            progress(report);
        }
    }

    encoder->eval();
    torch::NoGradGuard no_grad;
    const GeneratedBatch held_out = generated_batch(generator, stats.w_avg, kHeldOutFaces, options.psi_min, kHeldOutSeed);
    const torch::Tensor w = encoder->forward(held_out.images);
    result.heldout_w_error = ((w - held_out.w).pow(2).mean() / stats.w_variance).item<double>();
    const auto to_uint8 = [](const torch::Tensor& images) {
        return (images * 127.5 + 128).clamp(0, 255).to(torch::kUInt8).to(torch::kFloat64);
    };
    result.heldout_psnr_db = psnr(to_uint8(synthesize_w(generator, w)), to_uint8(held_out.images)).mean().item<double>();
    return result;
}

}  // namespace facegen::project

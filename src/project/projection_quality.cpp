#include "project/projection_quality.h"

#include "core/image_grid.h"
#include "project/projector.h"

namespace facegen::project {

torch::Tensor reconstruct(generate::Session& session, const ProjectedPhoto& photo) {
    torch::InferenceMode inference;
    if (photo.noise.empty()) {
        generate::Request request;
        request.latents = generate::Latents{generate::LatentSpace::WS, photo.ws, "w"};
        return session.synthesize(session.ws_for(request, 0, 1), model::NoiseMode::Const)[0];
    }
    model::SynthesisOptions synthesis;
    synthesis.noise_mode = model::NoiseMode::Random;
    for (const torch::Tensor& map : photo.noise) synthesis.noise.push_back(map.to(session.device()));
    return core::images_to_uint8(session.generator()->synthesize(photo.ws.to(session.device()), synthesis))[0];
}

ReconstructionQuality reconstruction_quality(const torch::Tensor& target, const torch::Tensor& reconstruction) {
    const auto to_nchw = [](const torch::Tensor& t) { return t.permute({0, 3, 1, 2}).to(torch::kFloat64); };
    return {psnr(target, reconstruction).item<double>(),
            ssim(to_nchw(target), to_nchw(reconstruction), 255.0).item<double>()};
}

double identity_distance(const IdentityEmbedder& identity, const torch::Tensor& a, const torch::Tensor& b) {
    torch::InferenceMode inference;
    const torch::Tensor e = identity(torch::cat({to_generator_range(a), to_generator_range(b)}));
    return (e[0] - e[1]).norm().item<double>();
}

ProjectionFigures measure_projection(generate::Session& session, const PhotoProjection& projection,
                                     const IdentityEmbedder& identity) {
    ProjectionFigures out;
    for (const ProjectedPhoto& photo : projection.photos) {
        const torch::Tensor reconstruction = reconstruct(session, photo);
        out.reconstructions.push_back(reconstruction);
        const ReconstructionQuality quality = reconstruction_quality(photo.target.pixels, reconstruction.unsqueeze(0));
        out.psnr_db.push_back(quality.psnr_db);
        out.ssim.push_back(quality.ssim);
        if (identity) {
            out.identity_distance.push_back(identity_distance(identity, photo.target.pixels, reconstruction.unsqueeze(0)));
        }
    }
    return out;
}

}  // namespace facegen::project

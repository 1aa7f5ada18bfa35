#include "train/augment/augment_pipe.h"

#include <cmath>
#include <vector>

namespace facegen::train {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Random draws in float32 (as the official pipeline), from the given generator or the
// default one of the images' device, moved to the images' device.
class Draws {
public:
    Draws(const at::Generator& generator, const torch::Device& device) : device_(device) {
        if (generator.defined()) {
            generator_ = generator;
            draw_device_ = generator.device();
        } else {
            draw_device_ = device;
        }
    }
    torch::Tensor rand(at::IntArrayRef size) const {
        return at::rand(size, generator_, options()).to(device_);
    }
    torch::Tensor randn(at::IntArrayRef size) const {
        return at::randn(size, generator_, options()).to(device_);
    }

private:
    torch::TensorOptions options() const { return torch::TensorOptions(torch::kFloat32).device(draw_device_); }
    c10::optional<at::Generator> generator_;
    torch::Device device_;
    torch::Device draw_device_ = torch::kCPU;
};

// Per-sample probability threshold, computed in float32 like the official
// `multiplier * self.p` on its float32 buffer.
float threshold(double multiplier, double p) { return static_cast<float>(multiplier) * static_cast<float>(p); }

// values where draw < prob, else `otherwise` (the official torch.where gating).
torch::Tensor gate(const torch::Tensor& values, const torch::Tensor& draw, float prob, double otherwise) {
    return torch::where(draw < prob, values, torch::full_like(values, otherwise));
}

// Entry of a batched matrix: a constant or one value per sample.
struct Entry {
    Entry(double value) : constant(value) {}  // NOLINT(google-explicit-constructor)
    Entry(torch::Tensor value) : values(std::move(value)) {}  // NOLINT(google-explicit-constructor)
    double constant = 0;
    torch::Tensor values;
};

// [N, rows, cols] float64 matrices from per-sample entries ([N] tensors or constants).
torch::Tensor batch_matrix(const std::vector<std::vector<Entry>>& rows, int64_t n, const torch::TensorOptions& f64) {
    std::vector<torch::Tensor> flat;
    for (const auto& row : rows) {
        for (const auto& entry : row) {
            flat.push_back(entry.values.defined() ? entry.values.reshape({n}).to(f64)
                                                  : torch::full({n}, entry.constant, f64));
        }
    }
    return torch::stack(flat, /*dim=*/-1).reshape({n, static_cast<int64_t>(rows.size()), -1});
}

torch::Tensor translate2d(Entry tx, Entry ty, int64_t n, const torch::TensorOptions& f64) {
    return batch_matrix({{1, 0, std::move(tx)}, {0, 1, std::move(ty)}, {0, 0, 1}}, n, f64);
}

torch::Tensor scale2d(Entry sx, Entry sy, int64_t n, const torch::TensorOptions& f64) {
    return batch_matrix({{std::move(sx), 0, 0}, {0, std::move(sy), 0}, {0, 0, 1}}, n, f64);
}

torch::Tensor rotate2d(const torch::Tensor& theta, int64_t n, const torch::TensorOptions& f64) {
    const torch::Tensor t = theta.to(f64);
    return batch_matrix({{t.cos(), -t.sin(), 0}, {t.sin(), t.cos(), 0}, {0, 0, 1}}, n, f64);
}

torch::Tensor translate3d(const torch::Tensor& t, int64_t n, const torch::TensorOptions& f64) {
    return batch_matrix({{1, 0, 0, t}, {0, 1, 0, t}, {0, 0, 1, t}, {0, 0, 0, 1}}, n, f64);
}

torch::Tensor scale3d(const torch::Tensor& s, int64_t n, const torch::TensorOptions& f64) {
    return batch_matrix({{s, 0, 0, 0}, {0, s, 0, 0}, {0, 0, s, 0}, {0, 0, 0, 1}}, n, f64);
}

// Rotation by theta around the unit axis v (Rodrigues' formula), homogeneous 4x4.
torch::Tensor rotate3d(const std::vector<double>& v, const torch::Tensor& theta, int64_t n,
                       const torch::TensorOptions& f64) {
    const double vx = v[0], vy = v[1], vz = v[2];
    const torch::Tensor t = theta.to(f64);
    const torch::Tensor s = t.sin(), c = t.cos(), cc = 1 - c;
    return batch_matrix({{vx * vx * cc + c, vx * vy * cc - vz * s, vx * vz * cc + vy * s, 0},
                         {vy * vx * cc + vz * s, vy * vy * cc + c, vy * vz * cc - vx * s, 0},
                         {vz * vx * cc - vy * s, vz * vy * cc + vx * s, vz * vz * cc + c, 0},
                         {0, 0, 0, 1}},
                        n, f64);
}

struct Geometry {
    torch::Tensor g_inv;  // [N, 3, 3]: output pixel -> input pixel
    bool used = false;
};

// Draws of the geometric transformations, composed in the official order.
Geometry draw_geometry(const AugmentOptions& o, double p, const Draws& draws, int64_t n, int64_t h, int64_t w,
                       const torch::TensorOptions& f64) {
    Geometry geo{torch::eye(3, f64).expand({n, 3, 3}), false};
    auto then = [&](const torch::Tensor& m) {
        geo.g_inv = torch::matmul(geo.g_inv, m);
        geo.used = true;
    };
    if (o.xflip() > 0) {
        torch::Tensor i = torch::floor(draws.rand({n}) * 2);
        i = gate(i, draws.rand({n}), threshold(o.xflip(), p), 0);
        then(scale2d((1 - 2 * i.to(f64)).reciprocal(), 1.0, n, f64));
    }
    if (o.rotate90() > 0) {
        torch::Tensor i = torch::floor(draws.rand({n}) * 4);
        i = gate(i, draws.rand({n}), threshold(o.rotate90(), p), 0);
        then(rotate2d(i.to(f64) * (kPi / 2), n, f64));
    }
    if (o.xint() > 0) {
        torch::Tensor t = (draws.rand({n, 2}) * 2 - 1) * o.xint_max();
        t = gate(t, draws.rand({n, 1}), threshold(o.xint(), p), 0);
        const torch::Tensor tx = torch::round(t.select(1, 0) * w), ty = torch::round(t.select(1, 1) * h);
        then(translate2d(-tx.to(f64), -ty.to(f64), n, f64));
    }
    if (o.scale() > 0) {
        torch::Tensor s = torch::exp2(draws.randn({n}) * o.scale_std());
        s = gate(s, draws.rand({n}), threshold(o.scale(), p), 1);
        then(scale2d(s.to(f64).reciprocal(), s.to(f64).reciprocal(), n, f64));
    }
    // Pre- and post-rotation each with p_rot, so that P(pre or post) = rotate * p.
    const float one_minus = std::min(std::max(1.0f - threshold(o.rotate(), p), 0.0f), 1.0f);
    const float p_rot = 1.0f - std::sqrt(one_minus);
    auto draw_rotation = [&] {
        torch::Tensor theta = (draws.rand({n}) * 2 - 1) * kPi * o.rotate_max();
        return gate(theta, draws.rand({n}), p_rot, 0);
    };
    if (o.rotate() > 0) then(rotate2d(draw_rotation(), n, f64));
    if (o.aniso() > 0) {
        torch::Tensor s = torch::exp2(draws.randn({n}) * o.aniso_std());
        s = gate(s, draws.rand({n}), threshold(o.aniso(), p), 1);
        then(scale2d(s.to(f64).reciprocal(), s.to(f64), n, f64));
    }
    if (o.rotate() > 0) then(rotate2d(draw_rotation(), n, f64));
    if (o.xfrac() > 0) {
        torch::Tensor t = draws.randn({n, 2}) * o.xfrac_std();
        t = gate(t, draws.rand({n, 1}), threshold(o.xfrac(), p), 0);
        then(translate2d(-(t.select(1, 0) * w).to(f64), -(t.select(1, 1) * h).to(f64), n, f64));
    }
    return geo;
}

struct Color {
    torch::Tensor matrix;  // [N, 4, 4]: colour_in -> colour_out
    bool used = false;
};

Color draw_color(const AugmentOptions& o, double p, const Draws& draws, int64_t n, int64_t channels,
                 const torch::TensorOptions& f64) {
    const torch::Tensor eye = torch::eye(4, f64);
    Color color{eye.expand({n, 4, 4}), false};
    auto then = [&](const torch::Tensor& m) {
        color.matrix = torch::matmul(m, color.matrix);
        color.used = true;
    };
    // Luma axis: the grey diagonal of RGB space.
    const double inv_sqrt3 = 1 / std::sqrt(3.0);
    const std::vector<double> luma = {inv_sqrt3, inv_sqrt3, inv_sqrt3};
    const torch::Tensor v = torch::tensor({inv_sqrt3, inv_sqrt3, inv_sqrt3, 0.0}, f64);
    const torch::Tensor vv = torch::outer(v, v);
    if (o.brightness() > 0) {
        torch::Tensor b = draws.randn({n}) * o.brightness_std();
        b = gate(b, draws.rand({n}), threshold(o.brightness(), p), 0);
        then(translate3d(b, n, f64));
    }
    if (o.contrast() > 0) {
        torch::Tensor c = torch::exp2(draws.randn({n}) * o.contrast_std());
        c = gate(c, draws.rand({n}), threshold(o.contrast(), p), 1);
        then(scale3d(c, n, f64));
    }
    if (o.lumaflip() > 0) {
        torch::Tensor i = torch::floor(draws.rand({n, 1, 1}) * 2);
        i = gate(i, draws.rand({n, 1, 1}), threshold(o.lumaflip(), p), 0);
        then(eye - 2 * vv * i.to(f64));  // Householder reflection across the plane normal to v
    }
    if (o.hue() > 0 && channels > 1) {
        torch::Tensor theta = (draws.rand({n}) * 2 - 1) * kPi * o.hue_max();
        theta = gate(theta, draws.rand({n}), threshold(o.hue(), p), 0);
        then(rotate3d(luma, theta, n, f64));
    }
    if (o.saturation() > 0 && channels > 1) {
        torch::Tensor s = torch::exp2(draws.randn({n, 1, 1}) * o.saturation_std());
        s = gate(s, draws.rand({n, 1, 1}), threshold(o.saturation(), p), 1);
        then(vv + (eye - vv) * s.to(f64));
    }
    return color;
}

// Per-sample gains of the 4 bands, each band amplified with its own probability and the
// total normalised to the expected power of a 1/f image spectrum.
torch::Tensor draw_band_gains(const AugmentOptions& o, double p, const Draws& draws, int64_t n,
                              const torch::TensorOptions& f32) {
    const auto n_bands = static_cast<int64_t>(o.imgfilter_bands().size());
    const torch::Tensor expected_power =  // 1/f power spectrum over the bands, ADA paper App. B
        torch::tensor({10.0 / 13, 1.0 / 13, 1.0 / 13, 1.0 / 13}, torch::kFloat64).to(f32);
    torch::Tensor gains = torch::ones({n, n_bands}, f32);
    for (int64_t band = 0; band < n_bands; ++band) {
        torch::Tensor t_band = torch::exp2(draws.randn({n}) * o.imgfilter_std());
        const float prob = threshold(o.imgfilter(), p) * static_cast<float>(o.imgfilter_bands()[band]);
        t_band = gate(t_band, draws.rand({n}), prob, 1);
        torch::Tensor t = torch::ones({n, n_bands}, f32);
        t.select(1, band).copy_(t_band);
        t = t / (expected_power * t.square()).sum(-1, /*keepdim=*/true).sqrt();
        gains = gains * t;
    }
    return gains;
}

torch::Tensor add_noise(const torch::Tensor& images, const AugmentOptions& o, double p, const Draws& draws) {
    const int64_t n = images.size(0);
    torch::Tensor sigma = draws.randn({n, 1, 1, 1}).abs() * o.noise_std();
    sigma = gate(sigma, draws.rand({n, 1, 1, 1}), threshold(o.noise(), p), 0);
    const torch::Tensor noise = draws.randn(images.sizes()) * sigma;
    return images + noise.to(images.scalar_type());
}

torch::Tensor apply_cutout(const torch::Tensor& images, const AugmentOptions& o, double p, const Draws& draws) {
    const int64_t n = images.size(0), h = images.size(2), w = images.size(3);
    const auto f32 = torch::TensorOptions(torch::kFloat32).device(images.device());
    torch::Tensor size = torch::full({n, 2, 1, 1, 1}, o.cutout_size(), f32);
    size = gate(size, draws.rand({n, 1, 1, 1, 1}), threshold(o.cutout(), p), 0);
    const torch::Tensor center = draws.rand({n, 2, 1, 1, 1});
    const torch::Tensor coord_x = torch::arange(w, f32).reshape({1, 1, 1, -1});
    const torch::Tensor coord_y = torch::arange(h, f32).reshape({1, 1, -1, 1});
    const torch::Tensor outside_x = ((coord_x + 0.5) / w - center.select(1, 0)).abs() >= size.select(1, 0) / 2;
    const torch::Tensor outside_y = ((coord_y + 0.5) / h - center.select(1, 1)).abs() >= size.select(1, 1) / 2;
    return images * torch::logical_or(outside_x, outside_y).to(images.scalar_type());
}

}  // namespace

AugmentPipeImpl::AugmentPipeImpl(AugmentOptions options) : options_(std::move(options)) { options_.validate(); }

void AugmentPipeImpl::set_p(double p) {
    TORCH_CHECK(p >= 0 && std::isfinite(p), "AugmentPipe: p must be finite and >= 0, got ", p);
    p_ = p;
}

torch::Tensor AugmentPipeImpl::forward(const torch::Tensor& images, const at::Generator& generator) {
    TORCH_CHECK(images.dim() == 4 && images.is_floating_point(),
                "AugmentPipe: expected floating images [N, C, H, W], got ", images.sizes(), " ", images.scalar_type());
    const AugmentOptions& o = options_;
    const bool any_enabled = o.any_geometric() || o.any_color() || o.imgfilter() > 0 || o.noise() > 0 || o.cutout() > 0;
    if (p_ == 0 || !any_enabled || images.size(0) == 0) return images;

    const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
    TORCH_CHECK(o.imgfilter() == 0 || (h > 21 && w > 21), "AugmentPipe: imgfilter needs images larger than 21x21, got ",
                images.sizes());
    const auto f64 = torch::TensorOptions(torch::kFloat64).device(images.device());
    const auto f32 = torch::TensorOptions(torch::kFloat32).device(images.device());
    const Draws draws(generator, images.device());

    torch::Tensor x = images;
    const Geometry geometry = draw_geometry(o, p_, draws, n, h, w, f64);
    if (geometry.used) x = apply_geometric_transform(x, geometry.g_inv);

    const Color color = draw_color(o, p_, draws, n, c, f64);
    if (color.used) x = apply_color_transform(x, color.matrix);

    if (o.imgfilter() > 0) x = apply_band_filter(x, draw_band_gains(o, p_, draws, n, f32));
    if (o.noise() > 0) x = add_noise(x, o, p_, draws);
    if (o.cutout() > 0) x = apply_cutout(x, o, p_, draws);
    return x;
}

}  // namespace facegen::train

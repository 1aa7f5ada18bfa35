#include "model/flops.h"

namespace facegen::model {

double generator_forward_flops(const GeneratorConfig& c) {
    double flops = 0;
    int64_t in_features = c.z_dim + (c.c_dim > 0 ? c.w_dim : 0);
    for (int64_t i = 0; i < c.n_mapping_layers; ++i) {
        flops += 2.0 * double(in_features) * double(c.w_dim);
        in_features = c.w_dim;
    }
    auto modulated = [&](int64_t in, int64_t out, int64_t kernel_area) {
        // affine + modulate + demodulate (sum of squares) per sample
        return 2.0 * double(c.w_dim) * double(in) + 3.0 * double(in) * double(out) * double(kernel_area);
    };
    const double c_img = double(c.img_channels);
    for (const int64_t r : c.block_resolutions()) {
        const double pixels = double(r) * double(r);
        const int64_t out = c.channels_at(r);
        if (r > 4) {
            const int64_t in = c.channels_at(r / 2);
            flops += modulated(in, out, 9) + 2.0 * double(in) * double(out) * 9 * (pixels / 4) +
                     2.0 * 16 * double(out) * pixels;  // conv0: transposed 3x3 + FIR
            flops += 2.0 * 16 * c_img * pixels;       // skip path: upsample the previous RGB
        }
        flops += modulated(out, out, 9) + 2.0 * double(out) * double(out) * 9 * pixels;  // conv1
        flops += modulated(out, c.img_channels, 1) + 2.0 * double(out) * c_img * pixels;  // toRGB
    }
    return flops;
}

double discriminator_forward_flops(const DiscriminatorConfig& config) {
    const double c_img = double(config.img_channels);
    double flops = 0;
    for (int64_t r = config.resolution; r > 4; r /= 2) {
        const double tmp = double(config.channels_at(r)), out = double(config.channels_at(r / 2)), rr = double(r * r);
        if (r == config.resolution) flops += 2.0 * c_img * tmp * rr;  // fromrgb
        flops += 2.0 * 9 * tmp * tmp * rr;                             // conv0
        flops += 2.0 * 16 * tmp * rr + 2.0 * 9 * tmp * out * (rr / 4);  // conv1: FIR + strided 3x3
        flops += 2.0 * 16 * tmp * rr + 2.0 * tmp * out * (rr / 4);      // skip: FIR + 1x1
    }
    const double c = double(config.channels_at(4));
    flops += 2.0 * 9 * (c + double(config.mbstd_num_channels)) * c * 16 + 2.0 * c * 16 * c + 2.0 * c;
    return flops;
}

}  // namespace facegen::model

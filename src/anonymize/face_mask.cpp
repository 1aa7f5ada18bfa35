#include "anonymize/face_mask.h"

#include <algorithm>
#include <cmath>

namespace facegen::anonymize {

double FaceMask::weight(double u, double v) const {
    const double dx = (u - centre_x) / radius_x, dy = (v - centre_y) / radius_y;
    const double r = std::sqrt(dx * dx + dy * dy);
    if (r >= 1.0) return 0.0;
    const double inner = 1.0 - feather;
    if (r <= inner) return 1.0;
    const double t = (1.0 - r) / feather;  // 0 at the rim .. 1 at the inner edge
    return t * t * (3.0 - 2.0 * t);        // smoothstep: no visible edge where the fade starts or ends
}

torch::Tensor FaceMask::sampled(int64_t side) const {
    torch::Tensor out = torch::empty({side, side}, torch::kFloat32);
    auto a = out.accessor<float, 2>();
    const auto s = static_cast<double>(side);
    for (int64_t y = 0; y < side; ++y) {
        for (int64_t x = 0; x < side; ++x) {
            a[y][x] = static_cast<float>(weight((static_cast<double>(x) + 0.5) / s, (static_cast<double>(y) + 0.5) / s));
        }
    }
    return out;
}

FaceMask face_mask_for(double crop_scale) {
    // At crop scale 1 (fractions of the FFHQ square): brows near 0.38, chin near 0.86,
    // cheeks at 0.27 and 0.73. The ellipse stays a little inside the jaw and below the
    // hairline, where the generated and the real face agree after alignment.
    FaceMask mask;
    const double k = 1.0 / crop_scale;
    mask.centre_x = 0.5;
    mask.centre_y = 0.5 + (0.585 - 0.5) * k;
    mask.radius_x = 0.22 * k;
    mask.radius_y = 0.28 * k;
    mask.feather = 0.3;
    return mask;
}

}  // namespace facegen::anonymize

#include "anonymize/face_paste.h"

#include <algorithm>
#include <cmath>

namespace facegen::anonymize {
namespace {

/// Photo position of aligned position (u, v) (fractions of the side) for `quad`.
data::Point2 photo_point(const data::FFHQQuad& quad, double u, double v) {
    const data::Point2 ul = quad.corners[0];
    const data::Point2 du{quad.corners[3].x - ul.x, quad.corners[3].y - ul.y};
    const data::Point2 dv{quad.corners[1].x - ul.x, quad.corners[1].y - ul.y};
    return {ul.x + u * du.x + v * dv.x, ul.y + u * du.y + v * dv.y};
}

float bilinear(const torch::TensorAccessor<float, 3>& image, int64_t side, double x, double y, int64_t c) {
    x = std::clamp(x, 0.0, static_cast<double>(side - 1));
    y = std::clamp(y, 0.0, static_cast<double>(side - 1));
    const auto x0 = static_cast<int64_t>(std::floor(x)), y0 = static_cast<int64_t>(std::floor(y));
    const int64_t x1 = std::min(x0 + 1, side - 1), y1 = std::min(y0 + 1, side - 1);
    const auto fx = static_cast<float>(x - static_cast<double>(x0)), fy = static_cast<float>(y - static_cast<double>(y0));
    return (image[y0][x0][c] * (1 - fx) + image[y0][x1][c] * fx) * (1 - fy) +
           (image[y1][x0][c] * (1 - fx) + image[y1][x1][c] * fx) * fy;
}

/// Writes `value` blended with the photo's pixel by `weight`; true when a byte changed.
bool blend_pixel(uint8_t* pixel, const float* value, double weight) {
    bool changed = false;
    for (int c = 0; c < 3; ++c) {
        const double mixed = weight * value[c] + (1.0 - weight) * pixel[c];
        const auto byte = static_cast<uint8_t>(std::clamp(std::nearbyint(mixed), 0.0, 255.0));
        changed |= byte != pixel[c];
        pixel[c] = byte;
    }
    return changed;
}

}  // namespace

PixelBox mask_box(const data::FFHQQuad& quad, const FaceMask& mask, int64_t photo_width, int64_t photo_height) {
    double x0 = 1e300, y0 = 1e300, x1 = -1e300, y1 = -1e300;
    for (const double su : {-1.0, 1.0}) {
        for (const double sv : {-1.0, 1.0}) {
            const data::Point2 p =
                photo_point(quad, mask.centre_x + su * mask.radius_x, mask.centre_y + sv * mask.radius_y);
            x0 = std::min(x0, p.x), y0 = std::min(y0, p.y), x1 = std::max(x1, p.x), y1 = std::max(y1, p.y);
        }
    }
    PixelBox box;
    box.left = std::clamp<int64_t>(static_cast<int64_t>(std::floor(x0)) - 1, 0, photo_width);
    box.top = std::clamp<int64_t>(static_cast<int64_t>(std::floor(y0)) - 1, 0, photo_height);
    box.right = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(x1)) + 2, 0, photo_width);
    box.bottom = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(y1)) + 2, 0, photo_height);
    return box;
}

torch::Tensor mask_in_photo(const data::FFHQQuad& quad, const FaceMask& mask, const PixelBox& box) {
    torch::Tensor out = torch::zeros({std::max<int64_t>(box.bottom - box.top, 0), std::max<int64_t>(box.right - box.left, 0)});
    auto a = out.accessor<float, 2>();
    for (int64_t y = box.top; y < box.bottom; ++y) {
        for (int64_t x = box.left; x < box.right; ++x) {
            // ffhq_project gives aligned pixel coordinates (centres at integers) of side 1.
            const data::Point2 q = data::ffhq_project(quad, {static_cast<double>(x), static_cast<double>(y)}, 1);
            a[y - box.top][x - box.left] = static_cast<float>(mask.weight(q.x + 0.5, q.y + 0.5));
        }
    }
    return out;
}

int64_t paste_face(data::RgbImage& photo, const data::FFHQQuad& quad, const FaceMask& mask,
                   const torch::Tensor& aligned_face) {
    TORCH_CHECK(aligned_face.dim() == 3 && aligned_face.size(0) == aligned_face.size(1) && aligned_face.size(2) == 3,
                "paste_face: expected an aligned face [R, R, 3], got ", aligned_face.sizes());
    const int64_t side = aligned_face.size(0);
    const torch::Tensor face = aligned_face.to(torch::kFloat32).contiguous();
    const auto pixels = face.accessor<float, 3>();
    const PixelBox box = mask_box(quad, mask, photo.width, photo.height);
    const torch::Tensor weights = mask_in_photo(quad, mask, box);
    const auto w = weights.accessor<float, 2>();
    int64_t changed = 0;
    for (int64_t y = box.top; y < box.bottom; ++y) {
        for (int64_t x = box.left; x < box.right; ++x) {
            const double weight = w[y - box.top][x - box.left];
            if (weight <= 0) continue;
            const data::Point2 q =
                data::ffhq_project(quad, {static_cast<double>(x), static_cast<double>(y)}, side);
            float value[3];
            for (int c = 0; c < 3; ++c) value[c] = bilinear(pixels, side, q.x, q.y, c);
            changed += blend_pixel(photo.at(x, y), value, weight) ? 1 : 0;
        }
    }
    return changed;
}

int64_t blur_face(data::RgbImage& photo, const data::FFHQQuad& quad, const FaceMask& mask) {
    const PixelBox box = mask_box(quad, mask, photo.width, photo.height);
    if (box.area() <= 0) return 0;
    const int64_t h = box.bottom - box.top, w = box.right - box.left;
    torch::Tensor region = torch::empty({h, w, 3}, torch::kUInt8);
    for (int64_t y = 0; y < h; ++y) std::copy_n(photo.at(box.left, box.top + y), w * 3, region[y].data_ptr<uint8_t>());
    // A Gaussian of a sixth of the face's width leaves a skin-coloured shape: no eyes, no mouth.
    const double sigma = std::max(2.0, quad.qsize * mask.radius_x / 3.0);
    const auto radius = static_cast<int64_t>(std::ceil(2.5 * sigma));
    const torch::Tensor taps = torch::arange(-radius, radius + 1, torch::kFloat32);
    torch::Tensor kernel = torch::exp(-taps.pow(2) / (2 * sigma * sigma));
    kernel = kernel / kernel.sum();
    torch::Tensor x = region.permute({2, 0, 1}).unsqueeze(1).to(torch::kFloat32);  // [3, 1, h, w]
    x = torch::nn::functional::pad(x, torch::nn::functional::PadFuncOptions({radius, radius, radius, radius}).mode(torch::kReplicate));
    x = torch::conv2d(x, kernel.view({1, 1, 1, -1}));
    x = torch::conv2d(x, kernel.view({1, 1, -1, 1}));
    const torch::Tensor blurred = x.squeeze(1).permute({1, 2, 0}).contiguous();
    const auto b = blurred.accessor<float, 3>();
    const torch::Tensor weights = mask_in_photo(quad, mask, box);
    const auto wa = weights.accessor<float, 2>();
    int64_t changed = 0;
    for (int64_t y = 0; y < h; ++y) {
        for (int64_t x0 = 0; x0 < w; ++x0) {
            const double weight = wa[y][x0];
            if (weight <= 0) continue;
            const float value[3] = {b[y][x0][0], b[y][x0][1], b[y][x0][2]};
            changed += blend_pixel(photo.at(box.left + x0, box.top + y), value, weight) ? 1 : 0;
        }
    }
    return changed;
}

}  // namespace facegen::anonymize

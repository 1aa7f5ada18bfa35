#include "data/face_align.h"

#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_transforms.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <c10/util/Exception.h>

#include "core/error.h"

namespace facegen::data {
namespace {

Point2 operator+(Point2 a, Point2 b) { return {a.x + b.x, a.y + b.y}; }
Point2 operator-(Point2 a, Point2 b) { return {a.x - b.x, a.y - b.y}; }
Point2 operator*(Point2 a, double s) { return {a.x * s, a.y * s}; }
double norm(Point2 a) { return std::hypot(a.x, a.y); }

Point2 mean_of(const std::vector<Point2>& points, size_t begin, size_t end) {
    Point2 sum;
    for (size_t i = begin; i < end; ++i) sum = sum + points[i];
    return sum * (1.0 / static_cast<double>(end - begin));
}

// A float HWC image used between the FFHQ steps.
struct FloatImage {
    int64_t width = 0, height = 0;
    std::vector<float> data;
    float* at(int64_t x, int64_t y) { return data.data() + (y * width + x) * 3; }
    const float* at(int64_t x, int64_t y) const { return data.data() + (y * width + x) * 3; }
};

// numpy.pad(mode='reflect'): mirrored about the edge pixel, which is not repeated.
int64_t reflect_index(int64_t i, int64_t n) {
    if (n == 1) return 0;
    const int64_t period = 2 * (n - 1);
    i %= period;
    if (i < 0) i += period;
    return i < n ? i : period - i;
}

// scipy.ndimage mode='reflect': mirrored about the edge, edge pixel repeated.
int64_t symmetric_index(int64_t i, int64_t n) {
    const int64_t period = 2 * n;
    i %= period;
    if (i < 0) i += period;
    return i < n ? i : period - 1 - i;
}

void gaussian_blur_inplace(FloatImage& image, double sigma) {
    if (sigma <= 0) return;
    const int64_t radius = static_cast<int64_t>(4.0 * sigma + 0.5);  // scipy's truncate=4.0
    std::vector<float> kernel(static_cast<size_t>(2 * radius + 1));
    double sum = 0;
    for (int64_t k = -radius; k <= radius; ++k) sum += std::exp(-0.5 * static_cast<double>(k * k) / (sigma * sigma));
    for (int64_t k = -radius; k <= radius; ++k) {
        kernel[static_cast<size_t>(k + radius)] = static_cast<float>(std::exp(-0.5 * static_cast<double>(k * k) / (sigma * sigma)) / sum);
    }
    // One channel plane at a time through a mirrored line buffer keeps the inner loop a
    // plain dot product (this blur dominates the cost of aligning small photos).
    const int64_t w = image.width, h = image.height;
    std::vector<float> line(static_cast<size_t>(std::max(w, h) + 2 * radius));
    std::vector<float> plane(static_cast<size_t>(w * h));
    const float* k0 = kernel.data();
    const auto n_taps = static_cast<int64_t>(kernel.size());
    for (int c = 0; c < 3; ++c) {
        for (int64_t i = 0; i < w * h; ++i) plane[static_cast<size_t>(i)] = image.data[static_cast<size_t>(i * 3 + c)];
        auto convolve = [&](float* data, int64_t n, int64_t stride) {
            for (int64_t i = -radius; i < n + radius; ++i) {
                line[static_cast<size_t>(i + radius)] = data[symmetric_index(i, n) * stride];
            }
            for (int64_t i = 0; i < n; ++i) {
                const float* src = line.data() + i;
                float acc = 0;
                for (int64_t k = 0; k < n_taps; ++k) acc += k0[k] * src[k];
                data[i * stride] = acc;
            }
        };
        for (int64_t y = 0; y < h; ++y) convolve(plane.data() + y * w, w, 1);
        for (int64_t x = 0; x < w; ++x) convolve(plane.data() + x, h, w);
        for (int64_t i = 0; i < w * h; ++i) image.data[static_cast<size_t>(i * 3 + c)] = plane[static_cast<size_t>(i)];
    }
}

float median_of_channel(const FloatImage& image, int channel) {
    std::vector<float> values(static_cast<size_t>(image.width * image.height));
    for (size_t i = 0; i < values.size(); ++i) values[i] = image.data[i * 3 + static_cast<size_t>(channel)];
    const size_t mid = values.size() / 2;
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid), values.end());
    const float upper = values[mid];
    if (values.size() % 2 == 1) return upper;
    const float lower = *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid));
    return 0.5f * (lower + upper);
}

// Reflect-pads by (left, top, right, bottom), blurs the synthetic border and fades it to
// the median colour (FFHQ: "pad with reflect + blur + mask blend").
RgbImage pad_reflect_blend(const RgbImage& image, const std::array<int64_t, 4>& pad, double qsize) {
    FloatImage f;
    f.width = image.width + pad[0] + pad[2];
    f.height = image.height + pad[1] + pad[3];
    f.data.resize(static_cast<size_t>(f.width * f.height * 3));
    for (int64_t y = 0; y < f.height; ++y) {
        const int64_t sy = reflect_index(y - pad[1], image.height);
        for (int64_t x = 0; x < f.width; ++x) {
            const uint8_t* s = image.at(reflect_index(x - pad[0], image.width), sy);
            float* d = f.at(x, y);
            for (int c = 0; c < 3; ++c) d[c] = s[c];
        }
    }
    auto ratio = [](double num, int64_t den) { return den > 0 ? num / static_cast<double>(den) : 1e30; };
    std::vector<float> mask(static_cast<size_t>(f.width * f.height));
    for (int64_t y = 0; y < f.height; ++y) {
        for (int64_t x = 0; x < f.width; ++x) {
            const double mx = 1.0 - std::min(ratio(x, pad[0]), ratio(f.width - 1 - x, pad[2]));
            const double my = 1.0 - std::min(ratio(y, pad[1]), ratio(f.height - 1 - y, pad[3]));
            mask[static_cast<size_t>(y * f.width + x)] = static_cast<float>(std::max(mx, my));
        }
    }
    FloatImage blurred = f;
    gaussian_blur_inplace(blurred, qsize * 0.02);
    for (size_t i = 0; i < mask.size(); ++i) {
        const float w = std::clamp(mask[i] * 3.0f + 1.0f, 0.0f, 1.0f);
        for (size_t c = 0; c < 3; ++c) f.data[i * 3 + c] += (blurred.data[i * 3 + c] - f.data[i * 3 + c]) * w;
    }
    const float median[3] = {median_of_channel(f, 0), median_of_channel(f, 1), median_of_channel(f, 2)};
    RgbImage out(f.width, f.height);
    for (size_t i = 0; i < mask.size(); ++i) {
        const float w = std::clamp(mask[i], 0.0f, 1.0f);
        for (size_t c = 0; c < 3; ++c) {
            const float v = f.data[i * 3 + c] + (median[c] - f.data[i * 3 + c]) * w;
            out.pixels[i * 3 + c] = static_cast<uint8_t>(std::clamp(std::nearbyint(v), 0.0f, 255.0f));
        }
    }
    return out;
}

void sample_bilinear(const RgbImage& image, double x, double y, double* out) {
    x = std::clamp(x, 0.0, static_cast<double>(image.width - 1));
    y = std::clamp(y, 0.0, static_cast<double>(image.height - 1));
    const auto x0 = static_cast<int64_t>(std::floor(x));
    const auto y0 = static_cast<int64_t>(std::floor(y));
    const int64_t x1 = std::min(x0 + 1, image.width - 1);
    const int64_t y1 = std::min(y0 + 1, image.height - 1);
    const double fx = x - static_cast<double>(x0), fy = y - static_cast<double>(y0);
    const uint8_t *a = image.at(x0, y0), *b = image.at(x1, y0), *c = image.at(x0, y1), *d = image.at(x1, y1);
    for (int ch = 0; ch < 3; ++ch) {
        out[ch] += (a[ch] * (1 - fx) + b[ch] * fx) * (1 - fy) + (c[ch] * (1 - fx) + d[ch] * fx) * fy;
    }
}

dlib::array2d<dlib::rgb_pixel> to_dlib(const RgbImage& image) {
    dlib::array2d<dlib::rgb_pixel> out(image.height, image.width);
    for (int64_t y = 0; y < image.height; ++y) {
        for (int64_t x = 0; x < image.width; ++x) {
            const uint8_t* p = image.at(x, y);
            out[y][x] = dlib::rgb_pixel(p[0], p[1], p[2]);
        }
    }
    return out;
}

}  // namespace

std::string to_string(AlignMode mode) {
    switch (mode) {
        case AlignMode::kFFHQ: return "ffhq";
        case AlignMode::kCenterCrop: return "center-crop";
        case AlignMode::kNone: return "none";
    }
    return "?";
}

AlignMode parse_align_mode(const std::string& text) {
    if (text == "ffhq") return AlignMode::kFFHQ;
    if (text == "center-crop") return AlignMode::kCenterCrop;
    if (text == "none") return AlignMode::kNone;
    throw make_error("bad alignment '", text, "' (expected ffhq, center-crop or none)");
}

std::string to_string(FacePolicy policy) {
    switch (policy) {
        case FacePolicy::kLargest: return "largest";
        case FacePolicy::kAll: return "all";
        case FacePolicy::kSkip: return "skip";
    }
    return "?";
}

FacePolicy parse_face_policy(const std::string& text) {
    if (text == "largest") return FacePolicy::kLargest;
    if (text == "all") return FacePolicy::kAll;
    if (text == "skip") return FacePolicy::kSkip;
    throw make_error("bad face policy '", text, "' (expected largest, all or skip)");
}

FFHQQuad ffhq_quad(const std::vector<Point2>& lm, double crop_scale) {
    TORCH_CHECK(lm.size() == 68, "ffhq_quad: expected 68 landmarks, got ", lm.size());
    TORCH_CHECK(crop_scale > 0, "ffhq_quad: crop_scale must be > 0, got ", crop_scale);
    FFHQQuad q;
    // iBUG 68-point layout: 36-41 left eye, 42-47 right eye, 48 and 54 the mouth corners.
    q.eye_left = mean_of(lm, 36, 42);
    q.eye_right = mean_of(lm, 42, 48);
    q.eye_avg = (q.eye_left + q.eye_right) * 0.5;
    q.eye_to_eye = q.eye_right - q.eye_left;
    q.mouth_avg = (lm[48] + lm[54]) * 0.5;
    q.eye_to_mouth = q.mouth_avg - q.eye_avg;
    // x = eye_to_eye - flipud(eye_to_mouth) * [-1, 1]: the mouth direction rotated by 90
    // degrees averages with the eye line, so a tilted mouth or eye line alone sways it less.
    Point2 x = q.eye_to_eye - Point2{-q.eye_to_mouth.y, q.eye_to_mouth.x};
    const double len = norm(x);
    TORCH_CHECK(len > 0, "ffhq_quad: degenerate landmarks (eyes and mouth coincide)");
    x = x * (std::max(norm(q.eye_to_eye) * 2.0, norm(q.eye_to_mouth) * 1.8) * crop_scale / len);
    const Point2 y{-x.y, x.x};  // y = flipud(x) * [-1, 1]
    q.x = x;
    q.y = y;
    q.center = q.eye_avg + q.eye_to_mouth * 0.1;
    q.corners = {q.center - x - y, q.center - x + y, q.center + x + y, q.center + x - y};
    q.qsize = norm(x) * 2;
    return q;
}

Point2 ffhq_project(const FFHQQuad& quad, Point2 p, int64_t resolution) {
    // Inverse of p = UL + s * (UR - UL) + t * (LL - UL) with UR - UL = 2x, LL - UL = 2y.
    const Point2 d = p - quad.corners[0];
    const Point2 u = quad.x * 2.0, v = quad.y * 2.0;
    const double det = u.x * v.y - u.y * v.x;
    const double s = (d.x * v.y - d.y * v.x) / det;
    const double t = (u.x * d.y - u.y * d.x) / det;
    const auto r = static_cast<double>(resolution);
    return {s * r - 0.5, t * r - 0.5};
}

RgbImage resize_area(const RgbImage& source, int64_t width, int64_t height) {
    TORCH_CHECK(width > 0 && height > 0 && !source.empty(), "resize_area: bad size ", width, "x", height);
    RgbImage out(width, height);
    const double sx = static_cast<double>(source.width) / static_cast<double>(width);
    const double sy = static_cast<double>(source.height) / static_cast<double>(height);
    if (sx < 1.0 || sy < 1.0) {
        for (int64_t y = 0; y < height; ++y) {
            for (int64_t x = 0; x < width; ++x) {
                double acc[3] = {0, 0, 0};
                sample_bilinear(source, (static_cast<double>(x) + 0.5) * sx - 0.5, (static_cast<double>(y) + 0.5) * sy - 0.5, acc);
                for (int c = 0; c < 3; ++c) out.at(x, y)[c] = static_cast<uint8_t>(std::clamp(std::nearbyint(acc[c]), 0.0, 255.0));
            }
        }
        return out;
    }
    // Box filter: each output pixel averages the source area it covers, with fractional
    // weights at the footprint's edges.
    for (int64_t y = 0; y < height; ++y) {
        const double y0 = static_cast<double>(y) * sy, y1 = y0 + sy;
        for (int64_t x = 0; x < width; ++x) {
            const double x0 = static_cast<double>(x) * sx, x1 = x0 + sx;
            double acc[3] = {0, 0, 0};
            double total = 0;
            for (auto iy = static_cast<int64_t>(std::floor(y0)); iy < std::min<int64_t>(static_cast<int64_t>(std::ceil(y1)), source.height); ++iy) {
                const double wy = std::min(y1, static_cast<double>(iy + 1)) - std::max(y0, static_cast<double>(iy));
                for (auto ix = static_cast<int64_t>(std::floor(x0)); ix < std::min<int64_t>(static_cast<int64_t>(std::ceil(x1)), source.width); ++ix) {
                    const double w = wy * (std::min(x1, static_cast<double>(ix + 1)) - std::max(x0, static_cast<double>(ix)));
                    const uint8_t* p = source.at(ix, iy);
                    for (int c = 0; c < 3; ++c) acc[c] += w * p[c];
                    total += w;
                }
            }
            for (int c = 0; c < 3; ++c) out.at(x, y)[c] = static_cast<uint8_t>(std::clamp(std::nearbyint(acc[c] / total), 0.0, 255.0));
        }
    }
    return out;
}

RgbImage center_crop(const RgbImage& source, int64_t resolution) {
    const int64_t side = std::min(source.width, source.height);
    RgbImage square(side, side);
    const int64_t x0 = (source.width - side) / 2, y0 = (source.height - side) / 2;
    for (int64_t y = 0; y < side; ++y) std::memcpy(square.at(0, y), source.at(x0, y0 + y), static_cast<size_t>(side * 3));
    return side == resolution ? square : resize_area(square, resolution, resolution);
}

RgbImage ffhq_crop(const RgbImage& source, const FFHQQuad& q, int64_t resolution, CropReport* report) {
    TORCH_CHECK(resolution > 0 && !source.empty(), "ffhq_crop: bad resolution ", resolution);
    std::array<Point2, 4> quad = q.corners;
    double qsize = q.qsize;
    const double original_qsize = q.qsize;
    RgbImage image = source;
    // Region of the real photo inside the working image (moves with shrink/crop/pad).
    double real_x0 = 0, real_y0 = 0, real_x1 = static_cast<double>(source.width), real_y1 = static_cast<double>(source.height);

    auto bounds = [&] {
        double x0 = 1e300, y0 = 1e300, x1 = -1e300, y1 = -1e300;
        for (const auto& p : quad) x0 = std::min(x0, p.x), y0 = std::min(y0, p.y), x1 = std::max(x1, p.x), y1 = std::max(y1, p.y);
        return std::array<int64_t, 4>{static_cast<int64_t>(std::floor(x0)), static_cast<int64_t>(std::floor(y0)),
                                      static_cast<int64_t>(std::ceil(x1)), static_cast<int64_t>(std::ceil(y1))};
    };

    const auto shrink = static_cast<int64_t>(std::floor(qsize / static_cast<double>(resolution) * 0.5));
    if (shrink > 1) {
        const auto w = static_cast<int64_t>(std::nearbyint(static_cast<double>(image.width) / static_cast<double>(shrink)));
        const auto h = static_cast<int64_t>(std::nearbyint(static_cast<double>(image.height) / static_cast<double>(shrink)));
        const double fx = static_cast<double>(w) / static_cast<double>(image.width);
        const double fy = static_cast<double>(h) / static_cast<double>(image.height);
        image = resize_area(image, w, h);
        for (auto& p : quad) p = {p.x / static_cast<double>(shrink), p.y / static_cast<double>(shrink)};
        qsize /= static_cast<double>(shrink);
        real_x1 *= fx, real_y1 *= fy;
    }

    const int64_t border = std::max<int64_t>(static_cast<int64_t>(std::nearbyint(qsize * 0.1)), 3);
    auto crop = bounds();
    crop = {std::max<int64_t>(crop[0] - border, 0), std::max<int64_t>(crop[1] - border, 0),
            std::min(crop[2] + border, image.width), std::min(crop[3] + border, image.height)};
    if ((crop[2] - crop[0] < image.width || crop[3] - crop[1] < image.height) && crop[2] > crop[0] && crop[3] > crop[1]) {
        RgbImage cropped(crop[2] - crop[0], crop[3] - crop[1]);
        for (int64_t y = 0; y < cropped.height; ++y) {
            std::memcpy(cropped.at(0, y), image.at(crop[0], crop[1] + y), static_cast<size_t>(cropped.width * 3));
        }
        image = std::move(cropped);
        for (auto& p : quad) p = p - Point2{static_cast<double>(crop[0]), static_cast<double>(crop[1])};
        real_x0 -= static_cast<double>(crop[0]), real_x1 -= static_cast<double>(crop[0]);
        real_y0 -= static_cast<double>(crop[1]), real_y1 -= static_cast<double>(crop[1]);
    }

    auto pad = bounds();
    pad = {std::max<int64_t>(-pad[0] + border, 0), std::max<int64_t>(-pad[1] + border, 0),
           std::max<int64_t>(pad[2] - image.width + border, 0), std::max<int64_t>(pad[3] - image.height + border, 0)};
    if (*std::max_element(pad.begin(), pad.end()) > border - 4) {
        const auto at_least = static_cast<int64_t>(std::nearbyint(qsize * 0.3));
        for (auto& p : pad) p = std::max(p, at_least);
        image = pad_reflect_blend(image, pad, qsize);
        for (auto& p : quad) p = p + Point2{static_cast<double>(pad[0]), static_cast<double>(pad[1])};
        real_x0 += static_cast<double>(pad[0]), real_x1 += static_cast<double>(pad[0]);
        real_y0 += static_cast<double>(pad[1]), real_y1 += static_cast<double>(pad[1]);
    }

    // The oriented square, sampled at 4x4 points per output pixel (FFHQ renders at 4096 and
    // downsizes with a Lanczos filter; supersampling + box gives the same antialiasing).
    constexpr int kTaps = 4;
    const Point2 ul = quad[0], du = quad[3] - quad[0], dv = quad[1] - quad[0];
    const auto r = static_cast<double>(resolution);
    RgbImage out(resolution, resolution);
    int64_t n_padded = 0;
    for (int64_t y = 0; y < resolution; ++y) {
        for (int64_t x = 0; x < resolution; ++x) {
            double acc[3] = {0, 0, 0};
            for (int ty = 0; ty < kTaps; ++ty) {
                const double t = (static_cast<double>(y) + (ty + 0.5) / kTaps) / r;
                for (int tx = 0; tx < kTaps; ++tx) {
                    const double s = (static_cast<double>(x) + (tx + 0.5) / kTaps) / r;
                    sample_bilinear(image, ul.x + s * du.x + t * dv.x, ul.y + s * du.y + t * dv.y, acc);
                }
            }
            const double s = (static_cast<double>(x) + 0.5) / r, t = (static_cast<double>(y) + 0.5) / r;
            const double cx = ul.x + s * du.x + t * dv.x + 0.5, cy = ul.y + s * du.y + t * dv.y + 0.5;
            if (cx < real_x0 || cx > real_x1 || cy < real_y0 || cy > real_y1) ++n_padded;
            for (int c = 0; c < 3; ++c) {
                out.at(x, y)[c] = static_cast<uint8_t>(std::clamp(std::nearbyint(acc[c] / (kTaps * kTaps)), 0.0, 255.0));
            }
        }
    }
    if (report != nullptr) {
        report->pad_fraction = static_cast<double>(n_padded) / (r * r);
        report->source_scale = original_qsize / r;
    }
    return out;
}

LandmarkPredictor::LandmarkPredictor(const std::string& path) {
    if (!std::filesystem::is_regular_file(path)) {
        throw make_error("landmark model '", path, "' not found (Debian package libdlib-data installs it; any dlib 68-landmark model file will do)");
    }
    auto predictor = std::make_shared<dlib::shape_predictor>();
    try {
        dlib::deserialize(path) >> *predictor;
    } catch (const std::exception& e) {
        throw make_error("read landmark model '", path, "' failed: ", e.what());
    }
    if (predictor->num_parts() != 68) {
        throw make_error("landmark model '", path, "' has ", predictor->num_parts(), " points; need 68");
    }
    predictor_ = std::move(predictor);
}

LandmarkPredictor::~LandmarkPredictor() = default;

std::vector<Point2> LandmarkPredictor::landmarks_in(const RgbImage& image, double left, double top, double right,
                                                    double bottom) const {
    const dlib::array2d<dlib::rgb_pixel> pixels = to_dlib(image);
    const dlib::rectangle box(std::lround(left), std::lround(top), std::lround(right), std::lround(bottom));
    const dlib::full_object_detection shape = (*predictor_)(pixels, box);
    std::vector<Point2> points;
    for (unsigned long k = 0; k < shape.num_parts(); ++k) {
        points.push_back({static_cast<double>(shape.part(k).x()), static_cast<double>(shape.part(k).y())});
    }
    return points;
}

struct FaceDetector::Impl {
    std::shared_ptr<const dlib::shape_predictor> predictor;
    dlib::frontal_face_detector detector = dlib::get_frontal_face_detector();
    int upsample = 0;
};

FaceDetector::FaceDetector(const std::string& predictor_path, int upsample) : impl_(std::make_unique<Impl>()) {
    impl_->predictor = LandmarkPredictor(predictor_path).predictor_;
    impl_->upsample = upsample;
}

FaceDetector::FaceDetector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FaceDetector::~FaceDetector() = default;

std::unique_ptr<FaceDetector> FaceDetector::clone() const {
    auto impl = std::make_unique<Impl>();
    impl->predictor = impl_->predictor;
    impl->upsample = impl_->upsample;
    return std::unique_ptr<FaceDetector>(new FaceDetector(std::move(impl)));
}

std::vector<FaceDetection> FaceDetector::detect(const RgbImage& image) {
    auto run = [&](const RgbImage& img, int64_t offset) {
        dlib::array2d<dlib::rgb_pixel> pixels = to_dlib(img);
        int scale = 1;
        for (int i = 0; i < impl_->upsample; ++i) {
            dlib::pyramid_up(pixels);
            scale *= 2;
        }
        std::vector<dlib::rect_detection> found;
        impl_->detector(pixels, found, /*adjust_threshold=*/0.0);
        std::vector<FaceDetection> faces;
        dlib::array2d<dlib::rgb_pixel> original;
        if (scale > 1) original = to_dlib(img);
        for (const auto& detection : found) {
            const dlib::rectangle& r = detection.rect;
            // pyramid_up doubles each side; map the box back to the unscaled image.
            const dlib::rectangle box(r.left() / scale, r.top() / scale, r.right() / scale, r.bottom() / scale);
            const dlib::full_object_detection shape = (*impl_->predictor)(scale > 1 ? original : pixels, box);
            FaceDetection face;
            face.left = static_cast<double>(box.left() - offset);
            face.top = static_cast<double>(box.top() - offset);
            face.right = static_cast<double>(box.right() - offset);
            face.bottom = static_cast<double>(box.bottom() - offset);
            face.score = detection.detection_confidence;
            for (unsigned long k = 0; k < shape.num_parts(); ++k) {
                face.landmarks.push_back({static_cast<double>(shape.part(k).x() - offset),
                                          static_cast<double>(shape.part(k).y() - offset)});
            }
            faces.push_back(std::move(face));
        }
        return faces;
    };
    std::vector<FaceDetection> faces = run(image, 0);
    if (faces.empty()) {
        // Tight crops (UTKFace) cut off the margin the HOG window needs: retry with a
        // mirrored border of a quarter of the shorter side.
        const int64_t border = std::min(image.width, image.height) / 4;
        RgbImage padded(image.width + 2 * border, image.height + 2 * border);
        for (int64_t y = 0; y < padded.height; ++y) {
            const int64_t sy = reflect_index(y - border, image.height);
            for (int64_t x = 0; x < padded.width; ++x) {
                std::memcpy(padded.at(x, y), image.at(reflect_index(x - border, image.width), sy), 3);
            }
        }
        faces = run(padded, border);
        // A face found in the mirrored border is a reflection, not a face of the photo.
        faces.erase(std::remove_if(faces.begin(), faces.end(),
                                   [&](const FaceDetection& f) {
                                       const double cx = 0.5 * (f.left + f.right), cy = 0.5 * (f.top + f.bottom);
                                       return cx < 0 || cy < 0 || cx >= static_cast<double>(image.width) ||
                                              cy >= static_cast<double>(image.height);
                                   }),
                    faces.end());
    }
    std::sort(faces.begin(), faces.end(), [](const FaceDetection& a, const FaceDetection& b) { return a.area() > b.area(); });
    return faces;
}

}  // namespace facegen::data

// identity_verification: how well the identity network (src/identity) tells people apart on
// real photos, as one JSON document. CelebA-6k photos are aligned as facegen aligns its data
// (FFHQ rule at crop scale 0.7, 64 px like the bundled model's outputs, and 150 px for
// comparison), embedded through face chips cut at several boxes, and every pair of photos
// scored: same-person and different-person distance statistics, ROC AUC, and balanced
// verification accuracy at dlib's 0.6 and at the best threshold. The reference row runs the
// network on dlib's own face chips (extract_image_chip from the photo), which checks the
// network apart from facegen's crop. It also measures where dlib's chip lies in the aligned
// square (the geometry behind identity::chip_box).

#include <dlib/image_processing.h>
#include <dlib/image_transforms.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "bench_main.h"
#include "core/atomic_file.h"
#include "core/device.h"
#include "core/error.h"
#include "core/summary.h"
#include "data/face_align.h"
#include "data/image_io.h"
#include "facenet/calibration.h"
#include "facenet/face_crop.h"
#include "identity/face_recognition.h"

namespace {

using namespace facegen;
using nlohmann::json;

struct BenchParams {
    std::string data = "../shared/data/celeba-6k";
    std::string model = identity::kDefaultFaceRecognitionPath;
    std::string landmarks_model = data::kDefaultPredictorPath;
    int people = 100;
    int photos = 5;
    int threads = 2;
    double crop_scale = 0.7;  // facegen's training data and generator outputs
};

struct Photo {
    std::string name;
    int person = 0;
    torch::Tensor aligned_64;   // uint8 [64, 64, 3]
    torch::Tensor aligned_150;  // uint8 [150, 150, 3]
    torch::Tensor dlib_chip;    // uint8 [150, 150, 3]
    // dlib's chip in the aligned square: centre and side as fractions of its side, rotation.
    double chip_x = 0, chip_y = 0, chip_side = 0, chip_angle = 0;
};

std::vector<std::pair<std::string, int>> pick_photos(const BenchParams& params) {
    const std::filesystem::path list = std::filesystem::path(params.data) / "identity_celeba.txt";
    std::ifstream in(list);
    if (!in) throw make_error("cannot read '", list.string(), "'");
    std::map<int, std::vector<std::string>> by_person;
    std::string name;
    int person = 0;
    while (in >> name >> person) by_person[person].push_back(name);
    std::vector<std::pair<std::string, int>> picked;
    int n_people = 0;
    for (auto& [id, names] : by_person) {
        if (n_people == params.people) break;
        if (static_cast<int>(names.size()) < params.photos) continue;
        std::sort(names.begin(), names.end());
        for (int i = 0; i < params.photos; ++i) picked.emplace_back(names[static_cast<size_t>(i)], id);
        ++n_people;
    }
    if (n_people < params.people) {
        throw make_error("'", list.string(), "' has only ", n_people, " people with ", params.photos, " photos");
    }
    return picked;
}

torch::Tensor rgb_tensor(const data::RgbImage& image) {
    return torch::from_blob(const_cast<uint8_t*>(image.pixels.data()), {image.height, image.width, 3}, torch::kUInt8)
        .clone();
}

void measure_chip(Photo& photo, const data::RgbImage& image, const data::FaceDetection& face, double crop_scale) {
    std::vector<dlib::point> parts;
    for (const auto& p : face.landmarks) parts.emplace_back(std::lround(p.x), std::lround(p.y));
    const dlib::rectangle box(std::lround(face.left), std::lround(face.top), std::lround(face.right),
                              std::lround(face.bottom));
    const dlib::full_object_detection shape(box, parts);
    const dlib::chip_details chip = dlib::get_face_chip_details(shape, identity::kChipSide, /*padding=*/0.25);

    dlib::array2d<dlib::rgb_pixel> source(image.height, image.width);
    for (int64_t y = 0; y < image.height; ++y) {
        for (int64_t x = 0; x < image.width; ++x) {
            const uint8_t* px = image.at(x, y);
            source[y][x] = dlib::rgb_pixel(px[0], px[1], px[2]);
        }
    }
    dlib::matrix<dlib::rgb_pixel> extracted;
    dlib::extract_image_chip(source, chip, extracted);
    photo.dlib_chip = torch::empty({identity::kChipSide, identity::kChipSide, 3}, torch::kUInt8);
    auto* dst = photo.dlib_chip.data_ptr<uint8_t>();
    for (long y = 0; y < extracted.nr(); ++y) {
        for (long x = 0; x < extracted.nc(); ++x) {
            const dlib::rgb_pixel px = extracted(y, x);
            uint8_t* out = dst + (y * identity::kChipSide + x) * 3;
            out[0] = px.red;
            out[1] = px.green;
            out[2] = px.blue;
        }
    }

    const data::FFHQQuad quad = data::ffhq_quad(face.landmarks, crop_scale);
    constexpr int64_t kFine = 1 << 20;  // ffhq_project's pixel centres, at negligible pixel size
    const dlib::dpoint centre = dlib::center(chip.rect);
    const data::Point2 p = data::ffhq_project(quad, {centre.x(), centre.y()}, kFine);
    photo.chip_x = (p.x + 0.5) / static_cast<double>(kFine);
    photo.chip_y = (p.y + 0.5) / static_cast<double>(kFine);
    photo.chip_side = chip.rect.width() / quad.qsize;
    photo.chip_angle = chip.angle - std::atan2(quad.x.y, quad.x.x);
}

std::vector<Photo> align_photos(const BenchParams& params) {
    const auto picked = pick_photos(params);
    std::vector<Photo> photos(picked.size());
    std::atomic<size_t> next{0};
    std::mutex error_mutex;
    std::string first_error;
    data::FaceDetector prototype(params.landmarks_model, /*upsample=*/1);
    auto work = [&] {
        std::unique_ptr<data::FaceDetector> detector = prototype.clone();
        for (size_t i = next++; i < picked.size(); i = next++) {
            try {
                const auto& [name, person] = picked[i];
                const std::filesystem::path path = std::filesystem::path(params.data) / name;
                const data::RgbImage image = data::decode_image(core::read_file(path), path.string()).image;
                data::FaceDetection face;
                Photo& photo = photos[i];
                photo.name = name;
                photo.person = person;
                photo.aligned_64 = facenet::aligned_face(image, name, *detector, params.crop_scale, 64, &face)[0];
                // The same alignment at 150 px from the same landmarks (aligned_face would
                // detect again and find the same face).
                photo.aligned_150 = rgb_tensor(data::ffhq_crop(image, data::ffhq_quad(face.landmarks, params.crop_scale), 150));
                measure_chip(photo, image, face, params.crop_scale);
            } catch (const std::exception& e) {
                std::lock_guard<std::mutex> lock(error_mutex);
                std::fprintf(stderr, "identity_verification: skipped: %s\n", e.what());
            }
        }
    };
    std::vector<std::thread> workers;
    for (int t = 0; t < std::max(1, params.threads); ++t) workers.emplace_back(work);
    for (auto& w : workers) w.join();
    photos.erase(std::remove_if(photos.begin(), photos.end(), [](const Photo& p) { return !p.aligned_64.defined(); }),
                 photos.end());
    return photos;
}

torch::Tensor embed_chips(identity::FaceRecognitionNet& net, const torch::Tensor& chips) {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> out;
    for (int64_t i = 0; i < chips.size(0); i += 32) out.push_back(net->forward(chips.slice(0, i, i + 32)));
    return torch::cat(out);
}

// uint8 [N, S, S, 3] -> float [N, 3, S, S] in [-1, 1].
torch::Tensor to_unit_range(const torch::Tensor& hwc) {
    return hwc.permute({0, 3, 1, 2}).to(torch::kFloat32).div(127.5).sub(1.0).contiguous();
}

json distance_stats(const std::vector<double>& d) {
    const core::Summary s = core::summarize(d);
    return {{"pairs", s.n}, {"mean", s.mean}, {"median", s.median}, {"p05", s.p05}, {"p95", s.p95}};
}

json mean_and_spread(const std::vector<double>& values) {
    const core::Summary s = core::summarize(values);
    return {{"mean", s.mean}, {"p05", s.p05}, {"p95", s.p95}};
}

// Balanced accuracy at `threshold`: mean of the same-person accept rate and the
// different-person reject rate (pairs are far from balanced: ~1 same to 200 different).
double balanced_accuracy(const std::vector<double>& same, const std::vector<double>& diff, double threshold) {
    const auto accepted = static_cast<double>(std::count_if(same.begin(), same.end(), [&](double v) { return v < threshold; }));
    const auto rejected = static_cast<double>(std::count_if(diff.begin(), diff.end(), [&](double v) { return v >= threshold; }));
    return 0.5 * (accepted / static_cast<double>(same.size()) + rejected / static_cast<double>(diff.size()));
}

json verification(const torch::Tensor& descriptors, const std::vector<int>& persons) {
    const torch::Tensor d = torch::cdist(descriptors.to(torch::kFloat64), descriptors.to(torch::kFloat64));
    const auto acc = d.accessor<double, 2>();
    std::vector<double> same, diff;
    for (size_t i = 0; i < persons.size(); ++i) {
        for (size_t j = i + 1; j < persons.size(); ++j) {
            (persons[i] == persons[j] ? same : diff).push_back(acc[static_cast<int64_t>(i)][static_cast<int64_t>(j)]);
        }
    }
    // ROC AUC = P(different-person distance > same-person distance), ties counted half:
    // the distance is the score and a different person the positive class.
    std::vector<double> distances = diff;
    distances.insert(distances.end(), same.begin(), same.end());
    std::vector<int> different(distances.size(), 0);
    std::fill(different.begin(), different.begin() + static_cast<std::ptrdiff_t>(diff.size()), 1);
    const double auc = facenet::roc_auc(distances, different);
    double best_threshold = identity::kSamePersonDistance, best_accuracy = 0;
    for (double t = 0.2; t <= 1.2; t += 0.005) {
        const double a = balanced_accuracy(same, diff, t);
        if (a > best_accuracy) best_accuracy = a, best_threshold = t;
    }
    return {{"same_person", distance_stats(same)},
            {"different_person", distance_stats(diff)},
            {"roc_auc", auc},
            {"accuracy_at_0.6", balanced_accuracy(same, diff, identity::kSamePersonDistance)},
            {"best_threshold", best_threshold},
            {"accuracy_at_best", best_accuracy}};
}

json chip_geometry(const std::vector<Photo>& photos, double crop_scale) {
    std::vector<double> xs, ys, sides, angles;
    for (const Photo& p : photos) {
        xs.push_back(p.chip_x);
        ys.push_back(p.chip_y);
        sides.push_back(p.chip_side);
        angles.push_back(p.chip_angle * 180.0 / M_PI);
    }
    auto mean = [](const std::vector<double>& v) { return core::summarize(v).mean; };
    const identity::ChipBox box = identity::chip_box(crop_scale);
    return {{"what", "dlib's face chip (150 px, padding 0.25) in the aligned square, fractions of its side"},
            {"centre_x", mean_and_spread(xs)},
            {"centre_y", mean_and_spread(ys)},
            {"side", mean_and_spread(sides)},
            {"rotation_deg", mean_and_spread(angles)},
            {"at_crop_scale_1",
             {{"offset_x", (mean(xs) - 0.5) * crop_scale},
              {"offset_y", (mean(ys) - 0.5) * crop_scale},
              {"side", mean(sides) * crop_scale}}},
            {"chip_box_used", {{"centre_x", box.center_x}, {"centre_y", box.center_y}, {"side", box.side}}}};
}

struct Variant {
    std::string name;
    identity::ChipBox box;
};

void run(const BenchParams& params, const std::string& command_line) {
    core::set_cpu_threads(params.threads);
    const auto start = std::chrono::steady_clock::now();
    identity::FaceRecognitionNet net = identity::load_face_recognition(params.model);
    const std::vector<Photo> photos = align_photos(params);
    const double align_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::vector<int> persons;
    std::vector<torch::Tensor> a64, a150, chips;
    for (const Photo& p : photos) {
        persons.push_back(p.person);
        a64.push_back(p.aligned_64);
        a150.push_back(p.aligned_150);
        chips.push_back(p.dlib_chip);
    }
    const torch::Tensor images_64 = to_unit_range(torch::stack(a64));
    const torch::Tensor images_150 = to_unit_range(torch::stack(a150));

    const identity::ChipBox chosen = identity::chip_box(params.crop_scale);
    auto scaled = [&](double side_factor, double shift_y) {
        return identity::ChipBox{chosen.center_x, chosen.center_y + shift_y, chosen.side * side_factor};
    };
    // The chosen box's top edge with the bottom at the aligned image's edge: no border
    // repeated, the face larger than the chips dlib's network learnt from.
    const double inside_side = 1.0 - (chosen.center_y - chosen.side / 2);
    const std::vector<Variant> variants = {
        {"chip_box", chosen},
        {"side_x0.9", scaled(0.9, 0)},
        {"side_x1.1", scaled(1.1, 0)},
        {"shift_up_0.05", scaled(1.0, -0.05)},
        {"shift_down_0.05", scaled(1.0, 0.05)},
        {"whole_image", {0.5, 0.5, 1.0}},
        {"inside_image", {0.5, 1.0 - inside_side / 2, inside_side}},
    };

    json result;
    result["command"] = command_line;
    result["data"] = params.data;
    result["people"] = params.people;
    result["photos_per_person"] = params.photos;
    result["photos_aligned"] = photos.size();
    result["crop_scale"] = params.crop_scale;
    result["chip_geometry"] = chip_geometry(photos, params.crop_scale);
    result["reference_dlib_chips_from_photo"] = verification(embed_chips(net, torch::stack(chips).permute({0, 3, 1, 2}).to(torch::kFloat32)), persons);
    for (const Variant& v : variants) {
        json row;
        row["box"] = {{"centre_x", v.box.center_x}, {"centre_y", v.box.center_y}, {"side", v.box.side}};
        row["aligned_64"] = verification(embed_chips(net, identity::face_chips(images_64, v.box)), persons);
        row["aligned_150"] = verification(embed_chips(net, identity::face_chips(images_150, v.box)), persons);
        result["crops"][v.name] = row;
        std::fprintf(stderr, "identity_verification: %s: AUC 64 px %.4f, 150 px %.4f\n", v.name.c_str(),
                     row["aligned_64"]["roc_auc"].get<double>(), row["aligned_150"]["roc_auc"].get<double>());
    }
    result["seconds"] = {{"align", align_s},
                         {"total", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()}};
    std::printf("%s\n", result.dump(2).c_str());
}

}  // namespace

int main(int argc, char** argv) {
    BenchParams params;
    CLI::App app{"Identity network figures on CelebA-6k: distances, ROC AUC, verification accuracy (JSON on stdout)"};
    app.add_option("--data", params.data, "CelebA-6k folder (photos + identity_celeba.txt)")->capture_default_str();
    app.add_option("--model", params.model, "Face recognition network file")->capture_default_str();
    app.add_option("--landmarks-model", params.landmarks_model, "dlib's 68-landmark model")->capture_default_str();
    app.add_option("--people", params.people, "People (those with enough photos, by id)")->capture_default_str();
    app.add_option("--photos", params.photos, "Photos per person")->capture_default_str();
    app.add_option("--threads", params.threads, "Worker and LibTorch threads")->capture_default_str();
    app.add_option("--crop-scale", params.crop_scale, "FFHQ crop scale of the alignment")->capture_default_str();
    return facegen::bench::run_bench_main(app, argc, argv, [&](const std::string& command_line) { run(params, command_line); });
}

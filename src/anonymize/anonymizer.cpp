#include "anonymize/anonymizer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "anonymize/colour_match.h"
#include "attributes/catalogue.h"
#include "core/error.h"
#include "generate/bundled_model.h"
#include "project/target_face.h"

namespace facegen::anonymize {
namespace {

/// Side at which a photo's face is scored: the classifier reads 64, head pose reads better from more.
constexpr int64_t kScoringSide = 256;
/// Side at which identity is compared (the network's chip is 150; 128 costs nothing measurable, docs/identity.md).
constexpr int64_t kIdentitySide = 128;
/// Candidates this much beyond the identity threshold (before pasting) are tried first.
constexpr double kFarMargin = 0.2;

torch::Tensor to_tensor(const data::RgbImage& image) {
    return torch::from_blob(const_cast<uint8_t*>(image.pixels.data()), {image.height, image.width, 3}, torch::kUInt8)
        .clone();
}

double score_of(const attributes::AttributeScores& scores, const char* name) {
    return scores.at(static_cast<size_t>(attributes::attribute_index(name)));
}

FaceTraits traits_from(const attributes::AttributeScores& scores) {
    FaceTraits t;
    t.age = score_of(scores, "age");
    t.gender = score_of(scores, "gender");
    t.smiling = score_of(scores, "smiling");
    t.brightness = score_of(scores, "brightness");
    t.yaw = score_of(scores, "yaw");
    t.pitch = score_of(scores, "pitch");
    return t;
}

nlohmann::json to_json(const FaceTraits& t) {
    return {{"age", t.age},           {"gender", t.gender}, {"smiling", t.smiling},
            {"brightness", t.brightness}, {"yaw", t.yaw},       {"pitch", t.pitch}};
}

double distance(const torch::Tensor& a, const torch::Tensor& b) {
    return identity::descriptor_distance(a, b).item<double>();
}

/// The bytes of `box` of `image`, to undo a paste that did not remove the identity.
struct SavedRegion {
    PixelBox box;
    std::vector<uint8_t> bytes;
};

SavedRegion save_region(const data::RgbImage& image, const PixelBox& box) {
    SavedRegion saved{box, {}};
    const int64_t row = (box.right - box.left) * 3;
    if (row <= 0) return saved;
    for (int64_t y = box.top; y < box.bottom; ++y) {
        saved.bytes.insert(saved.bytes.end(), image.at(box.left, y), image.at(box.left, y) + row);
    }
    return saved;
}

void restore_region(data::RgbImage& image, const SavedRegion& saved) {
    const int64_t row = (saved.box.right - saved.box.left) * 3;
    if (row <= 0) return;
    for (int64_t y = saved.box.top; y < saved.box.bottom; ++y) {
        std::memcpy(image.at(saved.box.left, y), saved.bytes.data() + (y - saved.box.top) * row, static_cast<size_t>(row));
    }
}

}  // namespace

std::string to_string(FaceOutcome::Action action) {
    switch (action) {
        case FaceOutcome::Action::kReplaced: return "replaced";
        case FaceOutcome::Action::kBlurred: return "blurred";
        case FaceOutcome::Action::kKept: return "kept";
    }
    return "kept";
}

int64_t AnonymizedPhoto::n_replaced() const {
    return std::count_if(faces.begin(), faces.end(), [](const FaceOutcome& f) { return f.action == FaceOutcome::Action::kReplaced; });
}

int64_t AnonymizedPhoto::n_blurred() const {
    return std::count_if(faces.begin(), faces.end(), [](const FaceOutcome& f) { return f.action == FaceOutcome::Action::kBlurred; });
}

bool AnonymizedPhoto::unchanged() const { return n_replaced() == 0 && n_blurred() == 0; }

nlohmann::json to_json(const FaceOutcome& face) {
    nlohmann::json out = {{"action", to_string(face.action)},
                          {"box", {face.box.left, face.box.top, face.box.right, face.box.bottom}},
                          {"face_px", face.face_px},
                          {"original", to_json(face.original)},
                          {"pixels_changed", face.pixels_changed}};
    if (!face.reason.empty()) out["warning"] = face.reason;
    if (face.replacement) {
        out["replacement"] = to_json(*face.replacement);
        out["replacement"]["seed"] = *face.seed;
        out["replacement"]["mirrored"] = face.mirrored;
        out["replacement"]["mismatch"] = face.mismatch;
        out["identity_distance"] = face.identity_distance;
    }
    if (face.found_in_output) {
        out["verify"] = {{"found_in_output", *face.found_in_output}};
        if (face.output_identity_distance) out["verify"]["identity_distance"] = *face.output_identity_distance;
        if (face.output) out["verify"]["attributes"] = to_json(*face.output);
    }
    return out;
}

nlohmann::json to_json(const AnonymizedPhoto& photo) {
    nlohmann::json faces = nlohmann::json::array();
    for (const FaceOutcome& face : photo.faces) faces.push_back(to_json(face));
    return {{"width", photo.image.width},
            {"height", photo.image.height},
            {"faces_found", photo.faces.size()},
            {"faces_replaced", photo.n_replaced()},
            {"faces_blurred", photo.n_blurred()},
            {"faces_kept", static_cast<int64_t>(photo.faces.size()) - photo.n_replaced() - photo.n_blurred()},
            {"unchanged", photo.unchanged()},
            {"pixels_changed_outside_masks", photo.pixels_changed_outside_masks},
            {"seconds", photo.seconds},
            {"faces", faces}};
}

Anonymizer::Anonymizer(const AnonymizerModels& models, const AnonymizeOptions& options,
                       const core::ProgressCallback& progress)
    : options_(options),
      session_(models.generator),
      classifier_([&] {
          options.validate();
          const std::optional<std::filesystem::path> path =
              models.classifier.empty() ? attributes::default_classifier_path() : models.classifier;
          if (!path) {
              throw make_error("no attribute classifier given and none is shipped (models/",
                               attributes::kBundledClassifierFileName, ")");
          }
          return attributes::AttributeClassifier::load(*path);
      }()),
      identity_net_([&] {
          std::filesystem::path path = models.face_recognition;
          if (path.empty()) {
              const auto shipped = generate::find_shipped_file("facegen-face-recognition.safetensors");
              if (!shipped) {
                  throw make_error("anonymising measures identity with the face recognition network, and none is "
                                   "shipped (models/facegen-face-recognition.safetensors)");
              }
              path = *shipped;
          }
          return identity::load_face_recognition(path);
      }()),
      detector_(std::make_unique<data::FaceDetector>(models.landmarks.string(), /*upsample=*/1)),
      predictor_(std::make_unique<data::LandmarkPredictor>(models.landmarks.string())),
      mask_(face_mask_for(options.crop_scale)) {
    pool_ = std::make_unique<CandidatePool>(session_, classifier_, options_, progress);
}

Anonymizer::~Anonymizer() = default;

provenance::ImageProvenance Anonymizer::provenance_for(int64_t n_replaced) const {
    generate::Request request;
    request.seeds = {options_.pool_first_seed};
    request.truncation_psi = options_.truncation_psi;
    provenance::ImageProvenance info = session_.provenance_for(request);
    info.seed.reset();
    info.composite = std::to_string(n_replaced) + (n_replaced == 1 ? " face" : " faces") +
                     " replaced by people who do not exist (facegen anonymize)";
    info.watermark = options_.watermark;
    return info;
}

std::vector<Anonymizer::Located> Anonymizer::locate_faces(const data::RgbImage& photo) {
    // As for projection targets: HOG detection on a huge photo takes minutes and gigabytes,
    // so faces are searched on a reduced copy and their landmarks found again at full size.
    const int64_t longer = std::max(photo.width, photo.height);
    const double reduction =
        longer > project::kDetectionMaxSide ? static_cast<double>(longer) / project::kDetectionMaxSide : 1.0;
    std::vector<data::FaceDetection> found;
    if (reduction > 1.0) {
        found = detector_->detect(data::resize_area(photo, std::max<int64_t>(1, std::lround(photo.width / reduction)),
                                                    std::max<int64_t>(1, std::lround(photo.height / reduction))));
        for (data::FaceDetection& face : found) {
            face.left *= reduction, face.top *= reduction, face.right *= reduction, face.bottom *= reduction;
            face.landmarks = predictor_->landmarks_in(photo, face.left, face.top, face.right, face.bottom);
        }
    } else {
        found = detector_->detect(photo);
    }
    std::vector<Located> out;
    for (data::FaceDetection& face : found) {
        const data::FFHQQuad quad = data::ffhq_quad(face.landmarks, options_.crop_scale);
        out.push_back({std::move(face), quad});
    }
    return out;
}

torch::Tensor Anonymizer::identity_descriptor(const data::RgbImage& photo, const data::FFHQQuad& quad) {
    torch::InferenceMode inference;
    const torch::Tensor aligned = to_tensor(data::ffhq_crop(photo, quad, kIdentitySide));
    const torch::Tensor image = aligned.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32) / 127.5 - 1.0;
    return identity::embed_aligned_faces(identity_net_, image, options_.crop_scale).clone();
}

FaceTraits Anonymizer::traits_of(const data::RgbImage& photo, const data::FFHQQuad& quad) {
    return traits_from(classifier_.score(to_tensor(data::ffhq_crop(photo, quad, kScoringSide)).unsqueeze(0)).front());
}

FaceOutcome Anonymizer::replace_face(data::RgbImage& image, const Located& face) {
    FaceOutcome out;
    const data::FFHQQuad& quad = face.quad;
    out.box = {std::lround(face.detection.left), std::lround(face.detection.top), std::lround(face.detection.right),
               std::lround(face.detection.bottom)};
    out.face_px = quad.qsize;
    const attributes::AttributeScores scores =
        classifier_.score(to_tensor(data::ffhq_crop(image, quad, kScoringSide)).unsqueeze(0)).front();
    out.original = traits_from(scores);

    auto fall_back = [&](std::string reason) {
        out.reason = std::move(reason);
        if (options_.fallback == Fallback::kBlur) {
            out.action = FaceOutcome::Action::kBlurred;
            out.pixels_changed = blur_face(image, quad, mask_);
        } else {
            out.action = FaceOutcome::Action::kKept;
        }
        return out;
    };
    if (quad.qsize < options_.min_face_px) {
        return fall_back("face too small to replace: " + std::to_string(std::lround(quad.qsize)) + " px across, minimum " +
                         std::to_string(std::lround(options_.min_face_px)));
    }
    if (std::abs(out.original.yaw) > options_.max_pose_degrees || std::abs(out.original.pitch) > options_.max_pose_degrees) {
        return fall_back("face turned too far to replace: yaw " + std::to_string(std::lround(out.original.yaw)) +
                         ", pitch " + std::to_string(std::lround(out.original.pitch)) + " degrees, limit " +
                         std::to_string(std::lround(options_.max_pose_degrees)));
    }

    const torch::Tensor original_identity = identity_descriptor(image, quad);
    const int64_t side = session_.config().resolution;
    const torch::Tensor reference = to_tensor(data::ffhq_crop(image, quad, side));
    const torch::Tensor weights = mask_.sampled(side);
    const PixelBox box = mask_box(quad, mask_, image.width, image.height);
    // Among the candidates nearest in attributes, those far from this person's identity
    // come first: the photo's own jaw line and hair stay, and pull a pasted face back
    // towards the person, so a candidate just over the threshold rarely stays over it.
    std::vector<std::pair<int64_t, double>> far, near;
    for (const int64_t index : pool_->nearest(scores, options_.max_tries * 8)) {
        const double d = distance(pool_->descriptor(index, identity_net_, options_.crop_scale), original_identity);
        if (d < options_.min_identity_distance) continue;
        (d >= options_.min_identity_distance + kFarMargin ? far : near).emplace_back(index, d);
    }
    far.insert(far.end(), near.begin(), near.end());
    int64_t tries = 0;
    double best_distance = 0;
    for (const auto& [index, raw_distance] : far) {
        if (++tries > options_.max_tries) break;
        const Candidate& candidate = pool_->at(index);
        const SavedRegion saved = save_region(image, box);
        const int64_t changed = paste_face(image, quad, mask_, match_colour(candidate.pixels, reference, weights));
        const double pasted_distance = distance(identity_descriptor(image, quad), original_identity);
        if (pasted_distance >= options_.min_identity_distance) {
            out.action = FaceOutcome::Action::kReplaced;
            out.replacement = traits_from(candidate.scores);
            out.seed = candidate.seed;
            out.mirrored = candidate.mirrored;
            out.mismatch = attribute_mismatch(scores, candidate.scores);
            out.identity_distance = pasted_distance;
            out.pixels_changed = changed;
            return out;
        }
        best_distance = std::max(best_distance, pasted_distance);
        restore_region(image, saved);
    }
    return fall_back("no generated face far enough from this person's identity: best " +
                     std::to_string(best_distance).substr(0, 5) + " after " + std::to_string(std::min(tries, options_.max_tries)) +
                     " tries (needed " + std::to_string(options_.min_identity_distance).substr(0, 4) + ")");
}

void Anonymizer::verify(const data::RgbImage& result, std::vector<FaceOutcome>& faces,
                        const std::vector<Located>& located, const std::vector<torch::Tensor>& originals) {
    const std::vector<Located> found = locate_faces(result);
    for (size_t i = 0; i < faces.size(); ++i) {
        if (faces[i].action == FaceOutcome::Action::kKept) continue;
        // The face found again: the output detection whose centre is nearest the original's,
        // within half the original box's width.
        const data::FaceDetection& before = located[i].detection;
        const double cx = (before.left + before.right) / 2, cy = (before.top + before.bottom) / 2;
        const Located* match = nullptr;
        double best = (before.right - before.left) / 2;
        for (const Located& candidate : found) {
            const double d = std::hypot((candidate.detection.left + candidate.detection.right) / 2 - cx,
                                        (candidate.detection.top + candidate.detection.bottom) / 2 - cy);
            if (d < best) best = d, match = &candidate;
        }
        faces[i].found_in_output = match != nullptr;
        if (match == nullptr) continue;
        faces[i].output = traits_of(result, match->quad);
        if (originals[i].defined()) faces[i].output_identity_distance = distance(identity_descriptor(result, match->quad), originals[i]);
    }
}

AnonymizedPhoto Anonymizer::anonymize(const data::RgbImage& photo, const std::string& name) {
    const auto start = std::chrono::steady_clock::now();
    if (photo.width * photo.height > options_.max_pixels) {
        throw make_error("photo '", name, "' is ", photo.width, "x", photo.height, " = ", photo.width * photo.height,
                         " pixels, over the limit of ", options_.max_pixels);
    }
    AnonymizedPhoto out;
    out.image = photo;
    const std::vector<Located> located = locate_faces(photo);
    std::vector<torch::Tensor> originals;
    for (const Located& face : located) {
        originals.push_back(options_.verify ? identity_descriptor(photo, face.quad) : torch::Tensor());
        out.faces.push_back(replace_face(out.image, face));
    }
    if (options_.verify && !out.unchanged()) verify(out.image, out.faces, located, originals);

    // Counted rather than assumed: every changed pixel must lie under some face's mask.
    for (int64_t y = 0; y < photo.height; ++y) {
        if (std::memcmp(photo.at(0, y), out.image.at(0, y), static_cast<size_t>(photo.width * 3)) == 0) continue;
        for (int64_t x = 0; x < photo.width; ++x) {
            if (std::memcmp(photo.at(x, y), out.image.at(x, y), 3) == 0) continue;
            const bool masked = std::any_of(located.begin(), located.end(), [&](const Located& face) {
                const data::Point2 q = data::ffhq_project(face.quad, {static_cast<double>(x), static_cast<double>(y)}, 1);
                return mask_.weight(q.x + 0.5, q.y + 0.5) > 0;
            });
            if (!masked) ++out.pixels_changed_outside_masks;
        }
    }
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return out;
}

}  // namespace facegen::anonymize

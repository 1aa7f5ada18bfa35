#include "edit/edit_measurement.h"

#include <algorithm>
#include <chrono>

#include "attributes/catalogue.h"
#include "core/error.h"
#include "identity/face_recognition.h"

namespace facegen::edit {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

double ms_per_image_since(Clock::time_point start, int64_t n) {
    return 1000 * std::chrono::duration<double>(Clock::now() - start).count() / static_cast<double>(n);
}

/// Classifier readings as float64 [faces, attributes].
torch::Tensor scores_tensor(const std::vector<attributes::AttributeScores>& scores) {
    torch::Tensor out = torch::empty({static_cast<int64_t>(scores.size()), static_cast<int64_t>(scores.front().size())},
                                     torch::kFloat64);
    for (size_t i = 0; i < scores.size(); ++i) {
        for (size_t a = 0; a < scores[i].size(); ++a) out[static_cast<int64_t>(i)][static_cast<int64_t>(a)] = scores[i][a];
    }
    return out;
}

/// Readings float64 [n] of one attribute in its edit units (attributes::to_edit_units).
torch::Tensor in_edit_units(const attributes::AttributeSpec& spec, const torch::Tensor& readings) {
    torch::Tensor out = readings.contiguous().clone();
    double* values = out.data_ptr<double>();
    for (int64_t i = 0; i < out.numel(); ++i) values[i] = attributes::to_edit_units(spec, values[i]);
    return out;
}

/// Root-mean-square pixel difference per image pair, in 0..255.
torch::Tensor rms_difference(const torch::Tensor& a, const torch::Tensor& b) {
    return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).pow(2).mean({1, 2, 3}).sqrt();
}

/// Share of faces (0..1) where any edit stopped short.
double limited_share(const std::vector<std::vector<EditOutcome>>& outcomes) {
    double limited = 0;
    for (const auto& face : outcomes) {
        limited += std::any_of(face.begin(), face.end(), [](const EditOutcome& o) { return o.limited; });
    }
    return limited / static_cast<double>(outcomes.size());
}

/// "Close" to a target: within 7 years of age, 0.1 of a probability, 10% of another unit's range.
double close_enough(const attributes::AttributeSpec& spec) {
    const auto [lo, hi] = allowed_range(spec.name, /*absolute=*/true);
    if (spec.name == "age") return 7.0;
    return spec.kind == attributes::AttributeKind::kProbability ? 0.1 : 0.1 * (hi - lo);
}

/// The faces of one measurement and what every edit of them is compared with.
class EditBench {
public:
    EditBench(generate::Session& session, const torch::Tensor& ws, attributes::AttributeClassifier& classifier,
              const FaceDescriptors& descriptors, int64_t batch)
        : session_(session), ws_(ws), classifier_(classifier), descriptors_(descriptors), batch_(batch), n_(ws.size(0)) {
        session_.synthesize(ws_.narrow(0, 0, std::min(batch_, n_)), model::NoiseMode::Const);  // warm-up, not timed
        const auto start = Clock::now();
        std::vector<torch::Tensor> chunks;
        for (int64_t begin = 0; begin < n_; begin += batch_) {
            chunks.push_back(session_.synthesize(ws_.narrow(0, begin, std::min(batch_, n_ - begin)), model::NoiseMode::Const));
        }
        originals_ = torch::cat(chunks);
        plain_ms_ = ms_per_image_since(start, n_);
        before_ = scores(originals_);
        // Unrelated faces: each face against the next one, the scale of "someone else".
        unrelated_pixels_ = rms_difference(originals_, originals_.roll(1, 0)).mean().item<double>();
        if (descriptors_) {
            original_descriptors_ = descriptors_of(originals_);
            unrelated_identity_ =
                identity::descriptor_distance(original_descriptors_, original_descriptors_.roll(1, 0)).mean().item<double>();
        }
    }

    int64_t faces() const { return n_; }
    double plain_ms() const { return plain_ms_; }
    double unrelated_pixels() const { return unrelated_pixels_; }
    double unrelated_identity() const { return unrelated_identity_; }
    const torch::Tensor& before() const { return before_; }

    torch::Tensor scores(const torch::Tensor& images) { return scores_tensor(classifier_.score(images)); }

    /// The faces edited by `editor`, batch by batch; `outcomes` (optional) one list per face.
    torch::Tensor edited(Editor& editor, const std::vector<AttributeEdit>& edits,
                         std::vector<std::vector<EditOutcome>>* outcomes) {
        std::vector<torch::Tensor> parts;
        if (outcomes) outcomes->clear();
        for (int64_t begin = 0; begin < n_; begin += batch_) {
            const torch::Tensor part = ws_.narrow(0, begin, std::min(batch_, n_ - begin));
            std::vector<std::vector<EditOutcome>> batch;
            parts.push_back(session_.synthesize(editor.apply(session_, part, edits, &batch), model::NoiseMode::Const));
            if (outcomes) outcomes->insert(outcomes->end(), batch.begin(), batch.end());
        }
        return torch::cat(parts);
    }

    /// How far the edited faces are from the originals: pixels and the identity network.
    json distances(const torch::Tensor& images) {
        json out = {{"pixel_rms_change", rms_difference(images, originals_).mean().item<double>()},
                    {"pixel_distance", rms_difference(images, originals_).mean().item<double>() / unrelated_pixels_}};
        if (descriptors_) {
            const torch::Tensor d = identity::descriptor_distance(descriptors_of(images), original_descriptors_);
            out["identity_distance"] = d.mean().item<double>();
            out["identity_distance_max"] = d.max().item<double>();
            out["same_person_share"] = (d < identity::kSamePersonDistance).to(torch::kFloat64).mean().item<double>();
        }
        return out;
    }

private:
    torch::Tensor descriptors_of(const torch::Tensor& images) {
        std::vector<torch::Tensor> parts;
        for (int64_t begin = 0; begin < n_; begin += batch_) {
            parts.push_back(descriptors_(images.narrow(0, begin, std::min(batch_, n_ - begin))));
        }
        return torch::cat(parts).to(torch::kCPU, torch::kFloat64);
    }

    generate::Session& session_;
    torch::Tensor ws_;
    attributes::AttributeClassifier& classifier_;
    const FaceDescriptors& descriptors_;
    int64_t batch_;
    int64_t n_;
    torch::Tensor originals_, before_, original_descriptors_;
    double plain_ms_ = 0, unrelated_pixels_ = 0, unrelated_identity_ = 0;
};

/// One change, conditioned or not: how far it moves its attribute and every other one.
json measure_change(EditBench& bench, Editor& editor, const std::vector<AttributeEdit>& edits) {
    const auto& catalogue = attributes::attribute_catalogue();
    const attributes::AttributeSpec& spec = attributes::find_attribute(edits.front().attribute);
    const auto a = static_cast<int64_t>(attributes::attribute_index(spec.name));
    std::vector<std::vector<EditOutcome>> outcomes;
    const torch::Tensor images = bench.edited(editor, edits, &outcomes);
    const torch::Tensor after = bench.scores(images);
    const torch::Tensor change = (after - bench.before()).mean(0);
    const torch::Tensor change_in_edit_units =
        (in_edit_units(spec, after.select(1, a)) - in_edit_units(spec, bench.before().select(1, a))).mean();
    json others = json::object();
    for (size_t b = 0; b < catalogue.size(); ++b) {
        if (static_cast<int64_t>(b) != a) others[catalogue[b].name] = change[static_cast<int64_t>(b)].item<double>();
    }
    json figures = {{"target_change", change[a].item<double>()},
                    {"target_change_in_edit_units", change_in_edit_units.item<double>()},
                    {"other_changes", others},
                    {"limited_share", limited_share(outcomes)}};
    figures.update(bench.distances(images));
    return figures;
}

/// One target: where the faces land, and how many say they cannot get there.
json measure_target(EditBench& bench, Editor& editor, const std::vector<AttributeEdit>& edits) {
    const AttributeEdit& goal = edits.front();
    const attributes::AttributeSpec& spec = attributes::find_attribute(goal.attribute);
    const auto a = static_cast<int64_t>(attributes::attribute_index(spec.name));
    const int64_t n = bench.faces();
    std::vector<std::vector<EditOutcome>> outcomes;
    const auto start = Clock::now();
    const torch::Tensor images = bench.edited(editor, edits, &outcomes);
    const double ms = ms_per_image_since(start, n);
    const torch::Tensor reached = bench.scores(images).select(1, a);
    const torch::Tensor error = (reached - goal.value).abs();
    const double close = close_enough(spec);
    torch::Tensor limited = torch::zeros({n}, torch::kBool);
    for (int64_t i = 0; i < n; ++i) {
        for (const EditOutcome& o : outcomes[static_cast<size_t>(i)]) {
            if (o.edit.attribute == spec.name && o.limited) limited[i] = true;
        }
    }
    const torch::Tensor told = (error <= close) | limited;
    json row = {{"set", to_string(edits)},
                {"mean_reading", reached.mean().item<double>()},
                {"mean_abs_error", error.mean().item<double>()},
                {"close_within", close},
                {"close_share", (error <= close).to(torch::kFloat64).mean().item<double>()},
                {"limited_share", limited.to(torch::kFloat64).mean().item<double>()},
                {"close_or_said_share", told.to(torch::kFloat64).mean().item<double>()},
                {"ms_per_image", ms}};
    if (limited.any().item<bool>()) {
        const torch::Tensor stopped = reached.masked_select(limited);
        row["limited_reached_min"] = stopped.min().item<double>();
        row["limited_reached_max"] = stopped.max().item<double>();
    }
    row.update(bench.distances(images));
    return row;
}

}  // namespace

double measured_step(const attributes::AttributeSpec& spec) {
    if (spec.name == "age") return 10;
    if (spec.name == "brightness") return 0.05;
    if (spec.name == "light_direction") return 0.1;
    if (spec.name == "yaw") return 10;
    if (spec.name == "pitch") return 5;
    return 2;  // log-odds
}

json measure_edits(generate::Session& session, const generate::Request& request, Editor& editor,
                   attributes::AttributeClassifier& classifier, const FaceDescriptors& descriptors,
                   const EditMeasurementOptions& options, const core::ProgressCallback& progress) {
    const int64_t n = request.n_images();
    if (n < 2) throw make_error("measuring edits needs at least 2 faces (each is compared with the next), got ", n);
    if (options.batch < 1) throw make_error("bad batch ", options.batch, ": expected 1 or more");
    std::vector<std::vector<AttributeEdit>> changes = options.changes;
    if (changes.empty()) {
        for (const attributes::AttributeSpec& spec : attributes::attribute_catalogue()) {
            changes.push_back({{spec.name, false, measured_step(spec)}});
        }
    }
    for (const auto& edits : changes) editor.check(edits);
    for (const auto& edits : options.targets) editor.check(edits);
    Editor unconditioned(editor.directions(), nullptr, {});

    torch::InferenceMode inference;
    const torch::Tensor ws = session.ws_for(request, 0, n);
    unconditioned.set_reach(LatentReach::sample(session));
    EditBench bench(session, ws, classifier, descriptors, options.batch);

    json table = json::object();
    core::ProgressReport report{"edit", 0, static_cast<double>(changes.size() + options.targets.size()), {}};
    for (const std::vector<AttributeEdit>& edits : changes) {
        const attributes::AttributeSpec& spec = attributes::find_attribute(edits.front().attribute);
        json row = {{"edit", to_string(edits)}, {"edit_unit", attributes::edit_unit(spec)}, {"score_unit", spec.unit}};
        row["conditioned"] = measure_change(bench, editor, edits);
        row["unconditioned"] = measure_change(bench, unconditioned, edits);
        table[to_string(edits)] = row;
        report.done += 1;
        if (progress) progress(report);
    }
    json target_rows = json::array();
    double target_ms = 0;
    for (const std::vector<AttributeEdit>& edits : options.targets) {
        target_rows.push_back(measure_target(bench, editor, edits));
        target_ms = target_rows.back()["ms_per_image"].get<double>();
        report.done += 1;
        if (progress) progress(report);
    }

    // Speed of a change next to plain generation of the same faces.
    const auto start = Clock::now();
    bench.edited(editor, {{"age", false, 10}}, nullptr);
    const double change_ms = ms_per_image_since(start, n);
    return {{"model_id", session.metadata().model_id},
            {"directions_model_id", editor.directions().model_id()},
            {"faces", n},
            {"truncation_psi", session.truncation_psi_for(request)},
            {"kept_when_conditioned", default_kept_attributes()},
            {"pixel_distance_means", "pixel RMS change / RMS difference between unrelated faces"},
            {"identity_distance_means",
             descriptors ? "face-recognition descriptor distance to the original face (same person below 0.6)"
                         : "no identity network found"},
            {"unrelated_faces_pixel_rms", bench.unrelated_pixels()},
            {"unrelated_faces_identity_distance", bench.unrelated_identity()},
            {"edits", table},
            {"targets", target_rows},
            {"speed_ms_per_image",
             {{"plain", bench.plain_ms()}, {"change", change_ms}, {"target", target_ms}, {"batch", options.batch},
              {"threads", torch::get_num_threads()}}}};
}

}  // namespace facegen::edit

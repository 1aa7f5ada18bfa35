#include "edit/directions.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "attributes/catalogue.h"
#include "core/error.h"
#include "core/safetensors.h"
#include "core/versioned_safetensors.h"

namespace facegen::edit {
namespace {

using json = nlohmann::json;

/// Ridge regression of the columns of y [N, A] on x [N, d] (both float64): gradients [A, d]
/// and offsets [A].
std::pair<torch::Tensor, torch::Tensor> ridge_fit(const torch::Tensor& x, const torch::Tensor& y, double ridge) {
    const torch::Tensor x_mean = x.mean(0), y_mean = y.mean(0);
    const torch::Tensor xc = x - x_mean, yc = y - y_mean;
    const auto n = static_cast<double>(x.size(0));
    torch::Tensor covariance = xc.t().mm(xc) / n;
    const double mean_eigenvalue = covariance.diagonal().mean().item<double>();
    covariance += torch::eye(x.size(1), torch::kFloat64) * (ridge * mean_eigenvalue);
    const torch::Tensor gradients = torch::linalg_solve(covariance, xc.t().mm(yc) / n).t();  // [A, d]
    const torch::Tensor offsets = y_mean - gradients.mv(x_mean);
    return {gradients, offsets};
}

core::FileFormat directions_file_format() {
    return {kDirectionsFormat, "directions file", kOldestDirectionsFormatVersion, kDirectionsFormatVersion, ""};
}

}  // namespace

const std::vector<std::string>& default_kept_attributes() {
    static const std::vector<std::string> kept = {
        "age",      "gender",     "ethnicity_white", "ethnicity_black", "ethnicity_asian", "ethnicity_indian",
        "ethnicity_other", "eyeglasses", "smiling", "brightness"};
    return kept;
}

bool same_attribute_group(const std::string& a, const std::string& b) {
    const std::string& group = attributes::find_attribute(a).softmax_group;
    return a == b || (!group.empty() && group == attributes::find_attribute(b).softmax_group);
}

namespace {

// The steps of AttributeDirections::fit.

generate::Request sampling_request(const DirectionFitOptions& options) {
    generate::Request request;
    for (int64_t i = 0; i < options.samples; ++i) request.seeds.push_back(options.first_seed + static_cast<uint32_t>(i));
    request.truncation_psi = options.truncation_psi;
    request.batch = options.batch;
    return request;
}

/// The sampled faces: every seed's w (the truncated w that made its image), and the
/// classifier's reading of every attribute, in edit units, of the faces scored.
struct ScoredFaces {
    torch::Tensor w;       // float64 [samples, w_dim]
    torch::Tensor values;  // float64 [samples, attributes]; zero for faces not scored
};

/// A span of faces [begin, end).
using Span = std::pair<int64_t, int64_t>;

ScoredFaces sample_and_score(generate::Session& session, attributes::AttributeClassifier& classifier,
                             const DirectionFitOptions& options, const std::vector<Span>& scored,
                             const std::function<void(int64_t, int64_t)>& progress) {
    const auto& catalogue = attributes::attribute_catalogue();
    const generate::Request request = sampling_request(options);
    session.check(request);
    ScoredFaces faces{torch::empty({options.samples, session.config().w_dim}, torch::kFloat64),
                      torch::zeros({options.samples, static_cast<int64_t>(catalogue.size())}, torch::kFloat64)};
    torch::InferenceMode inference;
    for (int64_t begin = 0; begin < options.samples; begin += options.batch) {
        const int64_t n = std::min(options.batch, options.samples - begin);
        const torch::Tensor ws = session.ws_for(request, begin, n);
        faces.w.narrow(0, begin, n).copy_(ws.select(1, 0).to(torch::kCPU, torch::kFloat64));
        for (const auto& [first_scored, end_scored] : scored) {
            const int64_t lo = std::max(begin, first_scored), hi = std::min(begin + n, end_scored);
            if (lo >= hi) continue;
            const torch::Tensor images = session.synthesize(ws.narrow(0, lo - begin, hi - lo), model::NoiseMode::Const);
            const std::vector<attributes::AttributeScores> scores = classifier.score(images);
            for (int64_t i = lo; i < hi; ++i) {
                for (size_t a = 0; a < catalogue.size(); ++a) {
                    faces.values[i][static_cast<int64_t>(a)] =
                        attributes::to_edit_units(catalogue[a], scores[static_cast<size_t>(i - lo)][a]);
                }
            }
        }
        if (progress) progress(begin + n, options.samples);
    }
    return faces;
}

/// Every attribute's linear model on w: R^2 from a fit on the first n_fit faces, measured
/// on the rest; then the fit on all. Responses start at 1.
std::vector<AttributeDirection> fit_linear_models(const ScoredFaces& faces, int64_t n_fit, double ridge) {
    const auto& catalogue = attributes::attribute_catalogue();
    const int64_t samples = faces.w.size(0);
    const auto [held_gradients, held_offsets] =
        ridge_fit(faces.w.narrow(0, 0, n_fit), faces.values.narrow(0, 0, n_fit), ridge);
    const torch::Tensor test_w = faces.w.narrow(0, n_fit, samples - n_fit);
    const torch::Tensor test_values = faces.values.narrow(0, n_fit, samples - n_fit);
    const torch::Tensor predicted = test_w.mm(held_gradients.t()) + held_offsets;
    const torch::Tensor residual = (test_values - predicted).pow(2).mean(0);
    const torch::Tensor variance = test_values.var(0, /*unbiased=*/false).clamp_min(1e-12);
    const torch::Tensor r2 = 1 - residual / variance;
    const auto [gradients, offsets] = ridge_fit(faces.w, faces.values, ridge);
    const torch::Tensor spread = faces.values.std(0);
    std::vector<AttributeDirection> directions;
    for (size_t a = 0; a < catalogue.size(); ++a) {
        const auto i = static_cast<int64_t>(a);
        directions.push_back({catalogue[a].name, gradients[i].contiguous(), offsets[i].item<double>(),
                              r2[i].item<double>(), spread[i].item<double>(), 1.0, 1.0, {}, {}});
    }
    return directions;
}

/// The linear models of `reused`, fitted for `model_id`; responses start at 1.
std::vector<AttributeDirection> reused_linear_models(const AttributeDirections& reused, const std::string& model_id) {
    if (reused.model_id() != model_id) {
        throw make_error("the directions to reuse were fitted for model ", reused.model_id(), ", not for model ",
                         model_id);
    }
    std::vector<AttributeDirection> directions;
    for (const attributes::AttributeSpec& spec : attributes::attribute_catalogue()) {
        AttributeDirection d = reused.direction(spec.name);
        d.response = d.response_down = 1.0;
        directions.push_back(d);
    }
    return directions;
}

/// The response of attribute `a`: the held-out faces [n_fit, n_fit + n_response) stepped
/// along its conditioned direction by what the linear model says is one spread (`down`:
/// along its step down, by minus one spread) and scored again; the change read over the
/// change predicted, kept within 0.05-1.5.
double measure_response(const AttributeDirections& directions, size_t a, const ScoredFaces& faces, int64_t n_fit,
                        int64_t n_response, generate::Session& session, attributes::AttributeClassifier& classifier,
                        const DirectionFitOptions& options, bool down) {
    const auto& catalogue = attributes::attribute_catalogue();
    torch::InferenceMode inference;
    const torch::Tensor start_w = faces.w.narrow(0, n_fit, n_response).to(torch::kFloat32);
    const torch::Tensor start_values = faces.values.narrow(0, n_fit, n_response);
    std::vector<std::string> kept;
    for (const std::string& name : options.kept) {
        if (!same_attribute_group(name, catalogue[a].name)) kept.push_back(name);
    }
    const EditDirection direction = directions.conditioned(catalogue[a].name, kept, down);
    const double predicted = (down ? -1 : 1) * directions.directions()[a].spread;
    const torch::Tensor step = direction.unit * static_cast<float>(predicted / direction.units_per_step);
    double read = 0;
    for (int64_t begin = 0; begin < n_response; begin += options.batch) {
        const int64_t n = std::min(options.batch, n_response - begin);
        const torch::Tensor moved =
            (start_w.narrow(0, begin, n) + step).unsqueeze(1).expand({n, session.config().num_ws(), faces.w.size(1)});
        const std::vector<attributes::AttributeScores> scores =
            classifier.score(session.synthesize(moved.to(session.device()), model::NoiseMode::Const));
        for (int64_t i = 0; i < n; ++i) {
            read += attributes::to_edit_units(catalogue[a], scores[static_cast<size_t>(i)][a]) -
                    start_values[begin + i][static_cast<int64_t>(a)].item<double>();
        }
    }
    return std::clamp(read / static_cast<double>(n_response) / predicted, 0.05, 1.5);
}

/// Age's steps from the first n faces (stratified_steps.h), set on `directions`; what was
/// fitted, or why not, for the report.
json add_age_steps(std::vector<AttributeDirection>& directions, const ScoredFaces& faces, int64_t n,
                   const AgeBands& bands) {
    const json used_bands = {{"child", {bands.child_from, bands.child_to}},
                             {"young_adult", {bands.adult_from, bands.adult_to}},
                             {"older", {bands.older_from, bands.older_to}},
                             {"min_faces", bands.min_faces}};
    if (n == 0) return {{"fitted", false}, {"why", "no faces asked for"}};
    try {
        const StratifiedAgeSteps steps =
            fit_stratified_age_steps(faces.w.narrow(0, 0, n), faces.values.narrow(0, 0, n), bands);
        AttributeDirection& age = directions[static_cast<size_t>(attributes::attribute_index("age"))];
        age.step_up = steps.older;
        age.step_down = steps.younger;
        return {{"fitted", true},     {"faces", n},
                {"bands", used_bands}, {"older_strata", steps.older_strata},
                {"younger_strata", steps.younger_strata}};
    } catch (const Error& e) {
        return {{"fitted", false}, {"faces", n}, {"bands", used_bands}, {"why", e.what()}};
    }
}

json fit_report(const std::vector<AttributeDirection>& directions, const DirectionFitOptions& options, int64_t n_fit,
                int64_t n_response, const torch::Tensor& w, const json& age_steps, double seconds) {
    const auto& catalogue = attributes::attribute_catalogue();
    json fits = json::object();
    for (size_t a = 0; a < catalogue.size(); ++a) {
        const AttributeDirection& direction = directions[a];
        fits[direction.attribute] = {{"r2_held_out", direction.r2},
                                     {"spread", direction.spread},
                                     {"units_per_w_step", direction.gradient.norm().item<double>()},
                                     {"response", direction.response},
                                     {"response_down", direction.response_down},
                                     {"own_steps", direction.step_up.defined()},
                                     {"fitted_as", catalogue[a].kind == attributes::AttributeKind::kProbability
                                                       ? "log-odds"
                                                       : catalogue[a].unit}};
    }
    return {{"samples", options.samples},
            {"step", options.covariance_steps ? "w covariance times the gradient, conditioned in its metric"
                                              : "the gradient, conditioned"},
            {"age_steps", age_steps},
            {"fits_reused", options.reuse_fits != nullptr},
            {"first_seed", options.first_seed},
            {"truncation_psi", options.truncation_psi},
            {"ridge", options.ridge},
            {"held_out_samples", options.samples - n_fit},
            {"response_samples", n_response},
            {"response_kept", options.kept},
            {"w_spread", (w - w.mean(0)).norm(2, 1).mean().item<double>()},
            {"attributes", fits},
            {"seconds", seconds}};
}

}  // namespace

AttributeDirections AttributeDirections::fit(generate::Session& session, attributes::AttributeClassifier& classifier,
                                             const DirectionFitOptions& options,
                                             const std::function<void(int64_t, int64_t)>& progress) {
    if (options.samples < 100) throw make_error("bad samples ", options.samples, ": at least 100 faces to fit on");
    if (options.batch < 1) throw make_error("bad batch ", options.batch, ": expected 1 or more");
    if (!(options.ridge >= 0)) throw make_error("bad ridge ", options.ridge);
    const auto started = std::chrono::steady_clock::now();
    const auto n_attributes = static_cast<int64_t>(attributes::attribute_catalogue().size());
    const int64_t n_fit = options.samples * 9 / 10;  // R^2 on the rest
    const int64_t n_response = std::min(options.response_samples, options.samples - n_fit);
    // Faces scored: all of them, or with reuse_fits only those the response is measured on.
    // Faces scored: all of them, or with reuse_fits those the age steps and the responses are
    // measured on.
    const int64_t n_age_steps = std::clamp<int64_t>(options.age_step_samples, 0, n_fit);
    const std::vector<Span> scored = options.reuse_fits
                                         ? std::vector<Span>{{0, n_age_steps}, {n_fit, n_fit + n_response}}
                                         : std::vector<Span>{{0, options.samples}};
    const ScoredFaces faces = sample_and_score(session, classifier, options, scored, progress);

    AttributeDirections out;
    out.model_id_ = session.metadata().model_id;
    if (options.covariance_steps) {
        const torch::Tensor centred = faces.w - faces.w.mean(0);
        out.w_covariance_ = centred.t().mm(centred) / static_cast<double>(options.samples - 1);
    }
    out.directions_ = options.reuse_fits ? reused_linear_models(*options.reuse_fits, out.model_id_)
                                         : fit_linear_models(faces, n_fit, options.ridge);
    const json age_steps = add_age_steps(out.directions_, faces, n_age_steps, options.age_bands);
    // In catalogue order, each measured with the responses before it already set.
    for (int64_t a = 0; n_response > 0 && a < n_attributes; ++a) {
        AttributeDirection& direction = out.directions_[static_cast<size_t>(a)];
        direction.response = measure_response(out, static_cast<size_t>(a), faces, n_fit, n_response, session,
                                              classifier, options, /*down=*/false);
        direction.response_down = direction.step_down.defined()
                                      ? measure_response(out, static_cast<size_t>(a), faces, n_fit, n_response,
                                                         session, classifier, options, /*down=*/true)
                                      : direction.response;
        if (progress) progress(options.samples + (a + 1) * n_response, options.samples + n_attributes * n_response);
    }
    out.report_ = fit_report(out.directions_, options, n_fit, n_response, faces.w, age_steps,
                             std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return out;
}

const AttributeDirection& AttributeDirections::direction(const std::string& attribute) const {
    attributes::attribute_index(attribute);  // unknown names get the catalogue's error
    for (const AttributeDirection& d : directions_) {
        if (d.attribute == attribute) return d;
    }
    throw make_error("the directions have no '", attribute, "': fit them again with facegen attributes directions");
}

EditDirection AttributeDirections::conditioned(const std::string& attribute, const std::vector<std::string>& kept,
                                               bool down) const {
    const AttributeDirection& fitted = direction(attribute);
    if (fitted.step_up.defined()) {
        torch::Tensor step = (down ? fitted.step_down : fitted.step_up).clone();
        if (std::find(kept.begin(), kept.end(), "gender") != kept.end() && attribute != "gender") {
            const torch::Tensor gender = direction("gender").gradient;
            step -= step.dot(gender) / gender.dot(gender) * gender;
        }
        const double length = step.norm().item<double>();
        if (!(length > 0)) throw make_error("attribute '", attribute, "' has no step left once gender is held fixed");
        // One step of the whole vector is one unit as the model's faces differ (before the
        // response, which measures what the classifier reads of it).
        return {(step / length).to(torch::kFloat32), (down ? fitted.response_down : fitted.response) / length};
    }
    const torch::Tensor gradient = fitted.gradient;
    // Inner product of the projection: Euclidean, or x' Sigma y, in which "orthogonal to a
    // kept gradient" means "the step Sigma u does not move that attribute's linear model".
    const bool metric = w_covariance_.defined();
    const auto inner = [&](const torch::Tensor& a, const torch::Tensor& b) {
        return metric ? a.dot(w_covariance_.mv(b)).item<double>() : a.dot(b).item<double>();
    };
    // Orthonormal basis of the kept gradients (Gram-Schmidt; near-dependent ones add nothing).
    std::vector<torch::Tensor> basis;
    for (const std::string& name : kept) {
        if (name == attribute) continue;
        const torch::Tensor original = direction(name).gradient;
        torch::Tensor v = original.clone();
        for (const torch::Tensor& b : basis) v -= inner(v, b) * b;
        const double norm = std::sqrt(std::max(0.0, inner(v, v)));
        if (norm > 1e-6 * std::sqrt(std::max(1e-300, inner(original, original)))) basis.push_back(v / norm);
    }
    torch::Tensor u = gradient.clone();
    for (const torch::Tensor& b : basis) u -= inner(u, b) * b;
    const double norm = std::sqrt(std::max(0.0, inner(u, u)));
    if (!(norm > 1e-6 * std::sqrt(std::max(1e-300, inner(gradient, gradient))))) {
        throw make_error("attribute '", attribute, "' has no direction left once the kept attributes are held fixed");
    }
    torch::Tensor step = metric ? w_covariance_.mv(u) : u;
    step /= step.norm();
    // The linear model's change per unit step: the gradient's component along the step.
    return {step.to(torch::kFloat32), gradient.dot(step).item<double>() * fitted.response};
}

void AttributeDirections::save(const std::filesystem::path& path) const {
    std::map<std::string, torch::Tensor> tensors;
    json fits = json::object();
    std::string names;
    for (const AttributeDirection& d : directions_) {
        tensors["gradient." + d.attribute] = d.gradient;
        fits[d.attribute] = {{"offset", d.offset}, {"r2", d.r2}, {"spread", d.spread}, {"response", d.response}};
        if (d.step_up.defined()) {
            tensors["step_up." + d.attribute] = d.step_up.contiguous();
            tensors["step_down." + d.attribute] = d.step_down.contiguous();
            fits[d.attribute]["response_down"] = d.response_down;
        }
        names += (names.empty() ? "" : ",") + d.attribute;
    }
    if (w_covariance_.defined()) tensors["w_covariance"] = w_covariance_.to(torch::kFloat32).contiguous();
    std::map<std::string, std::string> metadata = core::format_metadata(directions_file_format(), kDirectionsFormatVersion);
    metadata.insert({{"model_id", model_id_}, {"attributes", names}, {"fits", fits.dump()}, {"report", report_.dump()}});
    core::write_safetensors(path, tensors, metadata);
}

AttributeDirections AttributeDirections::load(const std::filesystem::path& path, const std::string& model_id) {
    const core::VersionedSafetensors read = core::read_versioned_safetensors(path, directions_file_format());
    const core::SafetensorsFile& file = read.file;
    const int version = read.version;
    const auto text = [&](const std::string& key) -> const std::string& {
        const auto it = file.metadata.find(key);
        if (it == file.metadata.end()) throw make_error("directions '", path.string(), "': metadata has no '", key, "'");
        return it->second;
    };
    AttributeDirections out;
    out.model_id_ = text("model_id");
    if (!model_id.empty() && out.model_id_ != model_id) {
        throw make_error("directions '", path.string(), "' were made for model ", out.model_id_, ", not for model ",
                         model_id, ": fit them for this model with facegen attributes directions");
    }
    if (!json::accept(text("fits")) || !json::accept(text("report"))) {
        throw make_error("directions '", path.string(), "': fits or report is not JSON");
    }
    const json fits = json::parse(text("fits"));
    out.report_ = json::parse(text("report"));
    int64_t w_dim = -1;
    for (const auto& [name, fit] : fits.items()) {
        const auto it = file.tensors.find("gradient." + name);
        if (it == file.tensors.end()) throw make_error("directions '", path.string(), "' lack the gradient of '", name, "'");
        const torch::Tensor& gradient = it->second;
        if (gradient.dim() != 1 || gradient.scalar_type() != torch::kFloat64 || (w_dim >= 0 && gradient.size(0) != w_dim) ||
            !torch::isfinite(gradient).all().item<bool>()) {
            throw make_error("directions '", path.string(), "': gradient of '", name, "' is not a finite float64 vector",
                             " of the others' length");
        }
        w_dim = gradient.size(0);
        if (!fit.is_object() || !fit.contains("offset") || !fit["offset"].is_number()) {
            throw make_error("directions '", path.string(), "': fit of '", name, "' is malformed");
        }
        const double response = fit.value("response", 1.0);
        if (!(response > 0 && response <= 10)) {
            throw make_error("directions '", path.string(), "': response of '", name, "' is not in (0, 10]");
        }
        AttributeDirection loaded{name, gradient, fit["offset"].get<double>(), fit.value("r2", 0.0),
                                  fit.value("spread", 0.0), response, response, {}, {}};
        const auto up = file.tensors.find("step_up." + name), down = file.tensors.find("step_down." + name);
        if (version >= 3 && (up != file.tensors.end() || down != file.tensors.end())) {
            for (const auto& it : {up, down}) {
                if (it == file.tensors.end() || it->second.dim() != 1 || it->second.scalar_type() != torch::kFloat64 ||
                    it->second.size(0) != w_dim || !torch::isfinite(it->second).all().item<bool>()) {
                    throw make_error("directions '", path.string(), "': the steps of '", name,
                                     "' are not two finite float64 vectors of the gradient's length");
                }
            }
            loaded.step_up = up->second;
            loaded.step_down = down->second;
            loaded.response_down = fit.value("response_down", response);
            if (!(loaded.response_down > 0 && loaded.response_down <= 10)) {
                throw make_error("directions '", path.string(), "': response_down of '", name, "' is not in (0, 10]");
            }
        }
        out.directions_.push_back(loaded);
    }
    if (out.directions_.empty()) throw make_error("directions '", path.string(), "' hold no attribute");
    // Version 2 files always step along the covariance; version 3 files may or may not.
    if (version == 2 || (version >= 3 && file.tensors.count("w_covariance") > 0)) {
        const auto it = file.tensors.find("w_covariance");
        if (it == file.tensors.end() || it->second.dim() != 2 || it->second.size(0) != w_dim ||
            it->second.size(1) != w_dim || !torch::isfinite(it->second).all().item<bool>()) {
            throw make_error("directions '", path.string(), "' (format ", version, ") lack a finite w_covariance [", w_dim,
                             ", ", w_dim, "]");
        }
        out.w_covariance_ = it->second.to(torch::kFloat64);
    }
    return out;
}

std::filesystem::path directions_path_for(const std::filesystem::path& model_path) {
    return model_path.parent_path() / (model_path.stem().string() + ".directions.safetensors");
}

}  // namespace facegen::edit

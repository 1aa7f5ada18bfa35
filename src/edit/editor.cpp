#include "edit/editor.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "attributes/catalogue.h"
#include "core/error.h"

namespace facegen::edit {
namespace {

/// How close (fitted units) a target search must get: finer than anyone would set.
double target_tolerance(const attributes::AttributeSpec& spec) {
    if (spec.kind == attributes::AttributeKind::kProbability) return 0.2;  // log-odds
    if (spec.name == "age") return 1.0;
    if (spec.name == "yaw" || spec.name == "pitch") return 1.0;
    if (spec.name == "brightness") return 0.005;
    return 0.01;  // light_direction
}

/// Moves every face of ws_out by amounts [n] (W units) along the direction, every layer alike.
void step_along(torch::Tensor& ws_out, const EditDirection& direction, const torch::Tensor& amounts) {
    ws_out += amounts.to(ws_out.device(), torch::kFloat32).view({-1, 1, 1}) *
              direction.unit.to(ws_out.device()).view({1, 1, -1});
}

std::string format_value(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3g", value);
    return text;
}

}  // namespace

std::string describe_limits(const std::vector<EditOutcome>& face) {
    std::string out;
    for (const EditOutcome& outcome : face) {
        if (!outcome.limited) continue;
        std::string reached = format_value(outcome.reached);
        if (!outcome.edit.absolute && outcome.reached >= 0) reached = "+" + reached;
        out += (out.empty() ? "" : "; ") + to_string(outcome.edit) + (outcome.edit.absolute ? " reached " : " limited to ") +
               reached + (outcome.at_edge ? " (the edge of the model's faces)" : " (the closest found)");
    }
    return out;
}

Editor::Editor(AttributeDirections directions, attributes::AttributeClassifier* classifier, std::vector<std::string> kept)
    : directions_(std::move(directions)), classifier_(classifier), kept_(std::move(kept)) {
    for (const std::string& name : kept_) directions_.direction(name);  // a clear error now, not mid-batch
}

std::vector<std::string> Editor::kept_for(const std::vector<AttributeEdit>& edited) const {
    std::vector<std::string> kept;
    for (const std::string& name : kept_) {
        const bool is_edited = std::any_of(edited.begin(), edited.end(),
                                           [&](const AttributeEdit& e) { return same_attribute_group(e.attribute, name); });
        if (!is_edited) kept.push_back(name);
    }
    return kept;
}

EditDirection Editor::direction_for(const std::string& attribute, const std::vector<AttributeEdit>& edited,
                                    bool down) const {
    return directions_.conditioned(attribute, kept_for(edited), down);
}

torch::Tensor Editor::step_limits(const torch::Tensor& ws, const torch::Tensor& unit) const {
    if (reach_) return reach_->step_limits(ws, unit);
    const double infinity = std::numeric_limits<double>::infinity();
    return torch::tensor({-infinity, infinity}, torch::kFloat64).expand({ws.size(0), 2}).clone();
}

void Editor::check(const std::vector<AttributeEdit>& edits) const {
    for (const AttributeEdit& edit : edits) {
        direction_for(edit.attribute, edits);
        if (edit.absolute && classifier_ == nullptr) {
            throw make_error("edit '", to_string(edit), "' sets a target, which needs the attribute classifier");
        }
    }
}

torch::Tensor Editor::apply_changes(const torch::Tensor& ws, const std::vector<AttributeEdit>& edits,
                                    std::vector<std::vector<EditOutcome>>* outcomes) const {
    check(edits);
    const int64_t n = ws.size(0);
    if (outcomes) outcomes->assign(static_cast<size_t>(n), {});
    torch::Tensor out = ws.clone();
    for (const AttributeEdit& edit : edits) {
        if (edit.absolute) continue;
        const EditDirection direction = direction_for(edit.attribute, edits, /*down=*/edit.value < 0);
        const torch::Tensor limits = step_limits(out, direction.unit);
        const double wanted = edit.value / direction.units_per_step;
        const torch::Tensor amounts = torch::full({n}, wanted, torch::kFloat64)
                                          .clamp(limits.select(1, 0).clamp_max(0), limits.select(1, 1).clamp_min(0));
        step_along(out, direction, amounts);
        if (outcomes) {
            for (int64_t i = 0; i < n; ++i) {
                const double made = amounts[i].item<double>();
                const bool limited = std::abs(made - wanted) > 1e-9 * std::max(1.0, std::abs(wanted));
                (*outcomes)[static_cast<size_t>(i)].push_back(
                    {edit, made * direction.units_per_step, limited, limited});
            }
        }
    }
    return out;
}

torch::Tensor Editor::apply(generate::Session& session, const torch::Tensor& ws, const std::vector<AttributeEdit>& edits,
                            std::vector<std::vector<EditOutcome>>* outcomes) {
    std::vector<std::vector<EditOutcome>> changes;
    const torch::Tensor changed = apply_changes(ws, edits, &changes);
    std::vector<size_t> targets;
    for (size_t k = 0; k < edits.size(); ++k) {
        if (edits[k].absolute) targets.push_back(k);
    }
    if (targets.empty()) {
        if (outcomes) *outcomes = std::move(changes);
        return changed;
    }

    // Each target is a search along its direction, face by face: the classifier's reading
    // follows a step only roughly linearly (and not at all past where a face stops
    // changing), so each round steps by the slope the face has shown so far (secant),
    // within the edge of the model's faces.
    const int64_t n = ws.size(0);
    // A face goes up or down (decided by its first reading); age has a step each way, other
    // attributes one direction for both.
    struct Search {
        bool two_way;  // a step each way (age); otherwise `down` and its limits are `up`'s
        EditDirection up, down;
        const attributes::AttributeSpec* spec;
        size_t index;
        double goal, tolerance;
        torch::Tensor limits_up, limits_down;  // [n, 2]
        std::vector<double> amount, previous_amount, previous_value, value;
        std::vector<bool> has_previous, done, going_down;
        const EditDirection& direction(size_t f) const { return going_down[f] ? down : up; }
        double limit(int64_t i, int side) const {
            return (going_down[static_cast<size_t>(i)] ? limits_down : limits_up)[i][side].item<double>();
        }
    };
    std::vector<Search> searches;
    for (const size_t k : targets) {
        const attributes::AttributeSpec& spec = attributes::find_attribute(edits[k].attribute);
        const bool two_way = directions_.direction(spec.name).step_up.defined();
        const EditDirection up = direction_for(spec.name, edits);
        Search search{two_way, up, two_way ? direction_for(spec.name, edits, /*down=*/true) : up, &spec,
                      static_cast<size_t>(attributes::attribute_index(spec.name)),
                      attributes::to_edit_units(spec, edits[k].value), target_tolerance(spec), {}, {}, {}, {}, {}, {},
                      {}, {}, {}};
        search.limits_up = step_limits(changed, search.up.unit);
        search.limits_down = two_way ? step_limits(changed, search.down.unit) : search.limits_up;
        search.amount.assign(static_cast<size_t>(n), 0);
        search.previous_amount = search.previous_value = search.value = search.amount;
        search.has_previous.assign(static_cast<size_t>(n), false);
        search.done.assign(static_cast<size_t>(n), false);
        search.going_down.assign(static_cast<size_t>(n), false);
        searches.push_back(std::move(search));
    }
    std::vector<std::vector<double>> readings(searches.size(), std::vector<double>(static_cast<size_t>(n), 0));
    torch::Tensor out = changed.clone();
    for (int round = 0; round < kTargetRounds; ++round) {
        const std::vector<attributes::AttributeScores> scores =
            classifier_->score(session.synthesize(out, model::NoiseMode::Const));
        const bool last_round = round + 1 == kTargetRounds;
        bool moved = false;
        for (size_t t = 0; t < searches.size(); ++t) {
            Search& s = searches[t];
            for (int64_t i = 0; i < n; ++i) {
                const auto f = static_cast<size_t>(i);
                readings[t][f] = scores[f][s.index];
                const double now = attributes::to_edit_units(*s.spec, scores[f][s.index]);
                s.value[f] = now;
                if (s.done[f] || last_round) continue;
                const double error = s.goal - now;
                if (std::abs(error) <= s.tolerance) {
                    s.done[f] = true;
                    continue;
                }
                if (round == 0) s.going_down[f] = error < 0;
                double slope = s.direction(f).units_per_step;
                if (s.has_previous[f] && std::abs(s.amount[f] - s.previous_amount[f]) > 1e-6) {
                    const double measured = (now - s.previous_value[f]) / (s.amount[f] - s.previous_amount[f]);
                    // A face that barely responds would be sent far away: keep the slope
                    // within a quarter and four times the fitted one.
                    if (measured > 0) slope = std::clamp(measured, 0.25 * slope, 4 * slope);
                }
                const double lo = s.limit(i, 0), hi = s.limit(i, 1);
                const double next = std::clamp(s.amount[f] + error / slope, std::min(lo, 0.0), std::max(hi, 0.0));
                if (std::abs(next - s.amount[f]) < 1e-6) {  // pinned at the edge
                    s.done[f] = true;
                    continue;
                }
                s.previous_amount[f] = s.amount[f];
                s.previous_value[f] = now;
                s.has_previous[f] = true;
                s.amount[f] = next;
                moved = true;
            }
        }
        if (!moved) break;
        out = changed.clone();
        for (const Search& s : searches) {
            if (!s.two_way) {
                step_along(out, s.up, torch::tensor(s.amount, torch::kFloat64));
                continue;
            }
            std::vector<double> up(s.amount), down(s.amount);
            for (size_t f = 0; f < s.amount.size(); ++f) (s.going_down[f] ? up : down)[f] = 0;
            step_along(out, s.up, torch::tensor(up, torch::kFloat64));
            step_along(out, s.down, torch::tensor(down, torch::kFloat64));
        }
    }
    if (outcomes) {
        *outcomes = std::move(changes);
        for (size_t t = 0; t < searches.size(); ++t) {
            const Search& s = searches[t];
            for (int64_t i = 0; i < n; ++i) {
                const auto f = static_cast<size_t>(i);
                const bool limited = std::abs(s.goal - s.value[f]) > s.tolerance * 1.5;
                const double lo = s.limit(i, 0), hi = s.limit(i, 1);
                const bool at_edge = std::abs(s.amount[f] - lo) < 1e-6 || std::abs(s.amount[f] - hi) < 1e-6;
                (*outcomes)[f].push_back({edits[targets[t]], readings[t][f], limited, limited && at_edge});
            }
        }
    }
    return out;
}

std::string Editor::describe(const std::vector<AttributeEdit>& edits) const {
    std::string kept;
    for (const std::string& name : kept_for(edits)) kept += (kept.empty() ? "" : ",") + name;
    return to_string(edits) + " (kept: " + (kept.empty() ? "none" : kept) + "; directions for model " +
           directions_.model_id() + (reach_ ? "; limited to the model's faces" : "") + ")";
}

}  // namespace facegen::edit

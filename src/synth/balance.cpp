#include "synth/balance.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "attributes/catalogue.h"
#include "core/error.h"

namespace facegen::synth {
namespace {

const std::vector<std::string>& ethnic_groups() {
    // UTKFace's groups, in its label order (the catalogue's ethnicity_* attributes).
    static const std::vector<std::string> groups = {"white", "black", "asian", "indian", "other"};
    return groups;
}

double score_of(const attributes::AttributeScores& scores, const std::string& attribute) {
    return scores[static_cast<size_t>(attributes::attribute_index(attribute))];
}

std::string band_name(double lo, double hi, bool last) {
    const auto years = [](double v) { return std::to_string(static_cast<int64_t>(std::lround(v))); };
    return last ? years(lo) + "+" : years(lo) + "-" + years(hi - 1);
}

std::string join(const std::vector<std::string>& names) {
    std::ostringstream out;
    for (size_t i = 0; i < names.size(); ++i) out << (i ? ", " : "") << names[i];
    return out.str();
}

// A yes/no attribute: probability, learned, and not one class of a softmax.
bool is_binary_attribute(const attributes::AttributeSpec& spec) {
    return spec.kind == attributes::AttributeKind::kProbability && spec.softmax_group.empty() && spec.name != "gender";
}

}  // namespace

int64_t BalanceGroup::class_of(const attributes::AttributeScores& scores) const {
    if (name == "age") {
        const double years = score_of(scores, "age");
        int64_t band = 0;
        while (band + 1 < static_cast<int64_t>(age_edges.size()) && years >= age_edges[static_cast<size_t>(band + 1)]) ++band;
        return band;
    }
    if (name == "gender") return score_of(scores, "gender") >= 0.5 ? 1 : 0;
    if (name == "ethnicity") {
        int64_t best = 0;
        for (size_t g = 1; g < ethnic_groups().size(); ++g) {
            if (score_of(scores, "ethnicity_" + ethnic_groups()[g]) > score_of(scores, "ethnicity_" + ethnic_groups()[static_cast<size_t>(best)])) {
                best = static_cast<int64_t>(g);
            }
        }
        return best;
    }
    return score_of(scores, name) >= 0.5 ? 0 : 1;
}

std::vector<edit::AttributeEdit> BalanceGroup::targets_for(int64_t k) const {
    const auto target = [](std::string attribute, double value) { return edit::AttributeEdit{std::move(attribute), true, value}; };
    if (name == "age") {
        const double lo = age_edges[static_cast<size_t>(k)];
        const bool last = k + 1 == static_cast<int64_t>(age_edges.size());
        // The open last band is aimed a few years in; targets stop at 100 (edit_spec's range).
        const double hi = last ? std::min(lo + 10.0, 100.0) : age_edges[static_cast<size_t>(k + 1)];
        return {target("age", std::clamp((lo + hi) / 2.0, 0.0, 100.0))};
    }
    if (name == "gender") return {target("gender", k == 1 ? 0.85 : 0.15)};
    if (name == "ethnicity") return {target("ethnicity_" + ethnic_groups()[static_cast<size_t>(k)], 0.8)};
    return {target(name, k == 0 ? 0.85 : 0.15)};
}

std::vector<std::string> balance_names() {
    std::vector<std::string> names = {"age", "gender", "ethnicity"};
    for (const attributes::AttributeSpec& spec : attributes::attribute_catalogue()) {
        if (is_binary_attribute(spec)) names.push_back(spec.name);
    }
    return names;
}

std::vector<double> age_band_edges(const std::vector<double>& upper_edges) {
    std::vector<double> edges = {0.0};
    for (double edge : upper_edges) {
        if (!(edge >= 1 && edge <= 100) || edge <= edges.back()) {
            std::ostringstream list;
            for (size_t i = 0; i < upper_edges.size(); ++i) list << (i ? "," : "") << upper_edges[i];
            throw make_error("age bands '", list.str(), "': edges must be increasing years within 1..100");
        }
        edges.push_back(edge);
    }
    return edges;
}

std::vector<BalanceGroup> parse_balance(const std::string& text, const std::vector<double>& age_upper_edges) {
    std::vector<BalanceGroup> groups;
    std::stringstream in(text);
    std::string name;
    const std::vector<std::string> valid = balance_names();
    while (std::getline(in, name, ',')) {
        name.erase(0, name.find_first_not_of(" \t"));
        name.erase(name.find_last_not_of(" \t") + 1);
        if (name.empty()) continue;
        if (std::find(valid.begin(), valid.end(), name) == valid.end()) {
            throw make_error("cannot balance over '", name, "': valid names are ", join(valid));
        }
        for (const BalanceGroup& g : groups) {
            if (g.name == name) throw make_error("balance '", text, "' names '", name, "' twice");
        }
        BalanceGroup group;
        group.name = name;
        if (name == "age") {
            group.age_edges = age_band_edges(age_upper_edges);
            for (size_t k = 0; k < group.age_edges.size(); ++k) {
                const bool last = k + 1 == group.age_edges.size();
                group.classes.push_back(band_name(group.age_edges[k], last ? 0 : group.age_edges[k + 1], last));
            }
        } else if (name == "gender") {
            group.classes = {"male", "female"};
        } else if (name == "ethnicity") {
            group.classes = ethnic_groups();
        } else {
            group.classes = {name, "no_" + name};
        }
        groups.push_back(std::move(group));
    }
    if (groups.empty()) throw make_error("balance '", text, "' names no attribute: valid names are ", join(valid));
    return groups;
}

CellGrid::CellGrid(std::vector<BalanceGroup> groups) : groups_(std::move(groups)) {
    TORCH_CHECK(!groups_.empty(), "a cell grid needs at least one group");
    names_ = {""};
    for (const BalanceGroup& group : groups_) {
        std::vector<std::string> next;
        for (const std::string& prefix : names_) {
            for (const std::string& c : group.classes) next.push_back(prefix.empty() ? c : prefix + "_" + c);
        }
        names_ = std::move(next);
    }
}

int64_t CellGrid::index_of(const std::string& name) const {
    const auto it = std::find(names_.begin(), names_.end(), name);
    if (it == names_.end()) throw make_error("unknown cell '", name, "': the cells are ", join(names_));
    return it - names_.begin();
}

std::vector<int64_t> CellGrid::classes_of(int64_t cell) const {
    std::vector<int64_t> classes(groups_.size());
    for (size_t g = groups_.size(); g-- > 0;) {
        const auto n = static_cast<int64_t>(groups_[g].classes.size());
        classes[g] = cell % n;
        cell /= n;
    }
    return classes;
}

int64_t CellGrid::cell_of(const attributes::AttributeScores& scores) const {
    int64_t cell = 0;
    for (const BalanceGroup& group : groups_) cell = cell * static_cast<int64_t>(group.classes.size()) + group.class_of(scores);
    return cell;
}

nlohmann::json CellGrid::describe(int64_t cell) const {
    nlohmann::json out = nlohmann::json::object();
    const std::vector<int64_t> classes = classes_of(cell);
    for (size_t g = 0; g < groups_.size(); ++g) out[groups_[g].name] = groups_[g].classes[static_cast<size_t>(classes[g])];
    return out;
}

int64_t CellGrid::distance(int64_t a, int64_t b) const {
    const std::vector<int64_t> ca = classes_of(a), cb = classes_of(b);
    int64_t n = 0;
    for (size_t g = 0; g < ca.size(); ++g) n += ca[g] != cb[g];
    return n;
}

std::vector<edit::AttributeEdit> CellGrid::targets(int64_t from, int64_t to) const {
    const std::vector<int64_t> cf = classes_of(from), ct = classes_of(to);
    std::vector<edit::AttributeEdit> out;
    for (size_t g = 0; g < groups_.size(); ++g) {
        if (cf[g] == ct[g]) continue;
        for (edit::AttributeEdit& e : groups_[g].targets_for(ct[g])) out.push_back(std::move(e));
    }
    return out;
}

std::vector<int64_t> requested_counts(int64_t count, const std::vector<double>& weights, int64_t n_cells) {
    TORCH_CHECK(n_cells > 0 && count >= 0, "requested_counts: bad sizes");
    std::vector<double> w = weights.empty() ? std::vector<double>(static_cast<size_t>(n_cells), 1.0) : weights;
    TORCH_CHECK(static_cast<int64_t>(w.size()) == n_cells, "requested_counts: ", w.size(), " weights for ", n_cells, " cells");
    const double total = std::accumulate(w.begin(), w.end(), 0.0);
    if (!(total > 0)) throw make_error("the balance's weights are all 0: no cell would get an image");
    std::vector<int64_t> counts(w.size());
    std::vector<std::pair<double, size_t>> remainders;
    int64_t given = 0;
    for (size_t i = 0; i < w.size(); ++i) {
        const double exact = static_cast<double>(count) * w[i] / total;
        counts[i] = static_cast<int64_t>(std::floor(exact));
        given += counts[i];
        remainders.emplace_back(exact - static_cast<double>(counts[i]), i);
    }
    std::stable_sort(remainders.begin(), remainders.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t k = 0; given < count; ++k, ++given) ++counts[remainders[k % remainders.size()].second];
    return counts;
}

void check_every_cell_reached(int64_t count, const std::vector<double>& weights, const CellGrid& grid) {
    const std::vector<int64_t> counts = requested_counts(count, weights, grid.n_cells());
    std::vector<std::string> missed;
    int64_t asked = 0;
    double total = 0, smallest = 0;
    for (int64_t c = 0; c < grid.n_cells(); ++c) {
        const double w = weights.empty() ? 1.0 : weights[static_cast<size_t>(c)];
        if (w <= 0) continue;
        ++asked;
        total += w;
        smallest = smallest > 0 ? std::min(smallest, w) : w;
        if (counts[static_cast<size_t>(c)] == 0) missed.push_back(grid.name(c));
    }
    if (missed.empty()) return;
    // Enough for every share to be at least one image (for a uniform request: one per cell).
    const auto enough = static_cast<int64_t>(std::ceil(total / smallest - 1e-9));
    std::vector<std::string> named(missed.begin(), missed.begin() + std::min<ptrdiff_t>(5, static_cast<ptrdiff_t>(missed.size())));
    if (missed.size() > named.size()) named.push_back("...");
    throw make_error("count ", count, " leaves ", missed.size(), " of the ", asked, " cells asked for without an image (",
                     join(named), "): ask for at least ", enough, " images, or fewer groups or classes");
}

std::vector<double> weights_from_json(const nlohmann::json& shares, const CellGrid& grid) {
    if (!shares.is_object()) throw make_error("a distribution must be a JSON object {\"CELL\": weight, ...}");
    std::vector<double> weights(static_cast<size_t>(grid.n_cells()), 0.0);
    for (const auto& [cell, weight] : shares.items()) {
        if (!weight.is_number() || weight.get<double>() < 0) {
            throw make_error("distribution: cell '", cell, "' has weight ", weight.dump(), " (expected a number >= 0)");
        }
        weights[static_cast<size_t>(grid.index_of(cell))] = weight.get<double>();
    }
    return weights;
}

}  // namespace facegen::synth

#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "attributes/classifier.h"
#include "edit/edit_spec.h"

// The joint distribution a synthetic dataset is balanced over: groups read off a face by
// the attribute classifier (age bands, gender, ethnicity, or any yes/no attribute), their
// cells (one class of each group: "20-29_female_asian"), the count wanted in each cell,
// and the edits that move a face into a cell.
namespace facegen::synth {

/// One attribute split into classes, as the classifier's scores decide them.
struct BalanceGroup {
    std::string name;                  // "age", "gender", "ethnicity", "smiling", ...
    std::vector<std::string> classes;  // "20-29", "female", "asian", "smiling" / "no_smiling"
    /// age only: the lower edge of each band in years (band k is [edges[k], edges[k+1])).
    std::vector<double> age_edges;

    /// The class index the scores fall in: age band of the predicted years, female at
    /// p(female) >= 0.5, the most likely ethnic group, a yes/no attribute at p >= 0.5.
    int64_t class_of(const attributes::AttributeScores& scores) const;
    /// Targets that move a face into class `k` (age: the middle of the band; probabilities:
    /// 0.85 / 0.15; ethnicity: that group's probability 0.8).
    std::vector<edit::AttributeEdit> targets_for(int64_t k) const;
};

/// Names --balance accepts: age, gender, ethnicity and the catalogue's yes/no attributes.
std::vector<std::string> balance_names();

/// Age bands from their upper edges in years: {10, 20, ..., 70} -> 0-9, 10-19, ..., 70+.
/// Throws facegen::Error for edges that are not increasing within 1..100.
std::vector<double> age_band_edges(const std::vector<double>& upper_edges);

/// "age,gender,ethnicity" -> groups. Throws facegen::Error naming an unknown or repeated
/// name, with the list of valid ones.
std::vector<BalanceGroup> parse_balance(const std::string& text, const std::vector<double>& age_upper_edges = {10, 20, 30, 40, 50, 60, 70});

/// Every combination of the groups' classes, first group varying slowest.
class CellGrid {
public:
    explicit CellGrid(std::vector<BalanceGroup> groups);

    int64_t n_cells() const { return static_cast<int64_t>(names_.size()); }
    const std::string& name(int64_t cell) const { return names_[static_cast<size_t>(cell)]; }
    /// Throws facegen::Error naming the cell and listing the valid ones.
    int64_t index_of(const std::string& name) const;
    const std::vector<BalanceGroup>& groups() const { return groups_; }
    /// The class of each group in `cell`.
    std::vector<int64_t> classes_of(int64_t cell) const;

    int64_t cell_of(const attributes::AttributeScores& scores) const;
    /// {"age": "20-29", "gender": "female", ...} of a cell.
    nlohmann::json describe(int64_t cell) const;
    /// How many groups differ between two cells (edits needed to go from one to the other).
    int64_t distance(int64_t a, int64_t b) const;
    /// Targets that move a face of cell `from` into `to` (only the groups that differ).
    std::vector<edit::AttributeEdit> targets(int64_t from, int64_t to) const;

private:
    std::vector<BalanceGroup> groups_;
    std::vector<std::string> names_;
};

/// Images wanted per cell: `count` split in proportion to `weights` (one per cell, >= 0,
/// not all 0; empty = uniform), largest remainders first, ties to the earlier cell, so the
/// counts sum to `count` exactly.
std::vector<int64_t> requested_counts(int64_t count, const std::vector<double>& weights, int64_t n_cells);

/// Throws facegen::Error when `count` split by `weights` (empty = uniform) leaves a cell
/// that the weights give a share without an image, naming those cells and a count that
/// reaches every one: a uniform request for 10 images over 80 cells would otherwise fill
/// only the first 10, all of one age band.
void check_every_cell_reached(int64_t count, const std::vector<double>& weights, const CellGrid& grid);

/// Weights per cell from a JSON object {"CELL": weight, ...} (cells left out weigh 0).
/// Throws facegen::Error naming an unknown cell or a negative weight.
std::vector<double> weights_from_json(const nlohmann::json& shares, const CellGrid& grid);

}  // namespace facegen::synth

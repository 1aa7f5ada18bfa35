#include "attributes/audit.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

#include "attributes/catalogue.h"
#include "core/error.h"
#include "data/pack.h"

namespace facegen::attributes {
namespace {

using json = nlohmann::json;

const std::vector<std::string>& age_bands() {
    static const std::vector<std::string> bands = {"0-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70+"};
    return bands;
}

std::string age_band(double years) {
    const auto index = static_cast<size_t>(std::clamp(static_cast<int>(years) / 10, 0, 7));
    return age_bands()[years < 0 ? 0 : index];
}

const std::vector<std::string>& ethnic_groups() {
    static const std::vector<std::string> groups = {"white", "black", "asian", "indian", "other"};
    return groups;
}

/// Counts of classes, turned into shares with every class present (0 when unseen).
class Tally {
public:
    explicit Tally(const std::vector<std::string>& classes) : classes_(classes) {}
    void add(const std::string& label) { ++counts_[label], ++total_; }
    json shares() const {
        json out = json::object();
        for (const std::string& c : classes_) {
            out[c] = total_ == 0 ? 0.0 : static_cast<double>(counts_.count(c) ? counts_.at(c) : 0) / static_cast<double>(total_);
        }
        return out;
    }
    int64_t total() const { return total_; }

private:
    std::vector<std::string> classes_;
    std::map<std::string, int64_t> counts_;
    int64_t total_ = 0;
};

/// The three groups of a set of faces as the classifier reads them.
struct GroupTallies {
    Tally age{age_bands()};
    Tally gender{{"male", "female"}};
    Tally ethnicity{ethnic_groups()};
    double age_sum = 0, female_sum = 0;
    int64_t n = 0;

    void add_scores(const AttributeScores& scores) {
        const double years = scores[static_cast<size_t>(attribute_index("age"))];
        const double female = scores[static_cast<size_t>(attribute_index("gender"))];
        age.add(age_band(years));
        gender.add(female >= 0.5 ? "female" : "male");
        size_t best = 0;
        for (size_t g = 1; g < ethnic_groups().size(); ++g) {
            if (scores[static_cast<size_t>(attribute_index("ethnicity_" + ethnic_groups()[g]))] >
                scores[static_cast<size_t>(attribute_index("ethnicity_" + ethnic_groups()[best]))]) {
                best = g;
            }
        }
        ethnicity.add(ethnic_groups()[best]);
        age_sum += years, female_sum += female, ++n;
    }
    json to_json() const {
        return {{"n", n},
                {"age_band", age.shares()},
                {"gender", gender.shares()},
                {"ethnicity", ethnicity.shares()},
                {"mean_age_years", n ? age_sum / static_cast<double>(n) : 0.0},
                {"mean_probability_female", n ? female_sum / static_cast<double>(n) : 0.0}};
    }
};

}  // namespace

json audit_outputs(generate::Session& session, AttributeClassifier& classifier, const std::filesystem::path& dataset,
                   const AuditOptions& options, const std::function<void(int64_t, int64_t)>& progress) {
    if (options.count < 1) throw make_error("bad audit count ", options.count, ": expected 1 or more");
    if (options.dataset_images < 0) throw make_error("bad dataset_images ", options.dataset_images);
    generate::Request request;
    for (int64_t i = 0; i < options.count; ++i) request.seeds.push_back(options.first_seed + static_cast<uint32_t>(i));
    request.truncation_psi = options.truncation_psi;
    request.batch = options.batch;
    session.check(request);

    GroupTallies generated;
    const int64_t total = options.count + (dataset.empty() ? 0 : options.dataset_images);
    {
        torch::InferenceMode inference;
        for (int64_t begin = 0; begin < options.count; begin += options.batch) {
            const int64_t n = std::min(options.batch, options.count - begin);
            for (const AttributeScores& scores :
                 classifier.score(session.synthesize(session.ws_for(request, begin, n), request.noise_mode))) {
                generated.add_scores(scores);
            }
            if (progress) progress(begin + n, total);
        }
    }
    json out = {{"model_id", session.metadata().model_id},
                {"truncation_psi", session.truncation_psi_for(request)},
                {"seeds", std::to_string(options.first_seed) + "-" + std::to_string(options.first_seed + options.count - 1)},
                {"classifier", "age band from the predicted age, gender at p(female) >= 0.5, ethnicity the most likely group"},
                {"generated", generated.to_json()}};
    if (dataset.empty()) return out;

    const data::PackedDataset pack(dataset);
    const data::PackIndex& index = pack.index();
    const int64_t age_column = index.column_index("age"), gender_column = index.column_index("gender"),
                  race_column = index.column_index("race");
    Tally label_age(age_bands()), label_gender({"male", "female"}), label_race(ethnic_groups());
    for (const auto& row : index.labels) {
        if (age_column >= 0 && row[static_cast<size_t>(age_column)] >= 0) {
            label_age.add(age_band(static_cast<double>(row[static_cast<size_t>(age_column)])));
        }
        if (gender_column >= 0 && row[static_cast<size_t>(gender_column)] >= 0) {
            label_gender.add(row[static_cast<size_t>(gender_column)] == 1 ? "female" : "male");
        }
        if (race_column >= 0 && row[static_cast<size_t>(race_column)] >= 0) {
            label_race.add(ethnic_groups()[static_cast<size_t>(std::min<int64_t>(row[static_cast<size_t>(race_column)], 4))]);
        }
    }
    json labels = {{"n", pack.size()}};
    if (label_age.total()) labels["age_band"] = label_age.shares();
    if (label_gender.total()) labels["gender"] = label_gender.shares();
    if (label_race.total()) labels["ethnicity"] = label_race.shares();
    out["training_labels"] = labels;
    out["dataset"] = dataset.filename().string();

    if (options.dataset_images > 0) {
        GroupTallies classified;
        const int64_t n_images = std::min(options.dataset_images, pack.size());
        const int64_t side = pack.resolution();
        if (pack.channels() != 3) throw make_error("dataset '", dataset.string(), "' is not RGB");
        // An even spread over the dataset (its order is the build's, not sorted by label).
        torch::Tensor images = torch::empty({n_images, side, side, 3}, torch::kUInt8);
        for (int64_t i = 0; i < n_images; ++i) {
            const int64_t row = i * pack.size() / n_images;
            images[i].copy_(torch::from_blob(const_cast<uint8_t*>(pack.image(row)), {3, side, side}, torch::kUInt8)
                                .permute({1, 2, 0}));
        }
        for (int64_t begin = 0; begin < n_images; begin += 256) {
            const int64_t n = std::min<int64_t>(256, n_images - begin);
            for (const AttributeScores& scores : classifier.score(images.narrow(0, begin, n))) classified.add_scores(scores);
            if (progress) progress(options.count + begin + n, total);
        }
        out["training_classified"] = classified.to_json();
    }
    return out;
}

std::string audit_chart_svg(const json& audit) {
    const std::vector<std::pair<std::string, std::string>> sources = {
        {"generated", "#d95f02"}, {"training_classified", "#7570b3"}, {"training_labels", "#1b9e77"}};
    const std::vector<std::string> groups = {"age_band", "gender", "ethnicity"};
    constexpr int kBar = 9, kClassGap = 10, kPanelHeight = 180, kTop = 50, kLeft = 50;
    std::ostringstream svg;
    int width = kLeft;
    std::vector<int> panel_x;
    for (const std::string& group : groups) {
        panel_x.push_back(width);
        width += static_cast<int>(audit["generated"][group].size()) * (3 * kBar + kClassGap) + 40;
    }
    svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << kTop + kPanelHeight + 60
        << "\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    svg << "<text x=\"" << kLeft << "\" y=\"18\" font-size=\"14\">Who the model draws: share of faces per group (model "
        << audit.value("model_id", std::string("?")) << ")</text>\n";
    int legend_x = kLeft;
    for (const auto& [source, colour] : sources) {
        if (!audit.contains(source)) continue;
        svg << "<rect x=\"" << legend_x << "\" y=\"28\" width=\"10\" height=\"10\" fill=\"" << colour << "\"/><text x=\""
            << legend_x + 14 << "\" y=\"37\">" << source << "</text>\n";
        legend_x += 150;
    }
    const int base = kTop + kPanelHeight;
    svg << "<line x1=\"" << kLeft - 5 << "\" y1=\"" << base << "\" x2=\"" << width - 20 << "\" y2=\"" << base
        << "\" stroke=\"black\"/>\n";
    for (int tick = 0; tick <= 100; tick += 25) {
        const int y = base - tick * kPanelHeight / 100;
        svg << "<text x=\"" << kLeft - 8 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">" << tick << "%</text>\n";
    }
    for (size_t g = 0; g < groups.size(); ++g) {
        int x = panel_x[g];
        svg << "<text x=\"" << x << "\" y=\"" << base + 40 << "\" font-weight=\"bold\">" << groups[g] << "</text>\n";
        for (const auto& item : audit["generated"][groups[g]].items()) {
            int bar_x = x;
            for (const auto& [source, colour] : sources) {
                if (audit.contains(source) && audit[source].contains(groups[g]) && audit[source][groups[g]].contains(item.key())) {
                    const double share = audit[source][groups[g]][item.key()].get<double>();
                    const int h = static_cast<int>(share * kPanelHeight + 0.5);
                    svg << "<rect x=\"" << bar_x << "\" y=\"" << base - h << "\" width=\"" << kBar - 1 << "\" height=\"" << h
                        << "\" fill=\"" << colour << "\"><title>" << source << " " << item.key() << ": "
                        << static_cast<int>(share * 1000 + 0.5) / 10.0 << "%</title></rect>\n";
                }
                bar_x += kBar;
            }
            svg << "<text x=\"" << x + kBar * 3 / 2 << "\" y=\"" << base + 14 << "\" text-anchor=\"middle\">" << item.key()
                << "</text>\n";
            x += 3 * kBar + kClassGap;
        }
    }
    svg << "</svg>\n";
    return svg.str();
}

}  // namespace facegen::attributes

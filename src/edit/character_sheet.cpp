#include "edit/character_sheet.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <set>

#include "attributes/catalogue.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/image_grid.h"
#include "generate/bundled_model.h"
#include "provenance/labelled_png.h"

namespace facegen::edit {
namespace {

/// Faces per forward pass of the generator and the identity network: a sheet of four rows
/// and seven columns fits in two passes at 64x64 and stays bounded at 1024x1024.
constexpr int64_t kBatch = 16;

Variation variation(std::string name, std::vector<AttributeEdit> far_end, std::string description) {
    return {std::move(name), std::move(far_end), std::move(description)};
}

AttributeEdit change(const std::string& attribute, double value) { return {attribute, /*absolute=*/false, value}; }

std::string format_number(double value, bool with_sign) {
    char text[32];
    std::snprintf(text, sizeof text, with_sign ? "%+.3g" : "%.3g", value);
    return text;
}

/// "yaw -20..+20": the ends of a change as a row shows them.
std::string describe_ends(const AttributeEdit& far_end, double kept_negative, double kept_positive) {
    return far_end.attribute + " " + format_number(-far_end.value * kept_negative, true) + ".." +
           format_number(far_end.value * kept_positive, true);
}

std::vector<AttributeEdit> scaled(const std::vector<AttributeEdit>& far_end, double factor) {
    std::vector<AttributeEdit> out = far_end;
    for (AttributeEdit& e : out) e.value *= factor;
    return out;
}

/// uint8 images [N, H, W, C] -> float [N, 3, H, W] in [-1, 1], the generator's range the
/// identity network's crop expects.
torch::Tensor to_generator_range(const torch::Tensor& pixels) {
    torch::Tensor x = pixels.permute({0, 3, 1, 2}).to(torch::kFloat32) / 127.5 - 1;
    if (x.size(1) == 1) x = x.expand({-1, 3, -1, -1});
    if (x.size(1) == 4) x = x.narrow(1, 0, 3);
    return x;
}

/// One side (negative or positive) of one row while its steps are searched.
struct Side {
    int64_t row = 0;
    int sign = 1;
    double kept = 1;
    int shrinks = 0;
    bool done = false;
    std::vector<std::vector<EditOutcome>> outcomes;  // per cell, nearest the original first
    torch::Tensor ws;                                // [half, num_ws, w_dim]
    torch::Tensor pixels;                            // [half, H, W, C]
    torch::Tensor distances;                         // float64 [half]
};

}  // namespace

const std::vector<Variation>& sheet_variations() {
    static const std::vector<Variation> variations = {
        variation("pose", {change("yaw", 20)}, "head turned 20 degrees to the image's left, then to its right"),
        variation("expression", {change("smiling", 4), change("mouth_open", 2)},
                  "from a closed, unsmiling mouth to an open smile (smiling -4..+4, mouth_open -2..+2 log-odds)"),
        variation("lighting", {change("light_direction", 0.15)}, "lit from the image's left, then from its right"),
        variation("age", {change("age", 30)}, "30 years younger to 30 years older (as far as the model's faces go)"),
        variation("yaw", {change("yaw", 20)}, "yaw -20..+20 degrees"),
        variation("pitch", {change("pitch", 10)}, "looking down, then up: pitch -10..+10 degrees"),
        variation("smiling", {change("smiling", 4)}, "smiling -4..+4 log-odds"),
        variation("mouth_open", {change("mouth_open", 3)}, "mouth_open -3..+3 log-odds"),
        variation("brightness", {change("brightness", 0.1)}, "darker to brighter: brightness -0.1..+0.1"),
        variation("light_direction", {change("light_direction", 0.15)}, "light_direction -0.15..+0.15"),
    };
    return variations;
}

std::string sheet_variation_names() {
    std::string names;
    for (const Variation& v : sheet_variations()) names += (names.empty() ? "" : ", ") + v.name;
    return names;
}

std::vector<Variation> parse_variations(const std::string& text) {
    std::vector<Variation> out;
    std::set<std::string> seen;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t comma = text.find(',', start);
        std::string name = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        start = comma == std::string::npos ? text.size() + 1 : comma + 1;
        name.erase(0, name.find_first_not_of(" \t"));
        name.erase(name.find_last_not_of(" \t") + 1);
        if (name.empty()) {
            throw make_error("variations '", text, "': an empty name; give a comma-separated list of ",
                             sheet_variation_names());
        }
        const auto known = std::find_if(sheet_variations().begin(), sheet_variations().end(),
                                        [&](const Variation& v) { return v.name == name; });
        if (known == sheet_variations().end()) {
            throw make_error("unknown variation '", name, "': expected some of ", sheet_variation_names());
        }
        if (!seen.insert(name).second) throw make_error("variation '", name, "' given twice");
        out.push_back(*known);
    }
    return out;
}

void CharacterSheetOptions::validate() const {
    if (columns < 3 || columns > 15 || columns % 2 == 0) {
        throw make_error("bad sheet column count ", columns, ": expected an odd number 3..15 (the original in the middle)");
    }
    if (!(identity_limit > 0)) throw make_error("bad identity limit ", identity_limit, ": expected a distance > 0");
    if (!(shrink_factor > 0 && shrink_factor < 1)) {
        throw make_error("bad shrink factor ", shrink_factor, ": expected a number in (0, 1)");
    }
    if (max_shrinks < 0 || max_shrinks > 50) throw make_error("bad shrink count ", max_shrinks, ": expected 0..50");
    if (!(crop_scale > 0)) throw make_error("bad crop scale ", crop_scale, ": expected > 0");
}

torch::Tensor CharacterSheet::image() const { return core::make_image_grid(pixels, n_columns); }

std::vector<std::string> CharacterSheet::notes() const {
    std::vector<std::string> out;
    for (const SheetRow& row : rows) {
        for (const int sign : {-1, 1}) {
            const double kept = sign < 0 ? row.kept_negative : row.kept_positive;
            if (kept >= 1) continue;
            std::string ends;
            for (const AttributeEdit& e : row.variation.far_end) {
                ends += (ends.empty() ? "" : ", ") + e.attribute + " " + format_number(sign * e.value, true) +
                        (kept > 0 ? " shrunk to " + format_number(sign * e.value * kept, true) : "");
            }
            out.push_back(row.variation.name + ": " + ends +
                          (kept > 0 ? " to stay the same person"
                                    : ": every step left the person, so that side shows the original face"));
        }
    }
    return out;
}

nlohmann::json CharacterSheet::report() const {
    nlohmann::json j;
    j["seed"] = provenance.seed ? nlohmann::json(*provenance.seed) : nlohmann::json(nullptr);
    j["model_id"] = provenance.model_id;
    j["truncation_psi"] = provenance.truncation_psi;
    j["rows"] = rows.size();
    j["columns"] = n_columns;
    j["cell_size"] = pixels.defined() ? nlohmann::json{pixels.size(1), pixels.size(2)} : nlohmann::json::array();
    j["identity_limit"] = identity_limit;
    j["seconds"] = seconds;
    double sheet_max = 0, sheet_sum = 0;
    int64_t sheet_n = 0;
    nlohmann::json rows_json = nlohmann::json::array();
    for (size_t r = 0; r < rows.size(); ++r) {
        const SheetRow& row = rows[r];
        double row_max = 0, row_sum = 0;
        int64_t row_n = 0;
        for (const SheetCell& cell : cells) {
            if (cell.row != static_cast<int64_t>(r) || cell.column == n_columns / 2) continue;
            row_max = std::max(row_max, cell.identity_distance);
            row_sum += cell.identity_distance;
            ++row_n;
        }
        sheet_max = std::max(sheet_max, row_max);
        sheet_sum += row_sum;
        sheet_n += row_n;
        nlohmann::json ends = nlohmann::json::array();
        for (const AttributeEdit& e : row.variation.far_end) {
            ends.push_back(describe_ends(e, row.kept_negative, row.kept_positive));
        }
        rows_json.push_back({{"variation", row.variation.name},
                             {"description", row.variation.description},
                             {"asked", to_string(row.variation.far_end)},
                             {"ends", ends},
                             {"kept_negative", row.kept_negative},
                             {"kept_positive", row.kept_positive},
                             {"shrinks_negative", row.shrinks_negative},
                             {"shrinks_positive", row.shrinks_positive},
                             {"identity_distance_max", row_max},
                             {"identity_distance_mean", row_n > 0 ? row_sum / static_cast<double>(row_n) : 0.0}});
    }
    j["variations"] = rows_json;
    j["identity_distance_max"] = sheet_max;
    j["identity_distance_mean"] = sheet_n > 0 ? sheet_sum / static_cast<double>(sheet_n) : 0.0;
    j["same_person_everywhere"] = sheet_max < identity_limit;
    nlohmann::json cells_json = nlohmann::json::array();
    for (const SheetCell& cell : cells) {
        nlohmann::json changes = nlohmann::json::array();
        nlohmann::json readings = nlohmann::json::object();
        for (size_t k = 0; k < cell.changes.size(); ++k) {
            const EditOutcome& o = cell.changes[k];
            changes.push_back({{"asked", to_string(o.edit)}, {"made", o.reached}, {"at_edge", o.at_edge}});
            if (k < cell.attribute_change.size()) readings[o.edit.attribute] = cell.attribute_change[k];
        }
        nlohmann::json c = {{"row", cell.row},
                            {"column", cell.column},
                            {"position", cell.position},
                            {"changes", changes},
                            {"identity_distance", cell.identity_distance}};
        if (!cell.attribute_change.empty()) c["attribute_change"] = readings;
        cells_json.push_back(c);
    }
    j["cells"] = cells_json;
    j["attribute_change_units"] = "the classifier's units: years, probability, degrees, luma";
    j["notes"] = notes();
    return j;
}

CharacterSheetMaker::CharacterSheetMaker(generate::Session& session, Editor& editor,
                                         identity::FaceRecognitionNet identity_net,
                                         attributes::AttributeClassifier* classifier, CharacterSheetOptions options)
    : session_(session),
      editor_(editor),
      identity_net_(std::move(identity_net)),
      classifier_(classifier),
      options_(std::move(options)) {
    options_.validate();
    for (auto& parameter : identity_net_->parameters()) parameter.set_requires_grad(false);
    identity_net_->eval();
}

void CharacterSheetMaker::check(const std::vector<Variation>& variations) const {
    if (variations.empty()) {
        throw make_error("a character sheet needs at least one variation (", sheet_variation_names(), ")");
    }
    for (const Variation& v : variations) {
        try {
            editor_.check(v.far_end);
        } catch (const Error& e) {
            throw make_error("variation '", v.name, "' cannot be made: ", e.what());
        }
    }
}

torch::Tensor CharacterSheetMaker::descriptors(const torch::Tensor& pixels) {
    std::vector<torch::Tensor> parts;
    for (int64_t begin = 0; begin < pixels.size(0); begin += kBatch) {
        const torch::Tensor chunk = pixels.narrow(0, begin, std::min(kBatch, pixels.size(0) - begin));
        parts.push_back(identity::embed_aligned_faces(identity_net_, to_generator_range(chunk).to(session_.device()),
                                                      options_.crop_scale)
                            .to(torch::kCPU, torch::kFloat64));
    }
    return torch::cat(parts);
}

CharacterSheet CharacterSheetMaker::make(const generate::Request& face, const std::vector<Variation>& variations) {
    const auto started = std::chrono::steady_clock::now();
    check(variations);
    session_.check(face);
    if (face.n_images() != 1) throw make_error("a character sheet shows one face; the request makes ", face.n_images());
    torch::InferenceMode inference;

    const uint64_t noise_seed = face.latents ? 0 : face.seeds[0];
    const auto synthesize = [&](const torch::Tensor& ws) {
        std::vector<torch::Tensor> parts;
        for (int64_t begin = 0; begin < ws.size(0); begin += kBatch) {
            const int64_t n = std::min(kBatch, ws.size(0) - begin);
            // Every cell gets the original's noise: the same person down to the pores.
            parts.push_back(session_.synthesize(ws.narrow(0, begin, n), face.noise_mode,
                                                std::vector<uint64_t>(static_cast<size_t>(n), noise_seed)));
        }
        return torch::cat(parts);
    };
    const torch::Tensor original_ws = session_.ws_for(face, 0, 1);
    const torch::Tensor original = synthesize(original_ws);
    const torch::Tensor original_descriptor = descriptors(original);

    const int64_t half = (options_.columns - 1) / 2;
    std::vector<Side> sides;
    for (size_t r = 0; r < variations.size(); ++r) {
        for (const int sign : {-1, 1}) {
            Side side;
            side.row = static_cast<int64_t>(r);
            side.sign = sign;
            sides.push_back(std::move(side));
        }
    }
    // Round by round, every side still too far is shrunk and made again, all in one batch.
    while (true) {
        std::vector<Side*> pending;
        for (Side& side : sides) {
            if (!side.done) pending.push_back(&side);
        }
        if (pending.empty()) break;
        std::vector<torch::Tensor> batch;
        for (Side* side : pending) {
            side->outcomes.clear();
            std::vector<torch::Tensor> cells;
            for (int64_t k = 1; k <= half; ++k) {
                const double t = side->sign * side->kept * static_cast<double>(k) / static_cast<double>(half);
                std::vector<std::vector<EditOutcome>> outcomes;
                cells.push_back(editor_.apply_changes(original_ws, scaled(variations[side->row].far_end, t), &outcomes));
                side->outcomes.push_back(std::move(outcomes[0]));
            }
            side->ws = torch::cat(cells);
            batch.push_back(side->ws);
        }
        const torch::Tensor pixels = synthesize(torch::cat(batch));
        const torch::Tensor distances =
            identity::descriptor_distance(descriptors(pixels), original_descriptor.expand({pixels.size(0), -1}));
        int64_t offset = 0;
        for (Side* side : pending) {
            side->pixels = pixels.narrow(0, offset, half);
            side->distances = distances.narrow(0, offset, half);
            offset += half;
            if (side->distances.max().item<double>() < options_.identity_limit) {
                side->done = true;
            } else if (side->shrinks < options_.max_shrinks) {
                side->kept *= options_.shrink_factor;
                ++side->shrinks;
            } else {
                // Even the smallest step left the person: show the original there.
                side->kept = 0;
                side->done = true;
                side->pixels = original.expand({half, -1, -1, -1}).clone();
                side->distances = torch::zeros({half}, torch::kFloat64);
                for (auto& cell : side->outcomes) {
                    for (EditOutcome& o : cell) o = EditOutcome{{o.edit.attribute, false, 0}, 0, false, false};
                }
            }
        }
    }

    CharacterSheet sheet;
    sheet.n_columns = options_.columns;
    sheet.identity_limit = options_.identity_limit;
    std::vector<torch::Tensor> all_pixels, all_ws;
    for (size_t r = 0; r < variations.size(); ++r) {
        const Side& negative = sides[2 * r];
        const Side& positive = sides[2 * r + 1];
        sheet.rows.push_back({variations[r], negative.kept, positive.kept, negative.shrinks, positive.shrinks});
        for (int64_t column = 0; column < options_.columns; ++column) {
            SheetCell cell;
            cell.row = static_cast<int64_t>(r);
            cell.column = column;
            const int64_t offset = column - half;
            if (offset == 0) {
                for (const AttributeEdit& e : variations[r].far_end) {
                    cell.changes.push_back({{e.attribute, false, 0}, 0, false, false});
                }
                all_pixels.push_back(original[0]);
                all_ws.push_back(original_ws[0]);
            } else {
                const Side& side = offset < 0 ? negative : positive;
                const int64_t k = std::abs(offset) - 1;
                cell.position = side.kept * static_cast<double>(offset) / static_cast<double>(half);
                cell.changes = side.outcomes[static_cast<size_t>(k)];
                cell.identity_distance = side.distances[k].item<double>();
                all_pixels.push_back(side.pixels[k]);
                all_ws.push_back(side.kept > 0 ? side.ws[k] : original_ws[0]);
            }
            sheet.cells.push_back(std::move(cell));
        }
    }
    sheet.pixels = torch::stack(all_pixels).contiguous();
    sheet.ws = torch::stack(all_ws).to(torch::kCPU);

    if (classifier_ != nullptr) {
        const std::vector<attributes::AttributeScores> scores = classifier_->score(torch::cat({original, sheet.pixels}));
        for (size_t i = 0; i < sheet.cells.size(); ++i) {
            SheetCell& cell = sheet.cells[i];
            for (const EditOutcome& o : cell.changes) {
                const auto index = static_cast<size_t>(attributes::attribute_index(o.edit.attribute));
                cell.attribute_change.push_back(scores[i + 1][index] - scores[0][index]);
            }
        }
    }

    sheet.provenance = session_.provenance_for(face);
    if (face.latents) {
        sheet.provenance.latent_index = 0;
    } else {
        sheet.provenance.seed = face.seeds[0];
    }
    sheet.provenance.n_images = static_cast<int64_t>(sheet.cells.size());
    std::string rows_text;
    for (const SheetRow& row : sheet.rows) {
        std::string ends;
        for (const AttributeEdit& e : row.variation.far_end) {
            ends += (ends.empty() ? "" : ", ") + describe_ends(e, row.kept_negative, row.kept_positive);
        }
        rows_text += (rows_text.empty() ? "" : "; ") + row.variation.name + " (" + ends + ")";
    }
    std::string edit_text = "character sheet, " + std::to_string(sheet.rows.size()) + " rows x " +
                            std::to_string(sheet.n_columns) + " columns, original in the middle: " + rows_text +
                            " (directions for model " + editor_.directions().model_id() + ")";
    if (!face.adjustment.empty()) edit_text = face.adjustment + "; " + edit_text;
    sheet.provenance.edit = edit_text;
    sheet.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return sheet;
}

identity::FaceRecognitionNet load_sheet_identity_network(const std::filesystem::path& given, torch::Device device) {
    std::filesystem::path path = given;
    if (path.empty()) {
        const auto shipped = generate::find_shipped_file("facegen-face-recognition.safetensors");
        if (!shipped) {
            throw make_error("a character sheet measures identity with the face recognition network, and none is "
                             "shipped (models/facegen-face-recognition.safetensors)");
        }
        path = *shipped;
    }
    return identity::load_face_recognition(path, device);
}

std::filesystem::path sheet_report_path(const std::filesystem::path& png_path) {
    std::filesystem::path out = png_path;
    return out.replace_extension(".json");
}

void write_character_sheet(const CharacterSheet& sheet, const std::filesystem::path& png_path) {
    provenance::write_labelled_png(png_path, sheet.image(), sheet.provenance);
    core::write_file_atomically(sheet_report_path(png_path), sheet.report().dump(2) + "\n");
}

}  // namespace facegen::edit

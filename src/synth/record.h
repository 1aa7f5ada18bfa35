#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "attributes/classifier.h"

// One kept face of a synthetic dataset, as the journal and labels.json hold it.
namespace facegen::synth {

struct ImageRecord {
    std::string file;  // relative to the dataset folder: "<cell>/seed00001234.png"
    std::string cell;
    uint32_t seed = 0;
    /// The edit that moved the face into its cell ("" = drawn there), as Editor::describe.
    std::string edit;
    attributes::AttributeScores scores;
    std::vector<float> w;  // the latent every layer used (after truncation and edit)
    uint64_t phash = 0;
    /// The memorisation check, once done: RMS distance to the nearest training face.
    std::optional<double> nearest_rms;
    int64_t nearest_index = -1;
    bool nearest_mirrored = false;

    /// With `w` when with_latent (the journal), without it for labels.json (which points
    /// at the row of latents.npy instead).
    nlohmann::json to_json(bool with_latent) const;
    /// Throws facegen::Error naming the field of a malformed record.
    static ImageRecord from_json(const nlohmann::json& j);
};

/// "seed00001234.png".
std::string image_file_name(uint32_t seed);

}  // namespace facegen::synth

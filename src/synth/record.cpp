#include "synth/record.h"

#include <cstdio>

#include "attributes/catalogue.h"
#include "core/error.h"

namespace facegen::synth {

nlohmann::json ImageRecord::to_json(bool with_latent) const {
    char hash[17];
    std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(phash));
    nlohmann::json j = {{"file", file}, {"cell", cell}, {"seed", seed}, {"edit", edit},
                        {"scores", attributes::to_json(scores)}, {"phash", hash}};
    if (with_latent) j["w"] = w;
    if (nearest_rms) j["nearest"] = {{"rms", *nearest_rms}, {"index", nearest_index}, {"mirrored", nearest_mirrored}};
    return j;
}

ImageRecord ImageRecord::from_json(const nlohmann::json& j) {
    try {
        ImageRecord r;
        r.file = j.at("file").get<std::string>();
        r.cell = j.at("cell").get<std::string>();
        r.seed = j.at("seed").get<uint32_t>();
        r.edit = j.at("edit").get<std::string>();
        for (const attributes::AttributeSpec& spec : attributes::attribute_catalogue()) {
            r.scores.push_back(j.at("scores").at(spec.name).get<double>());
        }
        r.w = j.at("w").get<std::vector<float>>();
        r.phash = std::stoull(j.at("phash").get<std::string>(), nullptr, 16);
        if (j.contains("nearest")) {
            r.nearest_rms = j["nearest"].at("rms").get<double>();
            r.nearest_index = j["nearest"].at("index").get<int64_t>();
            r.nearest_mirrored = j["nearest"].at("mirrored").get<bool>();
        }
        return r;
    } catch (const std::exception& e) {
        throw make_error("malformed image record ", j.dump().substr(0, 120), ": ", e.what());
    }
}

std::string image_file_name(uint32_t seed) {
    char name[32];
    std::snprintf(name, sizeof name, "seed%08u.png", seed);
    return name;
}

}  // namespace facegen::synth

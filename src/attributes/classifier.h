#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "attributes/head_pose.h"
#include "facenet/face_cnn.h"

// The attribute classifier as a file (safetensors: the network's weights, with the names
// of its outputs and its training report in the metadata) and as an object that scores
// faces in the units of attribute_catalogue().
namespace facegen::attributes {

inline constexpr const char* kClassifierFormat = "facegen-attributes";
inline constexpr int kClassifierFormatVersion = 1;
inline constexpr const char* kBundledClassifierFileName = "facegen-attributes.safetensors";

/// One value per attribute_catalogue() entry, in its unit.
using AttributeScores = std::vector<double>;

class AttributeClassifier {
public:
    /// `width`: the network's (facenet::FaceCnnOptions); its outputs are the learned attributes.
    explicit AttributeClassifier(int64_t width, std::string report_json = "{}");
    /// Loads and checks a classifier file. Throws facegen::Error naming the file for one
    /// that is missing, truncated, corrupt, of another format or version, made for another
    /// list of attributes, or whose weights do not fit its network.
    static AttributeClassifier load(const std::filesystem::path& path);
    /// Writes the classifier atomically.
    void save(const std::filesystem::path& path) const;

    /// Scores of uint8 [N, S, S, 3] images (S >= 64): learned attributes from the network,
    /// measured ones from the pixels and landmarks. Batch by batch, no gradient. Throws
    /// facegen::Error when dlib's landmark model (Debian package libdlib-data) is missing.
    std::vector<AttributeScores> score(const torch::Tensor& images_nhwc);

    facenet::FaceCnn& net() { return net_; }
    const std::string& report_json() const { return report_json_; }
    void set_report(std::string report_json) { report_json_ = std::move(report_json); }

private:
    facenet::FaceCnn net_;
    std::string report_json_;
    std::shared_ptr<const HeadPoseReader> pose_reader_;  // made when first needed: training never is
};

/// Raw network outputs [N, learned] -> values in the catalogue's units [N, learned] (age in
/// years, sigmoid probabilities, the ethnicity softmax).
torch::Tensor outputs_to_values(const torch::Tensor& outputs);

/// The measured attributes of uint8 [N, S, S, 3] faces, float64 [N, 2]: brightness and
/// light direction (catalogue units), read in the central box where an aligned face's
/// skin is (the middle half across, from 30% to 80% down), so background and hair count little.
torch::Tensor measure_lighting(const torch::Tensor& images_nhwc);

/// {"age": 31.2, "gender": 0.93, ...}: every attribute by name.
nlohmann::json to_json(const AttributeScores& scores);

/// The classifier to use when none is given: $FACEGEN_ATTRIBUTES when set (an error if it
/// names no file), else the shipped models/facegen-attributes.safetensors, else nullopt.
std::optional<std::filesystem::path> default_classifier_path();

}  // namespace facegen::attributes

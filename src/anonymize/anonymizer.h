#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "anonymize/candidate_pool.h"
#include "anonymize/face_mask.h"
#include "anonymize/face_paste.h"
#include "anonymize/options.h"
#include "attributes/classifier.h"
#include "data/face_align.h"
#include "data/image_io.h"
#include "generate/session.h"
#include "identity/face_recognition.h"

// facegen::anonymize: every face of a photo replaced by a person who does not exist, with
// the same pose, expression, apparent age, gender, skin tone and lighting; the rest of the
// photo untouched. A generated face is chosen from a scored pool (candidate_pool.h),
// matched in colour (colour_match.h) and carried back through the inverse of the face's
// alignment under a soft mask (face_paste.h).
namespace facegen::anonymize {

/// The model files an anonymiser loads; empty = the shipped default of each.
struct AnonymizerModels {
    std::filesystem::path generator;         // generate::Session's default: the bundled model
    std::filesystem::path classifier;        // attributes::default_classifier_path()
    std::filesystem::path face_recognition;  // identity::kDefaultFaceRecognitionPath
    std::filesystem::path landmarks = data::kDefaultPredictorPath;
};

/// What the report says of a face: its attributes in the photo and, when replaced, those of
/// the face that replaced it.
struct FaceTraits {
    double age = 0, gender = 0, smiling = 0, brightness = 0, yaw = 0, pitch = 0;
};

/// What became of one face of a photo.
struct FaceOutcome {
    enum class Action { kReplaced, kBlurred, kKept };
    Action action = Action::kKept;
    std::string reason;           // why it was not replaced ("" when replaced)
    PixelBox box;                 // detector box, photo pixels
    double face_px = 0;           // side of its FFHQ square, photo pixels
    FaceTraits original;
    std::optional<FaceTraits> replacement;   // the chosen pool face's traits
    std::optional<uint32_t> seed;            // of the replacement
    bool mirrored = false;
    double mismatch = 0;                     // attribute_mismatch of the chosen face
    double identity_distance = 0;            // original vs the pasted result, same crop (replaced faces)
    int64_t pixels_changed = 0;
    // Filled by AnonymizeOptions::verify: the face as found again in the result.
    std::optional<bool> found_in_output;
    std::optional<double> output_identity_distance;
    std::optional<FaceTraits> output;
};
std::string to_string(FaceOutcome::Action action);

/// A photo after anonymisation.
struct AnonymizedPhoto {
    data::RgbImage image;
    std::vector<FaceOutcome> faces;  // largest first
    /// Pixels outside every face's mask that differ from the input (0 by construction;
    /// counted, not assumed).
    int64_t pixels_changed_outside_masks = 0;
    double seconds = 0;
    int64_t n_replaced() const;
    int64_t n_blurred() const;
    bool unchanged() const;  // no face replaced or blurred: the output is the input
};

nlohmann::json to_json(const FaceOutcome& face);
/// The photo's report: sizes, counts, each face, timing.
nlohmann::json to_json(const AnonymizedPhoto& photo);

class Anonymizer {
public:
    /// Loads the models and builds the candidate pool (seconds: options.pool_size faces are
    /// generated and scored; `progress` reports them). Throws facegen::Error naming a
    /// missing or unsound model file.
    Anonymizer(const AnonymizerModels& models, const AnonymizeOptions& options,
               const core::ProgressCallback& progress = {});
    ~Anonymizer();

    /// Replaces the faces of `photo`; `name` names it in errors. Throws facegen::Error for a
    /// photo over options.max_pixels. A photo without faces comes back unchanged.
    AnonymizedPhoto anonymize(const data::RgbImage& photo, const std::string& name);

    const AnonymizeOptions& options() const { return options_; }
    /// Provenance of an output with `n_replaced` generated faces (model id, licence, psi).
    provenance::ImageProvenance provenance_for(int64_t n_replaced) const;

private:
    struct Located {
        data::FaceDetection detection;
        data::FFHQQuad quad;
    };
    std::vector<Located> locate_faces(const data::RgbImage& photo);
    FaceOutcome replace_face(data::RgbImage& image, const Located& face);
    void verify(const data::RgbImage& result, std::vector<FaceOutcome>& faces,
                const std::vector<Located>& located, const std::vector<torch::Tensor>& originals);
    torch::Tensor identity_descriptor(const data::RgbImage& photo, const data::FFHQQuad& quad);
    FaceTraits traits_of(const data::RgbImage& photo, const data::FFHQQuad& quad);

    AnonymizeOptions options_;
    generate::Session session_;
    attributes::AttributeClassifier classifier_;
    identity::FaceRecognitionNet identity_net_;
    std::unique_ptr<data::FaceDetector> detector_;
    std::unique_ptr<data::LandmarkPredictor> predictor_;
    std::unique_ptr<CandidatePool> pool_;
    FaceMask mask_;
};

}  // namespace facegen::anonymize

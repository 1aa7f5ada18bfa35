#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "model/config.h"
#include "model/discriminator.h"
#include "model/generator.h"

// The facegen model file (docs/model_format.md): a safetensors file holding the generator's
// parameters and buffers under their official names plus string metadata, and optionally
// the discriminator trained with it (like an official network pickle), so that training can
// start again from the file.
namespace facegen::model {

inline constexpr const char* kModelFormat = "facegen-model";
/// Version 1: generator only. Version 2 adds the optional discriminator; a file without
/// one is still written as version 1, so older readers keep reading it.
inline constexpr int kModelFormatVersion = 2;
/// Name prefix of the discriminator's tensors in a model file.
inline constexpr const char* kDiscriminatorPrefix = "discriminator.";

struct ModelMetadata {              // stored in the safetensors "__metadata__"
    std::string model_id;           // content hash of the weights, filled by save
    std::string license;            // e.g. "non-commercial research only (UTKFace, CelebA)"
    std::string provenance_json;    // free JSON: dataset, kimg, hardware, converted-from, ...
    std::string description;
    std::string created;            // UTC ISO-8601, filled by save
    std::string facegen_version;    // facegen::kVersion of the writer, filled by save
    /// The truncation psi to generate with unless a caller asks for another: measured per
    /// model (docs/model-card.md's rule), so it travels with the weights. Absent = 1, no
    /// truncation, as the official generate.py.
    std::optional<double> truncation_psi;
};

/// Psi of `metadata`, or 1 (no truncation) when the file recommends none.
double recommended_truncation_psi(const ModelMetadata& metadata);

struct LoadedModel {
    Generator generator;
    GeneratorConfig config;
    ModelMetadata metadata;
    int format_version = kModelFormatVersion;
    /// Set when the file holds a discriminator (discriminator_config in its metadata).
    std::optional<DiscriminatorConfig> discriminator_config;
    /// Loaded only when asked for (load_model_file's with_discriminator); else null.
    Discriminator discriminator{nullptr};
};

/// Loads and fully validates a model file; every problem is a facegen::Error naming the
/// file and the problem. The generator is moved to `device` and put in eval mode. A
/// discriminator in the file is loaded (and its tensors checked against its config) only
/// with `with_discriminator`; otherwise its tensors are skipped and nothing is built.
LoadedModel load_model_file(const std::filesystem::path& path, torch::Device device = torch::kCPU,
                            bool with_discriminator = false);

/// Writes the generator's parameters and buffers (atomic), and the discriminator's under
/// kDiscriminatorPrefix when one is given. storage_dtype: kFloat32, kFloat16 or kBFloat16.
/// Fills metadata.model_id/created/facegen_version in the file. Returns the model id
/// (a hash of the generator's tensors only: it names what the images come from).
std::string save_model_file(const std::filesystem::path& path, Generator& generator, ModelMetadata metadata,
                            torch::Dtype storage_dtype = torch::kFloat32, Discriminator* discriminator = nullptr);

/// Records `psi` as the model's recommended truncation in its file's metadata. Only the
/// metadata changes: weights, model id and creation time stay; the file is validated
/// first and replaced atomically. Throws facegen::Error naming the file or the value.
void set_model_truncation_psi(const std::filesystem::path& path, double psi);

/// The tensors a generator of `config` stores, name -> shape (what load_model_file expects).
std::map<std::string, std::vector<int64_t>> expected_model_tensors(const GeneratorConfig& config);

/// 64-bit FNV-1a over the tensors in name order (name bytes, then the raw little-endian
/// bytes as stored), as 16 lower-case hex digits.
std::string model_content_hash(const std::map<std::string, torch::Tensor>& tensors);

}  // namespace facegen::model

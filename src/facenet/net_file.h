#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>

#include "core/safetensors.h"

// A trained face network as a file: safetensors with the weights, and metadata that says
// what the file is (format name and version) and what travels with the weights. The
// detector and the attribute classifier are both stored this way.
namespace facegen::facenet {

/// A network file read and checked for its format: `what` names the kind of file in errors
/// ("detector", "attribute classifier").
class NetFile {
public:
    /// Throws facegen::Error naming the file for one that is missing, truncated, corrupt, or
    /// not of `format` at `version`.
    NetFile(const std::filesystem::path& path, const std::string& what, const std::string& format, int version);
    /// As above, for a reader of every version from `min_version` to `max_version`.
    NetFile(const std::filesystem::path& path, const std::string& what, const std::string& format, int min_version,
            int max_version);

    /// A metadata text; throws facegen::Error naming the file and key when absent.
    const std::string& text(const std::string& key) const;
    /// A metadata number; throws when absent or not a finite number.
    double number(const std::string& key) const;
    /// A metadata whole number in [lo, hi]; throws otherwise.
    int64_t whole_number(const std::string& key, int64_t lo, int64_t hi) const;
    /// Copies the weights into `module`: every parameter present, float32, the right shape,
    /// finite, and no tensor left over; throws naming the tensor otherwise.
    void load_into(torch::nn::Module& module) const;

    /// The file's format version (checked by the constructor).
    int version() const { return version_; }

    /// "detector 'models/x.safetensors'": the start of this file's error messages.
    std::string where() const;

private:
    std::filesystem::path path_;
    std::string what_;
    core::SafetensorsFile file_;
    int version_ = 0;
};

/// Writes `module`'s parameters with `metadata` (format and version included by the caller)
/// atomically.
void save_net_file(const std::filesystem::path& path, const torch::nn::Module& module,
                   const std::map<std::string, std::string>& metadata);

/// Full-precision text of a number for metadata.
std::string number_text(double value);

}  // namespace facegen::facenet

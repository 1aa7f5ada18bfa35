#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/pack.h"

namespace facegen::data {

enum class LabelSourceKind { kNone, kAuto, kUTKFace, kCelebA, kCSV, kJSON };

/// --labels value: none | auto | utkface | celeba | csv:FILE | json:FILE.
struct LabelSpec {
    LabelSourceKind kind = LabelSourceKind::kAuto;
    std::filesystem::path file;  // csv/json
};
LabelSpec parse_label_spec(const std::string& text);
std::string to_string(const LabelSpec& spec);

/// UTKFace file name `AGE_GENDER_RACE_DATETIME.jpg.chip.jpg`; three files of the set lack
/// RACE (`AGE_GENDER_DATETIME...`), which gives race kUnknownLabel.
struct UTKFaceName {
    int64_t age = kUnknownLabel;
    int64_t gender = kUnknownLabel;  // 0 male, 1 female
    int64_t race = kUnknownLabel;    // 0 White, 1 Black, 2 Asian, 3 Indian, 4 Others
};
/// nullopt when the name does not follow the pattern (or a value is out of range).
std::optional<UTKFaceName> parse_utkface_name(const std::string& base_name);

/// Supplies the labels of an image by its file name.
class LabelProvider {
public:
    virtual ~LabelProvider() = default;
    virtual const std::vector<LabelColumn>& columns() const = 0;
    /// Label row for the file (base name, or folder-relative path for sidecar tables);
    /// nullopt when the provider has no entry for it.
    virtual std::optional<std::vector<int64_t>> lookup(const std::string& base_name, const std::string& path) const = 0;
    /// What it is, for reports ("utkface", "celeba: list_attr_celeba.txt + identity_celeba.txt").
    virtual std::string describe() const = 0;
};

std::unique_ptr<LabelProvider> make_utkface_labels();
/// CelebA: list_attr_celeba.txt (count line, 40 names, then `NAME v1..v40` with 1/-1,
/// stored as 1/0) and/or identity_celeba.txt (`NAME ID`, stored in column "identity").
/// Either path may be empty; throws facegen::Error naming the file and line on bad input.
std::unique_ptr<LabelProvider> make_celeba_labels(const std::filesystem::path& attr_file,
                                                  const std::filesystem::path& identity_file);
/// CSV with a header `file,NAME1,NAME2,...`; values are integers >= 0 or text categories
/// (classes sorted by name); an empty cell is unknown. `file` is matched by base name.
std::unique_ptr<LabelProvider> make_csv_labels(const std::filesystem::path& file);
/// JSON: {"a.jpg": {"NAME": value, ...}, ...} or [{"file": "a.jpg", "NAME": value, ...}, ...].
std::unique_ptr<LabelProvider> make_json_labels(const std::filesystem::path& file);

/// Resolves a spec against the input folders: celeba looks for list_attr_celeba.txt and
/// identity_celeba.txt in them; auto picks celeba when those exist, utkface when
/// `sample_names` mostly parse as UTKFace names, else none (nullptr).
std::unique_ptr<LabelProvider> make_label_provider(const LabelSpec& spec,
                                                   const std::vector<std::filesystem::path>& inputs,
                                                   const std::vector<std::string>& sample_names);

}  // namespace facegen::data

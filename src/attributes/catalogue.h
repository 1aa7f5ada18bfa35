#pragma once

#include <cstdint>
#include <string>
#include <vector>

// The attributes facegen reads off a face, with their units. Learned ones come from the
// attribute classifier, trained on labelled real faces: age, gender and ethnicity from
// UTKFace, the rest from CelebA's 40 attributes. Lighting and head pose have no label in
// either set, so they are measured instead: lighting from the pixels, pose from landmarks. This list is the contract of `attributes score`,
// of the classifier file (its outputs are named in this order) and of edits.
namespace facegen::attributes {

enum class AttributeKind {
    kYears,        // a regression, in years (age)
    kProbability,  // the classifier's probability that the face has it (0..1)
    kMeasured,     // computed from the pixels or landmarks, not learned
};
std::string to_string(AttributeKind kind);

/// How the classifier learns an attribute from a packed dataset's label column.
enum class LabelRule {
    kNone,          // measured attributes
    kYears,         // the column holds years (UTKFace "age")
    kYes,           // binary column, 1 = has it (CelebA "Smiling")
    kNo,            // binary column, 0 = has it (CelebA "No_Beard" for beard, "Male" for gender female)
    kClass,         // categorical column: value == class_index (UTKFace "race")
};

struct AttributeSpec {
    std::string name;  // what users type: "age", "smiling"
    AttributeKind kind = AttributeKind::kProbability;
    std::string unit;
    std::string description;
    /// Label columns that teach it, by dataset kind: UTKFace, then CelebA ("" = none).
    std::string utkface_column;
    std::string celeba_column;
    LabelRule utkface_rule = LabelRule::kNone;
    LabelRule celeba_rule = LabelRule::kNone;
    int64_t class_index = -1;  // kClass: the value of the column that means this attribute
    /// Attributes sharing a group are one softmax over exclusive classes (ethnicity).
    std::string softmax_group;
};

/// Every attribute, learned ones first in the order of the classifier's outputs.
const std::vector<AttributeSpec>& attribute_catalogue();
/// Number of learned attributes (the classifier's outputs).
int64_t learned_attribute_count();
/// Position in attribute_catalogue(); throws facegen::Error naming `name` and the choices.
int64_t attribute_index(const std::string& name);
const AttributeSpec& find_attribute(const std::string& name);

/// A reading in the units that edits change and directions are fitted in: log-odds for
/// probabilities (clamped to 1e-4 .. 1 - 1e-4, so that 0 and 1 stay finite), the
/// attribute's own unit otherwise.
double to_edit_units(const AttributeSpec& spec, double reading);
/// The name of those units: "log-odds" for probabilities, else `spec.unit`.
std::string edit_unit(const AttributeSpec& spec);

/// Age scale of the classifier's age output: years = kAgeCentre + kAgeSpread * output.
inline constexpr double kAgeCentre = 35.0;
inline constexpr double kAgeSpread = 20.0;

}  // namespace facegen::attributes

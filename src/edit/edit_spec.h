#pragma once

#include <string>
#include <utility>
#include <vector>

// Attribute edits as users write them: "age=+20,smiling=+1" (changes) or "age=70" (targets).
// Units: years for age; for a probability attribute a change is in log-odds (+1 multiplies
// the odds by e: +2 takes a face at 50% to 88%) and a target is the probability itself; the
// measured ones in their own unit (attributes::attribute_catalogue()).
namespace facegen::edit {

struct AttributeEdit {
    std::string attribute;
    bool absolute = false;  // a target value (--set), not a change (--edit)
    double value = 0;
};

/// Parses "NAME=VALUE[,NAME=VALUE...]"; `absolute` for targets. Checks names against the
/// catalogue and values against their range (changes: age +-100 years, log-odds +-10,
/// brightness +-1, light_direction +-2, yaw +-90 and pitch +-60 degrees; targets: age
/// 0..100, probabilities 0.01..0.99, brightness 0..1, light_direction -1..1, yaw -60..60,
/// pitch -40..40). Throws facegen::Error naming the bad part.
std::vector<AttributeEdit> parse_edits(const std::string& text, bool absolute);

/// The values parse_edits accepts for `attribute`: [min, max] of a change (`absolute`
/// false, in change units: years, log-odds, ...) or of a target. Throws facegen::Error
/// naming an unknown attribute.
std::pair<double, double> allowed_range(const std::string& attribute, bool absolute);

/// "age=+20" / "age=70", in the form parse_edits reads.
std::string to_string(const AttributeEdit& edit);
std::string to_string(const std::vector<AttributeEdit>& edits);

}  // namespace facegen::edit

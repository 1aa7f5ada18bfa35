#include "edit/edit_spec.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "attributes/catalogue.h"
#include "core/error.h"

namespace facegen::edit {
namespace {

/// [lo, hi] a change (relative) or a target (absolute) of the attribute may take.
std::pair<double, double> range_of(const attributes::AttributeSpec& spec, bool absolute) {
    if (spec.name == "age") return absolute ? std::pair{0.0, 100.0} : std::pair{-100.0, 100.0};
    if (spec.name == "brightness") return absolute ? std::pair{0.0, 1.0} : std::pair{-1.0, 1.0};
    if (spec.name == "light_direction") return absolute ? std::pair{-1.0, 1.0} : std::pair{-2.0, 2.0};
    if (spec.name == "yaw") return absolute ? std::pair{-60.0, 60.0} : std::pair{-90.0, 90.0};
    if (spec.name == "pitch") return absolute ? std::pair{-40.0, 40.0} : std::pair{-60.0, 60.0};
    return absolute ? std::pair{0.01, 0.99} : std::pair{-10.0, 10.0};
}

std::string trim(const std::string& text) {
    const size_t first = text.find_first_not_of(" \t");
    if (first == std::string::npos) return "";
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

}  // namespace

std::vector<AttributeEdit> parse_edits(const std::string& text, bool absolute) {
    std::vector<AttributeEdit> edits;
    std::set<std::string> seen;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t comma = text.find(',', start);
        const std::string part = trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        start = comma == std::string::npos ? text.size() + 1 : comma + 1;
        const size_t eq = part.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == part.size()) {
            throw make_error("edit '", part, "': expected NAME=VALUE, e.g. ", absolute ? "age=70" : "age=+20");
        }
        AttributeEdit edit;
        edit.attribute = trim(part.substr(0, eq));
        edit.absolute = absolute;
        const attributes::AttributeSpec& spec = attributes::find_attribute(edit.attribute);
        const std::string value = trim(part.substr(eq + 1));
        char* end = nullptr;
        edit.value = std::strtod(value.c_str(), &end);
        if (value.empty() || *end != '\0' || !std::isfinite(edit.value)) {
            throw make_error("edit '", part, "': '", value, "' is not a number");
        }
        const auto [lo, hi] = range_of(spec, absolute);
        if (edit.value < lo || edit.value > hi) {
            throw make_error("edit '", part, "': ", absolute ? "target " : "change ", edit.value, " of ", spec.name,
                             " is outside ", lo, "..", hi, " (", absolute ? spec.unit : attributes::edit_unit(spec), ")");
        }
        if (!seen.insert(edit.attribute).second) throw make_error("edit: attribute '", edit.attribute, "' given twice");
        edits.push_back(edit);
    }
    return edits;
}

std::pair<double, double> allowed_range(const std::string& attribute, bool absolute) {
    return range_of(attributes::find_attribute(attribute), absolute);
}

std::string to_string(const AttributeEdit& edit) {
    char value[32];
    std::snprintf(value, sizeof(value), edit.absolute ? "%g" : "%+g", edit.value);
    return edit.attribute + "=" + value;
}

std::string to_string(const std::vector<AttributeEdit>& edits) {
    std::string out;
    for (const AttributeEdit& edit : edits) out += (out.empty() ? "" : ",") + to_string(edit);
    return out;
}

}  // namespace facegen::edit

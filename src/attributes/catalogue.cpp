#include "attributes/catalogue.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace facegen::attributes {
namespace {

constexpr const char* kProbabilityUnit = "probability 0..1";

AttributeSpec make_spec(std::string name, AttributeKind kind, std::string unit, std::string description) {
    AttributeSpec spec;
    spec.name = std::move(name);
    spec.kind = kind;
    spec.unit = std::move(unit);
    spec.description = std::move(description);
    return spec;
}

AttributeSpec celeba_binary(std::string name, std::string column, std::string description,
                            LabelRule rule = LabelRule::kYes) {
    AttributeSpec spec = make_spec(std::move(name), AttributeKind::kProbability, kProbabilityUnit, std::move(description));
    spec.celeba_column = std::move(column);
    spec.celeba_rule = rule;
    return spec;
}

AttributeSpec ethnicity(std::string name, int64_t class_index, std::string description) {
    AttributeSpec spec = make_spec(std::move(name), AttributeKind::kProbability, kProbabilityUnit, std::move(description));
    spec.utkface_column = "race";
    spec.utkface_rule = LabelRule::kClass;
    spec.class_index = class_index;
    spec.softmax_group = "ethnicity";
    return spec;
}

std::vector<AttributeSpec> make_catalogue() {
    std::vector<AttributeSpec> out;
    AttributeSpec age = make_spec("age", AttributeKind::kYears, "years", "apparent age");
    age.utkface_column = "age";
    age.utkface_rule = LabelRule::kYears;
    out.push_back(age);
    AttributeSpec gender = make_spec("gender", AttributeKind::kProbability, "probability 0 (male) .. 1 (female)",
                                     "apparent gender as UTKFace and CelebA label it (binary)");
    gender.utkface_column = "gender";  // 0 male, 1 female
    gender.utkface_rule = LabelRule::kYes;
    gender.celeba_column = "Male";
    gender.celeba_rule = LabelRule::kNo;
    out.push_back(gender);
    // UTKFace's five groups, as its authors labelled them; one softmax, so they sum to 1.
    out.push_back(ethnicity("ethnicity_white", 0, "UTKFace group White"));
    out.push_back(ethnicity("ethnicity_black", 1, "UTKFace group Black"));
    out.push_back(ethnicity("ethnicity_asian", 2, "UTKFace group Asian"));
    out.push_back(ethnicity("ethnicity_indian", 3, "UTKFace group Indian"));
    out.push_back(ethnicity("ethnicity_other", 4, "UTKFace group Others (e.g. Hispanic, Middle Eastern)"));
    out.push_back(celeba_binary("smiling", "Smiling", "smiling (expression)"));
    out.push_back(celeba_binary("mouth_open", "Mouth_Slightly_Open", "mouth slightly open (expression)"));
    out.push_back(celeba_binary("eyeglasses", "Eyeglasses", "wears glasses"));
    out.push_back(celeba_binary("black_hair", "Black_Hair", "black hair"));
    out.push_back(celeba_binary("blond_hair", "Blond_Hair", "blond hair"));
    out.push_back(celeba_binary("brown_hair", "Brown_Hair", "brown hair"));
    out.push_back(celeba_binary("gray_hair", "Gray_Hair", "grey hair"));
    out.push_back(celeba_binary("bald", "Bald", "bald"));
    out.push_back(celeba_binary("bangs", "Bangs", "bangs (fringe)"));
    out.push_back(celeba_binary("wavy_hair", "Wavy_Hair", "wavy hair"));
    out.push_back(celeba_binary("beard", "No_Beard", "beard", LabelRule::kNo));
    out.push_back(celeba_binary("heavy_makeup", "Heavy_Makeup", "heavy make-up"));
    out.push_back(celeba_binary("lipstick", "Wearing_Lipstick", "wears lipstick"));
    out.push_back(celeba_binary("hat", "Wearing_Hat", "wears a hat"));
    out.push_back(make_spec("brightness", AttributeKind::kMeasured, "mean luma of the face region, 0 (black) .. 1 (white)",
                            "how brightly the face is lit"));
    out.push_back(make_spec("light_direction", AttributeKind::kMeasured,
                            "-1 (lit from the image's left) .. +1 (from its right)",
                            "which side of the face is brighter: (right - left) / (right + left) of the luma"));
    out.push_back(make_spec("yaw", AttributeKind::kMeasured, "degrees, + = turned towards the image's right",
                            "head turn, from dlib's 68 landmarks"));
    out.push_back(make_spec("pitch", AttributeKind::kMeasured, "degrees, + = looking up",
                            "head tilt up or down, from dlib's 68 landmarks"));
    return out;
}

}  // namespace

std::string to_string(AttributeKind kind) {
    switch (kind) {
        case AttributeKind::kYears: return "years";
        case AttributeKind::kProbability: return "probability";
        case AttributeKind::kMeasured: return "measured";
    }
    return "?";
}

const std::vector<AttributeSpec>& attribute_catalogue() {
    static const std::vector<AttributeSpec> catalogue = make_catalogue();
    return catalogue;
}

int64_t learned_attribute_count() {
    const auto& all = attribute_catalogue();
    return std::count_if(all.begin(), all.end(), [](const AttributeSpec& a) { return a.kind != AttributeKind::kMeasured; });
}

int64_t attribute_index(const std::string& name) {
    const auto& all = attribute_catalogue();
    for (size_t i = 0; i < all.size(); ++i) {
        if (all[i].name == name) return static_cast<int64_t>(i);
    }
    std::string choices;
    for (const AttributeSpec& a : all) choices += (choices.empty() ? "" : ", ") + a.name;
    throw make_error("unknown attribute '", name, "' (known: ", choices, ")");
}

const AttributeSpec& find_attribute(const std::string& name) {
    return attribute_catalogue()[static_cast<size_t>(attribute_index(name))];
}

double to_edit_units(const AttributeSpec& spec, double reading) {
    if (spec.kind != AttributeKind::kProbability) return reading;
    const double p = std::clamp(reading, 1e-4, 1 - 1e-4);
    return std::log(p / (1 - p));
}

std::string edit_unit(const AttributeSpec& spec) {
    return spec.kind == AttributeKind::kProbability ? "log-odds" : spec.unit;
}

}  // namespace facegen::attributes

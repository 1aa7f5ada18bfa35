#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "attributes/classifier.h"
#include "edit/editor.h"
#include "generate/session.h"
#include "identity/face_recognition.h"
#include "provenance/image_provenance.h"

// Character sheets: one person who does not exist, shown in a grid with one row per
// variation (pose, expression, lighting, age) and columns from one extreme to the other
// through the original face in the middle. Each cell is an attribute edit (Editor, stopped
// at the edge of the model's faces). The identity network measures every cell against the
// original; where a cell would leave the person (distance at or above the same-person
// threshold), that side of its row is shrunk step by step until every cell on it is the
// same person again, and the sheet says so.
namespace facegen::edit {

/// A row of a sheet: the name users type and the changes at its positive end; the column
/// at position t in [-1, 1] gets t times each change (all changes of a row together).
struct Variation {
    std::string name;
    std::vector<AttributeEdit> far_end;
    std::string description;  // "head turned from the image's left to its right"
};

/// The variations a sheet offers: the four kinds (pose, expression, lighting, age) and the
/// single attributes they draw on (yaw, pitch, smiling, mouth_open, brightness,
/// light_direction).
const std::vector<Variation>& sheet_variations();

/// "pose, expression, lighting, age" (what parse_variations accepts, for messages).
std::string sheet_variation_names();

/// Parses "pose,expression,lighting,age" into rows, in the order given. Throws
/// facegen::Error naming an unknown variation (with the valid ones), an empty list or
/// entry, and a variation given twice.
std::vector<Variation> parse_variations(const std::string& text);

struct CharacterSheetOptions {
    /// Faces per row, odd so that the original is the middle one: 3..15.
    int64_t columns = 5;
    /// Every cell must stay nearer the original than this identity-descriptor distance.
    double identity_limit = identity::kSamePersonDistance;
    /// While a cell of a row's side is too far, that side's steps are multiplied by this...
    double shrink_factor = 0.7;
    /// ... at most this many times; after that the side shows the original face.
    int max_shrinks = 6;
    /// The framing of the model's faces (FFHQ crop scale), for the identity network's crop.
    double crop_scale = 0.7;

    /// Throws facegen::Error naming a bad value.
    void validate() const;
};

/// One face of a sheet.
struct SheetCell {
    int64_t row = 0;
    int64_t column = 0;
    /// Where it sits between the row's ends (-1 .. 1, 0 = the original), as laid out.
    double position = 0;
    /// The changes made (after shrinking and the edge of the model's faces), one per
    /// change of the row.
    std::vector<EditOutcome> changes;
    /// Identity-descriptor distance to the original face.
    double identity_distance = 0;
    /// The classifier's reading minus the original's, per attribute of the row's changes
    /// (empty without a classifier).
    std::vector<double> attribute_change;
};

struct SheetRow {
    Variation variation;
    /// Fraction of the row's ends kept on the negative and the positive side: 1 = as
    /// asked, less = shrunk so that every cell stays the same person.
    double kept_negative = 1;
    double kept_positive = 1;
    int shrinks_negative = 0;
    int shrinks_positive = 0;
};

struct CharacterSheet {
    std::vector<SheetRow> rows;
    int64_t n_columns = 0;
    std::vector<SheetCell> cells;  // row by row
    torch::Tensor pixels;          // uint8 [rows * columns, H, W, C], CPU
    torch::Tensor ws;              // float32 [rows * columns, num_ws, w_dim]: each cell's latent
    provenance::ImageProvenance provenance;  // of the whole sheet
    double identity_limit = 0;
    double seconds = 0;

    /// The sheet as one image: uint8 [rows * H, columns * W, C].
    torch::Tensor image() const;
    /// "age: +30 shrunk to +14.7 to stay the same person", one per shrunk side; empty when
    /// nothing was shrunk.
    std::vector<std::string> notes() const;
    /// Layout, every cell's changes, identity distance and attribute change, per-row
    /// summaries (identity distance max and mean), the notes and the time taken.
    nlohmann::json report() const;
};

class CharacterSheetMaker {
public:
    /// `classifier` may be null (no attribute changes in the report). The editor's reach
    /// (set_reach) keeps cells inside the model's faces. All must outlive the maker.
    CharacterSheetMaker(generate::Session& session, Editor& editor, identity::FaceRecognitionNet identity_net,
                        attributes::AttributeClassifier* classifier, CharacterSheetOptions options = {});

    /// The sheet of the one face `face` describes (one seed or one latent row: its psi,
    /// noise mode and watermark apply). Throws facegen::Error for a request of another
    /// size, for no variations, and for a variation the directions cannot make.
    CharacterSheet make(const generate::Request& face, const std::vector<Variation>& variations);

    /// Throws facegen::Error naming a variation whose changes the editor cannot make.
    void check(const std::vector<Variation>& variations) const;

private:
    torch::Tensor descriptors(const torch::Tensor& pixels);

    generate::Session& session_;
    Editor& editor_;
    identity::FaceRecognitionNet identity_net_;
    attributes::AttributeClassifier* classifier_;
    CharacterSheetOptions options_;
};

/// The identity network for sheets: `given`, or the shipped
/// models/facegen-face-recognition.safetensors; throws facegen::Error when there is none.
identity::FaceRecognitionNet load_sheet_identity_network(const std::filesystem::path& given, torch::Device device);

/// Writes the sheet as a labelled PNG (watermarked when its provenance asks) at `png_path`
/// and its report beside it (same name, .json), each atomically.
void write_character_sheet(const CharacterSheet& sheet, const std::filesystem::path& png_path);

/// Where a sheet's report goes: `png_path` with the extension .json.
std::filesystem::path sheet_report_path(const std::filesystem::path& png_path);

}  // namespace facegen::edit

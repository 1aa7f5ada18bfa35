#pragma once

#include <filesystem>
#include <string>

#include "generate/session.h"

// `facegen generate --variations pose,expression,lighting,age --grid sheet.png`: one
// character sheet per seed of the request (edit::CharacterSheetMaker), written as a labelled
// PNG with a JSON report beside it.
namespace facegen::app {

struct CharacterSheetFlags {
    std::string variations;       // as typed: "pose,expression,lighting,age"
    int64_t columns = 5;          // faces per row, odd
    std::string grid;             // the sheet's file; several seeds: <stem>-seed0042.png beside it
    std::string directions;       // "" = beside the model
    std::string classifier;       // "" = the shipped one; none shipped: no attribute readings
};

/// Every check that needs no model (names of the variations, column count); throws
/// facegen::Error naming the flag.
void check_character_sheet_flags(const CharacterSheetFlags& flags);

/// The file of the sheet of `seed` when the request has `n_faces` faces: `grid` itself for
/// one, else "<stem>-seed0042<ext>" beside it.
std::filesystem::path character_sheet_file(const std::filesystem::path& grid, uint32_t seed, int64_t n_faces);

/// Makes and writes one sheet per seed of `request` (seeds only); prints each PNG's and
/// report's path on stdout and a summary line per sheet on stderr.
void write_character_sheets(generate::Session& session, const generate::Request& request,
                            const CharacterSheetFlags& flags);

}  // namespace facegen::app

#include "character_sheets.h"

#include <cstdio>
#include <optional>

#include "edit_setup.h"
#include "output_paths.h"
#include "core/error.h"
#include "edit/character_sheet.h"

namespace facegen::app {

namespace fs = std::filesystem;

void check_character_sheet_flags(const CharacterSheetFlags& flags) {
    try {
        edit::parse_variations(flags.variations);
    } catch (const Error& e) {
        throw make_error("--variations: ", e.what());
    }
    edit::CharacterSheetOptions options;
    options.columns = flags.columns;
    try {
        options.validate();
    } catch (const Error& e) {
        throw make_error("--variation-steps: ", e.what());
    }
}

fs::path character_sheet_file(const fs::path& grid, uint32_t seed, int64_t n_faces) {
    if (n_faces == 1) return grid;
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, "-seed%04u", seed);
    return grid.parent_path() / (grid.stem().string() + suffix + grid.extension().string());
}

void write_character_sheets(generate::Session& session, const generate::Request& request,
                            const CharacterSheetFlags& flags) {
    check_character_sheet_flags(flags);
    if (request.latents) throw make_error("--variations makes sheets of seeds: give --seeds or --count, not --latents");
    const std::vector<edit::Variation> variations = edit::parse_variations(flags.variations);
    // Everything is loaded and checked before the first file is written.
    std::optional<attributes::AttributeClassifier> classifier;
    const std::optional<fs::path> classifier_path =
        flags.classifier.empty() ? attributes::default_classifier_path() : fs::path(flags.classifier);
    if (classifier_path) classifier.emplace(attributes::AttributeClassifier::load(*classifier_path));
    edit::Editor editor(load_directions_for(session, flags.directions), classifier ? &*classifier : nullptr);
    editor.set_reach(edit::LatentReach::sample(session));
    edit::CharacterSheetOptions options;
    options.columns = flags.columns;
    edit::CharacterSheetMaker maker(session, editor,
                                    edit::load_sheet_identity_network("", session.device()),
                                    classifier ? &*classifier : nullptr, options);
    maker.check(variations);
    if (!classifier) std::fprintf(stderr, "generate: no attribute classifier: the reports leave out attribute readings\n");

    const int64_t n_faces = request.n_images();
    for (int64_t i = 0; i < n_faces; ++i) {
        generate::Request face = request;
        face.seeds = {request.seeds[static_cast<size_t>(i)]};
        const edit::CharacterSheet sheet = maker.make(face, variations);
        const fs::path path = character_sheet_file(flags.grid, face.seeds[0], n_faces);
        create_output_folder(path);
        edit::write_character_sheet(sheet, path);
        const nlohmann::json report = sheet.report();
        std::printf("%s\n%s\n", path.c_str(), edit::sheet_report_path(path).c_str());
        std::fflush(stdout);
        std::fprintf(stderr, "generate: sheet of seed %u: %zu rows x %lld, identity distance to the original max %.3f "
                             "mean %.3f (same person below %.2f), %.2f s\n",
                     face.seeds[0], sheet.rows.size(), static_cast<long long>(sheet.n_columns),
                     report["identity_distance_max"].get<double>(), report["identity_distance_mean"].get<double>(),
                     sheet.identity_limit, sheet.seconds);
        for (const std::string& note : sheet.notes()) std::fprintf(stderr, "generate: seed %u: %s\n", face.seeds[0], note.c_str());
    }
}

}  // namespace facegen::app

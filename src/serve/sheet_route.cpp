#include "serve/sheet_route.h"

#include <memory>
#include <mutex>

#include "edit/character_sheet.h"
#include "edit/directions.h"
#include "generate/bundled_model.h"
#include "provenance/labelled_png.h"

namespace facegen::serve {

namespace fs = std::filesystem;

namespace {

constexpr const char* kDefaultVariations = "pose,expression,lighting,age";

struct SheetQuery {
    uint32_t seed = 0;
    std::optional<double> psi;
    std::string variations = kDefaultVariations;
    int64_t steps = 5;
};

SheetQuery parse_sheet_query(const QueryParams& params, const RequestLimits& limits) {
    SheetQuery query;
    bool has_seed = false;
    for (const auto& [key, value] : params) {
        if (params.count(key) > 1) throw RequestError(400, "query parameter '" + key + "' given more than once");
        if (key == "seed") {
            query.seed = parse_seed(value);
            has_seed = true;
        } else if (key == "psi") {
            query.psi = parse_psi(value, limits);
        } else if (key == "variations") {
            query.variations = value;
        } else if (key == "steps") {
            const bool digits = !value.empty() && value.size() <= 2 && value.find_first_not_of("0123456789") == std::string::npos;
            if (!digits) throw RequestError(400, "steps '" + value + "' is not an odd number 3..15");
            query.steps = std::stoll(value);
        } else {
            throw RequestError(400, "unknown query parameter '" + key + "' (expected seed, psi, variations, steps)");
        }
    }
    if (!has_seed) throw RequestError(400, "a sheet needs the seed of its face: seed=0..4294967295");
    return query;
}

/// What makes the sheets: a session of its own, the editor, the identity network.
struct SheetMaker {
    SheetMaker(const generate::Session& served, edit::AttributeDirections directions)
        : session(served.model_path(), served.device()),
          editor(std::move(directions), /*classifier=*/nullptr),
          identity_net(edit::load_sheet_identity_network("", served.device())) {
        editor.set_reach(edit::LatentReach::sample(session));
    }
    generate::Session session;
    edit::Editor editor;
    identity::FaceRecognitionNet identity_net;  // shared by every request's maker
    std::mutex busy;
};

}  // namespace

SheetRoute make_sheet_route(const generate::Session& session, const fs::path& directions, const RequestLimits& limits) {
    SheetRoute route;
    const fs::path path = directions.empty() ? edit::directions_path_for(session.model_path()) : directions;
    if (directions.empty() && !fs::exists(path)) {
        route.description = {{"available", false},
                             {"why", "no attribute directions beside the model (facegen attributes directions)"}};
        return route;
    }
    if (!generate::find_shipped_file("facegen-face-recognition.safetensors")) {
        route.description = {{"available", false}, {"why", "no face recognition network to keep the person"}};
        return route;
    }
    auto sheets = std::make_shared<SheetMaker>(session, edit::AttributeDirections::load(path, session.metadata().model_id));
    route.handle = [sheets, limits](const QueryParams& params) {
        const SheetQuery query = parse_sheet_query(params, limits);
        std::vector<edit::Variation> variations;
        edit::CharacterSheetOptions options;
        options.columns = query.steps;
        try {
            variations = edit::parse_variations(query.variations);
            options.validate();
        } catch (const Error& e) {
            throw RequestError(400, e.what());
        }
        std::unique_lock<std::mutex> lock(sheets->busy, std::try_to_lock);
        if (!lock.owns_lock()) throw Overloaded("a character sheet is being made; try again in a second");
        edit::CharacterSheetMaker maker(sheets->session, sheets->editor, sheets->identity_net, nullptr, options);
        generate::Request face;
        face.seeds = {query.seed};
        face.truncation_psi = query.psi;
        const edit::CharacterSheet sheet = maker.make(face, variations);
        const nlohmann::json report = sheet.report();
        HttpResponse response;
        response.content_type = "image/png";
        response.body = provenance::encode_labelled_png(sheet.image(), sheet.provenance);
        response.headers = {
            {"Cache-Control", "no-store"},
            {"X-Facegen-Seed", std::to_string(query.seed)},
            {"X-Facegen-Model-Id", sheet.provenance.model_id},
            {"X-Facegen-Sheet-Rows", query.variations},
            {"X-Facegen-Identity-Distance-Max", std::to_string(report["identity_distance_max"].get<double>())},
            {"X-Facegen-Sheet-Shrunk", std::to_string(sheet.notes().size())},
        };
        return response;
    };
    nlohmann::json names = nlohmann::json::array();
    for (const edit::Variation& v : edit::sheet_variations()) names.push_back(v.name);
    route.description = {{"available", true},
                         {"route", "/v1/sheet.png?seed=S&variations=pose,expression,lighting,age&steps=5"},
                         {"variations", names},
                         {"default_variations", kDefaultVariations},
                         {"identity_limit", edit::CharacterSheetOptions{}.identity_limit}};
    return route;
}

}  // namespace facegen::serve

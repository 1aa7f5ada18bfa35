#include "serve/request_parsing.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <vector>

namespace facegen::serve {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxSeed = 4294967295u;
constexpr int kMaxJsonDepth = 8;  // {"latents": {"values": [[[x]]]}} is 5 deep

[[noreturn]] void reject(const std::string& message) { throw RequestError(400, message); }

/// A value quoted for an error message, cut short: a client may send megabytes.
std::string quote_text(std::string_view text) {
    constexpr size_t kMax = 40;
    std::string out = "'" + std::string(text.substr(0, kMax));
    if (text.size() > kMax) out += "...";
    return out + "'";
}

std::string shown(const json& value) {
    return quote_text(value.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string format_number(double value) {
    std::ostringstream s;
    s << value;
    return s.str();
}

double checked_psi(double psi, const std::string& as_written, const RequestLimits& limits) {
    if (!std::isfinite(psi)) reject("psi " + as_written + " is not a finite number");
    if (psi < 0 || psi > limits.max_psi) {
        reject("psi " + as_written + " is outside 0.." + format_number(limits.max_psi));
    }
    return psi;
}

json parse_json(const std::string& body) {
    if (body.empty()) reject("the request body is empty; expected a JSON object");
    // Limits nesting before any value is built: a deep array would only waste memory.
    const json::parser_callback_t limit_depth = [](int depth, json::parse_event_t, json&) {
        if (depth > kMaxJsonDepth) reject("the JSON body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
        return true;
    };
    try {
        return json::parse(body, limit_depth);
    } catch (const json::exception& e) {
        // parse_error, and out_of_range for numbers beyond a double (1e400).
        reject(std::string("the request body is not valid JSON: ") + e.what());
    }
}

uint32_t seed_from_json(const json& value) {
    if (value.is_number_unsigned() && value.get<uint64_t>() <= kMaxSeed) return static_cast<uint32_t>(value.get<uint64_t>());
    if (value.is_number_integer() || value.is_number_unsigned()) {
        reject("seed " + shown(value) + " is outside 0..4294967295");
    }
    reject("seed " + shown(value) + " is not an integer in 0..4294967295");
}

std::vector<uint32_t> seeds_from_json(const json& value, const RequestLimits& limits) {
    if (!value.is_array()) reject("'seeds' must be an array of integers, got " + shown(value));
    if (value.empty()) reject("'seeds' is empty: nothing to generate");
    if (static_cast<int64_t>(value.size()) > limits.max_images) {
        reject(std::to_string(value.size()) + " seeds in one request; at most " + std::to_string(limits.max_images));
    }
    std::vector<uint32_t> seeds;
    seeds.reserve(value.size());
    for (const json& seed : value) seeds.push_back(seed_from_json(seed));
    return seeds;
}

generate::LatentSpace latent_space_from_json(const json& value) {
    if (value == "z") return generate::LatentSpace::Z;
    if (value == "w") return generate::LatentSpace::W;
    if (value == "ws") return generate::LatentSpace::WS;
    reject("latent space " + shown(value) + " is not one of \"z\", \"w\", \"ws\"");
}

/// The shape of a nested array of numbers: sizes along the first element of each level.
std::vector<int64_t> shape_of(const json& values) {
    std::vector<int64_t> shape;
    const json* level = &values;
    while (level->is_array()) {
        shape.push_back(static_cast<int64_t>(level->size()));
        if (level->empty()) break;
        level = &level->front();
    }
    return shape;
}

std::string shape_text(const std::vector<int64_t>& shape) {
    std::string text = "[";
    for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + "]";
}

/// Copies a rectangular nested array of finite float32-range numbers, in row-major order.
void flatten(const json& value, const std::vector<int64_t>& shape, size_t level, std::vector<float>& out) {
    if (level == shape.size()) {
        if (!value.is_number()) reject("latent value " + shown(value) + " is not a number");
        const double number = value.get<double>();
        if (!std::isfinite(number) || std::abs(number) > FLT_MAX) {
            reject("latent value " + shown(value) + " is outside the float32 range");
        }
        out.push_back(static_cast<float>(number));
        return;
    }
    if (!value.is_array() || static_cast<int64_t>(value.size()) != shape[level]) {
        reject("latent values are not a rectangular array of shape " + shape_text(shape) + ": found " + shown(value) +
               " at depth " + std::to_string(level));
    }
    for (const json& item : value) flatten(item, shape, level + 1, out);
}

int hex_digit_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// A key or value of a query: %XX escapes decoded, '+' a space.
std::string decode_query_component(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '+') {
            out += ' ';
        } else if (text[i] != '%') {
            out += text[i];
        } else {
            const int high = i + 2 < text.size() ? hex_digit_value(text[i + 1]) : -1;
            const int low = i + 2 < text.size() ? hex_digit_value(text[i + 2]) : -1;
            if (high < 0 || low < 0) {
                reject("query " + quote_text(text) + ": '%' must start an escape of two hex digits such as %2B");
            }
            out += static_cast<char>(high * 16 + low);
            i += 2;
        }
    }
    return out;
}

/// "age= 20,smiling= 2" -> "age=+20,smiling=+2": the '+' of a change that a query turned
/// into a space. Only a space between '=' and a number: anything else stays as written, to
/// be refused by name.
std::string restore_plus_signs(std::string edit) {
    for (size_t eq = edit.find('='); eq != std::string::npos; eq = edit.find('=', eq + 1)) {
        if (eq + 2 < edit.size() && edit[eq + 1] == ' ' &&
            (std::isdigit(static_cast<unsigned char>(edit[eq + 2])) || edit[eq + 2] == '.')) {
            edit[eq + 1] = '+';
        }
    }
    return edit;
}

generate::Latents latents_from_json(const json& value, const RequestLimits& limits) {
    if (!value.is_object()) reject("'latents' must be an object {\"space\": ..., \"values\": [...]}");
    for (const auto& item : value.items()) {
        if (item.key() != "space" && item.key() != "values") {
            reject("unknown field 'latents." + item.key() + "' (expected space, values)");
        }
    }
    if (!value.contains("space")) reject("'latents.space' is missing: give \"z\", \"w\" or \"ws\"");
    if (!value.contains("values")) reject("'latents.values' is missing");
    generate::Latents latents;
    latents.space = latent_space_from_json(value["space"]);
    const json& values = value["values"];
    const std::vector<int64_t> shape = shape_of(values);
    const size_t rank = latents.space == generate::LatentSpace::WS ? 3 : 2;
    if (shape.size() != rank) {
        reject(to_string(latents.space) + " latents must be a " + std::to_string(rank) + "-level array, got shape " +
               shape_text(shape));
    }
    if (shape[0] == 0) reject("'latents.values' is empty: nothing to generate");
    if (shape[0] > limits.max_images) {
        reject(std::to_string(shape[0]) + " latents in one request; at most " + std::to_string(limits.max_images));
    }
    std::vector<float> flat;
    flatten(values, shape, 0, flat);
    latents.values = torch::from_blob(flat.data(), shape, torch::kFloat32).clone();
    return latents;
}

}  // namespace

uint32_t parse_seed(std::string_view text) {
    const bool digits_only = !text.empty() && text.size() <= 10 &&
                             text.find_first_not_of("0123456789") == std::string_view::npos;
    if (!digits_only || std::strtoull(std::string(text).c_str(), nullptr, 10) > kMaxSeed) {
        reject("seed " + quote_text(text) + " is not an integer in 0..4294967295");
    }
    return static_cast<uint32_t>(std::strtoull(std::string(text).c_str(), nullptr, 10));
}

double parse_psi(std::string_view text, const RequestLimits& limits) {
    const std::string copy(text);
    const bool starts_blank = copy.empty() || std::isspace(static_cast<unsigned char>(copy[0]));
    char* end = nullptr;
    const double psi = starts_blank ? 0.0 : std::strtod(copy.c_str(), &end);
    if (starts_blank || end != copy.c_str() + copy.size()) reject("psi " + quote_text(text) + " is not a number");
    return checked_psi(psi, quote_text(text), limits);
}

QueryParams parse_query_string(std::string_view query) {
    QueryParams params;
    size_t start = 0;
    while (start < query.size()) {
        size_t end = query.find('&', start);
        if (end == std::string_view::npos) end = query.size();
        const std::string_view pair = query.substr(start, end - start);
        start = end + 1;
        if (pair.empty()) continue;  // "a=1&&b=2", a trailing '&'
        const size_t eq = pair.find('=');
        std::string key = decode_query_component(pair.substr(0, eq));
        std::string value = eq == std::string_view::npos ? "" : decode_query_component(pair.substr(eq + 1));
        params.emplace(std::move(key), std::move(value));
    }
    return params;
}

FaceQuery parse_face_query(const QueryParams& params, const RequestLimits& limits) {
    FaceQuery query;
    for (const auto& [key, value] : params) {
        if (key != "edit" && params.count(key) > 1) {
            reject("query parameter " + quote_text(key) + " is given more than once");
        }
        if (key == "seed") {
            query.seed = parse_seed(value);
        } else if (key == "psi") {
            query.psi = parse_psi(value, limits);
        } else if (key == "edit") {
            // Checked against the model's directions when attached.
            if (!value.empty()) query.edit += (query.edit.empty() ? "" : ",") + restore_plus_signs(value);
        } else {
            reject("unknown query parameter " + quote_text(key) + " (expected seed, psi, edit)");
        }
    }
    return query;
}

std::string uploaded_file(std::vector<FormPart> parts) {
    if (parts.empty()) reject("the multipart/form-data body has no part: send the image as a file part (curl -F file=@photo.jpg)");
    for (FormPart& part : parts) {
        if (!part.filename.empty()) return std::move(part.content);
    }
    return std::move(parts.front().content);
}

GenerateBody parse_generate_body(const std::string& body, const RequestLimits& limits) {
    const json document = parse_json(body);
    if (!document.is_object()) reject("the request body must be a JSON object, got " + shown(document));
    GenerateBody parsed;
    generate::Request& request = parsed.request;
    for (const auto& item : document.items()) {
        const std::string& key = item.key();
        const json& value = item.value();
        if (key == "seeds") {
            request.seeds = seeds_from_json(value, limits);
        } else if (key == "latents") {
            request.latents = latents_from_json(value, limits);
        } else if (key == "psi") {
            if (!value.is_number()) reject("'psi' must be a number, got " + shown(value));
            request.truncation_psi = checked_psi(value.get<double>(), value.dump(), limits);
        } else if (key == "truncation_cutoff") {
            if (!value.is_number_integer()) reject("'truncation_cutoff' must be an integer, got " + shown(value));
            if (value.is_number_unsigned() && value.get<uint64_t>() > 1000) {
                reject("truncation cutoff " + shown(value) + " is beyond any model's layers");
            }
            request.truncation_cutoff = value.get<int64_t>();
        } else if (key == "noise_mode") {
            if (!value.is_string()) reject("'noise_mode' must be \"const\", \"random\" or \"none\", got " + shown(value));
            try {
                request.noise_mode = model::parse_noise_mode(value.get<std::string>());
            } catch (const Error& e) {
                reject(e.what());
            }
        } else if (key == "format") {
            if (value != "base64") reject("format " + shown(value) + " is not supported (only \"base64\")");
        } else if (key == "edit") {
            if (!value.is_string()) reject("'edit' must be a string such as \"age=+10,smiling=+2\", got " + shown(value));
            parsed.edit = value.get<std::string>();
        } else {
            reject("unknown field " + quote_text(key) +
                   " (expected seeds or latents, psi, truncation_cutoff, noise_mode, format, edit)");
        }
    }
    if (request.seeds.empty() && !request.latents) reject("nothing to generate: give 'seeds' or 'latents'");
    if (!request.seeds.empty() && request.latents) reject("give 'seeds' or 'latents', not both");
    return parsed;
}

}  // namespace facegen::serve

#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "generate/latents.h"
#include "generate/session.h"

// What HTTP clients send, checked and turned into generate::Request. Everything here
// distrusts its input: every rejection names the value and the range it should be in.
namespace facegen::serve {

/// A client's mistake; the HTTP layer answers `status` with a JSON error carrying the
/// message.
class RequestError : public Error {
public:
    RequestError(int status, const std::string& message) : Error(message), status_(status) {}
    int status() const { return status_; }

private:
    int status_;
};

/// What one request may ask for.
struct RequestLimits {
    /// Images in one POST /v1/generate. Default: 64
    int64_t max_images = 64;
    /// psi accepted: 0 (the average face) .. max_psi (beyond the training distribution). Default: 2
    double max_psi = 2.0;
};

/// Query parameters, decoded (a key may repeat).
using QueryParams = std::multimap<std::string, std::string>;

/// The parameters of a query string (the part of a request target after '?'), split as a
/// person typing a URL means them: at '&', then at the first '=' only, so that
/// `edit=age=+20` is edit -> "age= 20" ('+' is a space in a query, as in HTML forms;
/// parse_face_query restores it). Percent-escapes are decoded (`age%3D%2B20` -> "age=+20").
/// cpp-httplib's own parser splits at every '=' and keeps the last piece (" 20"), which is
/// why the server reads the raw target with this instead. RequestError 400 names a
/// malformed percent-escape.
QueryParams parse_query_string(std::string_view query);

/// GET /v1/face.png?seed=&psi=
struct FaceQuery {
    std::optional<uint32_t> seed;  // absent: the server draws one
    std::optional<double> psi;     // absent: the model's recommended psi
    std::string edit;              // attribute changes as generate --edit takes them; "" = none
};

/// A seed written in decimal, 0..4294967295 (numpy's seed range, as `facegen generate`).
uint32_t parse_seed(std::string_view text);

/// A psi written as a decimal number, finite and within 0..limits.max_psi.
double parse_psi(std::string_view text, const RequestLimits& limits);

/// The face.png query; rejects unknown parameters and a repeated seed or psi. Repeated
/// `edit`s are joined with ','; in `edit`, a space right after '=' and before a number is
/// the '+' a query turned into a space (`edit=age=+20` arrives as "age= 20").
FaceQuery parse_face_query(const QueryParams& params, const RequestLimits& limits);

/// One part of a multipart/form-data body.
struct FormPart {
    std::string name;
    std::string filename;  // "" = a plain field, not a file
    std::string content;
};

/// The bytes a multipart/form-data upload carries: the first part with a filename
/// (`curl -F file=@photo.jpg`), else the first part (`curl -F file=<photo.jpg`);
/// RequestError 400 when there is no part.
std::string uploaded_file(std::vector<FormPart> parts);

/// A POST /v1/generate body: {"seeds": [...]} or {"latents": {"space": "z"|"w"|"ws",
/// "values": [...]}}, with optional "psi", "truncation_cutoff", "noise_mode" and
/// "format" ("base64", the only one) and "edit" (a string, as generate --edit takes it).
/// Shapes are checked against the model later, by Session::check.
struct GenerateBody {
    generate::Request request;
    std::string edit;  // "" = none
};
GenerateBody parse_generate_body(const std::string& body, const RequestLimits& limits);

}  // namespace facegen::serve

#pragma once

#include <string_view>

// Files served as they are, built into the binary (CMake embeds them at build time).
namespace facegen::serve {

/// The "this person does not exist" page (page/index.html): plain HTML, CSS and JS that
/// talk to /v1 on the same origin; nothing is loaded from elsewhere.
std::string_view page_html();

/// The API's OpenAPI 3 description (openapi.json).
std::string_view openapi_json();

}  // namespace facegen::serve

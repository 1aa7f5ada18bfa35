#include "serve/page.h"

#include "serve/embedded_openapi_json.h"
#include "serve/embedded_page_html.h"

namespace facegen::serve {

std::string_view page_html() { return {embedded::page_html, sizeof(embedded::page_html) - 1}; }

std::string_view openapi_json() { return {embedded::openapi_json, sizeof(embedded::openapi_json) - 1}; }

}  // namespace facegen::serve

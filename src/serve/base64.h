#pragma once

#include <string>
#include <string_view>

namespace facegen::serve {

/// Standard base64 (RFC 4648 section 4) with '=' padding, as browsers' atob and
/// Python's base64.b64decode read it.
std::string encode_base64(std::string_view bytes);

}  // namespace facegen::serve

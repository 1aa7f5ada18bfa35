# cmake -DINPUT=file -DOUTPUT=header.h -DSYMBOL=name -P embed_text.cmake
# Writes a header holding the file's text as one C++ raw string literal,
# facegen::serve::embedded::<name>.
file(READ "${INPUT}" content)
set(delimiter "facegen_embed")
string(FIND "${content}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string end )${delimiter}\"; it cannot be embedded")
endif()
get_filename_component(name "${INPUT}" NAME)
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${name} by embed_text.cmake at build time; edit ${name} instead.\n"
  "#pragma once\n\n"
  "namespace facegen::serve::embedded {\n"
  "inline constexpr char ${SYMBOL}[] = R\"${delimiter}(${content})${delimiter}\";\n"
  "}  // namespace facegen::serve::embedded\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")

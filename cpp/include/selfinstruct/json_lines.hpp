// JSON Lines at the speed of the core, for the `dedup` command's reader and rejects writer.
//
// Reading: the string field of every line of a block, for the common case only (every line one
// JSON object whose field is a string). Anything else (a blank line, a line Python's json would
// refuse, a number too long to judge here, deep nesting, a lone surrogate escape in a key or in
// the field) refuses the whole block, and the caller parses it the slow, exact way. What is accepted
// is accepted by Python's json.loads too, with the same field value.
//
// Writing: a string as json.dumps(text, ensure_ascii=False) writes it, a float as json.dumps does.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace selfinstruct {

// The field values of one block, back to back in `text`; value i is [ends[i-1], ends[i]). Line i
// of the block ends at line_ends[i] (its '\n', or the block's end).
struct JsonLineFields {
  std::string text;
  std::vector<size_t> ends;
  std::vector<int64_t> line_ends;
  void clear() {
    text.clear();
    ends.clear();
    line_ends.clear();
  }
};

// Fills `out` with the last value of the top-level `field` of each line of `block` (UTF-8, lines
// split at '\n', a final empty piece ignored) and returns true; returns false, `out` undefined,
// when any line is not the common case described above.
bool string_fields_of_lines(std::string_view block, std::string_view field, JsonLineFields& out);

// Appends `utf8` as a JSON string literal, quotes included, escaped as Python's json.dumps with
// ensure_ascii=False escapes it: \" \\ \n \r \t \b \f, other characters below U+0020 as \u00xx.
void append_json_string(std::string& out, std::string_view utf8);

// Appends `value` as json.dumps writes a float: Python's repr (the shortest digits that read back
// as the same double; exponent form below 1e-4 and from 1e16 on), NaN, Infinity, -Infinity.
void append_json_float(std::string& out, double value);

}  // namespace selfinstruct

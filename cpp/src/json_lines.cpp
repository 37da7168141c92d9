#include "selfinstruct/json_lines.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace selfinstruct {
namespace {

constexpr int kMaxDepth = 64;           // deeper nesting is left to Python, which may refuse it
constexpr size_t kMaxNumberChars = 64;  // longer numbers too (Python refuses ints of 4,300+ digits)

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }  // JSON's, and json.loads'

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, uint32_t code) {  // a code point, not a surrogate
  if (code >= 0x10000) {
    out.push_back(static_cast<char>(0xF0 | (code >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else if (code < 0x80) {
    out.push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code >> 6)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xE0 | (code >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  }
}

// Whether any of the 8 bytes of `word` is '"', '\\' or below 0x20, the bytes a JSON string escapes
// (each test is exact for "some byte": a byte is zero, or below 0x20, only if its lane says so).
inline bool needs_escape(uint64_t word) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  const uint64_t quote = word ^ (kOnes * '"'), backslash = word ^ (kOnes * '\\');
  return (((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash) | ((word - kOnes * 0x20) & ~word)) & kHigh;
}

// A strict JSON parser for one line that keeps only the top-level string `field`. Every method
// returns false for input it does not accept.
class LineParser {
 public:
  LineParser(const char* begin, const char* end, std::string_view field) : p_(begin), end_(end), field_(field) {}

  // The whole line: one object, whitespace around it.
  bool parse_line(std::string& value) {
    skip_space();
    if (p_ == end_ || *p_ != '{' || !parse_object(0, &value)) return false;
    skip_space();
    return p_ == end_ && found_;
  }

 private:
  void skip_space() {
    while (p_ != end_ && is_space(*p_)) ++p_;
  }
  bool literal(const char* word, size_t size) {
    if (static_cast<size_t>(end_ - p_) < size || std::memcmp(p_, word, size) != 0) return false;
    p_ += size;
    return true;
  }
  // Four hex digits at `at` (within the line) as a number.
  bool hex4(const char* at, uint32_t& code) const {
    if (end_ - at < 4) return false;
    code = 0;
    for (int k = 0; k < 4; ++k) {
      const int digit = hex_value(at[k]);
      if (digit < 0) return false;
      code = code * 16 + static_cast<uint32_t>(digit);
    }
    return true;
  }
  bool digits() {
    const char* start = p_;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    return p_ != start;
  }
  // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?: the grammar json.loads reads. What follows a
  // number is checked by the caller (a delimiter), so "01" or "1.e" are refused.
  bool parse_number() {
    const char* start = p_;
    if (*p_ == '-') ++p_;
    if (p_ == end_) return false;
    if (*p_ == '0') {
      ++p_;
    } else if (!digits()) {
      return false;
    }
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (!digits()) return false;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!digits()) return false;
    }
    return static_cast<size_t>(p_ - start) <= kMaxNumberChars;
  }
  // At the opening quote. Appends the decoded text to `decoded` if given, refusing a lone
  // surrogate escape there (Python would make a str that is not valid Unicode).
  bool parse_string(std::string* decoded) {
    ++p_;
    for (;;) {
      const char* run = p_;
      // Eight bytes at a time up to the word holding the string's next special byte.
      for (uint64_t word; end_ - p_ >= 8; p_ += 8) {
        std::memcpy(&word, p_, 8);
        if (needs_escape(word)) break;
      }
      while (p_ != end_ && *p_ != '"' && *p_ != '\\' && static_cast<unsigned char>(*p_) >= 0x20) ++p_;
      if (decoded != nullptr) decoded->append(run, static_cast<size_t>(p_ - run));
      if (p_ == end_ || static_cast<unsigned char>(*p_) < 0x20) return false;  // unterminated, or a raw control character
      if (*p_ == '"') {
        ++p_;
        return true;
      }
      if (++p_ == end_) return false;
      char escaped = 0;
      switch (*p_) {
        case '"': escaped = '"'; break;
        case '\\': escaped = '\\'; break;
        case '/': escaped = '/'; break;
        case 'b': escaped = '\b'; break;
        case 'f': escaped = '\f'; break;
        case 'n': escaped = '\n'; break;
        case 'r': escaped = '\r'; break;
        case 't': escaped = '\t'; break;
        case 'u': {
          uint32_t code = 0;
          if (!hex4(p_ + 1, code)) return false;
          p_ += 5;
          if (decoded != nullptr) {
            if (code >= 0xD800 && code <= 0xDFFF) {
              // Only a high surrogate escape directly followed by a low one (one character, as
              // json.loads joins them); a lone one is left to Python.
              uint32_t low = 0;
              if (code > 0xDBFF || end_ - p_ < 6 || p_[0] != '\\' || p_[1] != 'u' || !hex4(p_ + 2, low) ||
                  low < 0xDC00 || low > 0xDFFF) {
                return false;
              }
              p_ += 6;
              code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
            }
            append_utf8(*decoded, code);
          }
          continue;
        }
        default: return false;
      }
      ++p_;
      if (decoded != nullptr) decoded->push_back(escaped);
    }
  }
  // After a value: whitespace, then `close` or a comma (and then more).
  bool after_member(char close, bool& more) {
    skip_space();
    if (p_ == end_) return false;
    if (*p_ == ',') {
      ++p_;
      more = true;
      return true;
    }
    more = false;
    if (*p_ != close) return false;
    ++p_;
    return true;
  }
  bool parse_value(int depth) {
    if (p_ == end_) return false;
    switch (*p_) {
      case '{': return depth < kMaxDepth && parse_object(depth + 1, nullptr);
      case '[': return depth < kMaxDepth && parse_array(depth + 1);
      case '"': return parse_string(nullptr);
      case 't': return literal("true", 4);
      case 'f': return literal("false", 5);
      case 'n': return literal("null", 4);
      default: return (*p_ == '-' || (*p_ >= '0' && *p_ <= '9')) && parse_number();
    }
  }
  bool parse_array(int depth) {
    ++p_;
    skip_space();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    for (bool more = true; more;) {
      skip_space();
      if (!parse_value(depth) || !after_member(']', more)) return false;
    }
    return true;
  }
  // `value` is given for the top-level object only: its keys are compared with the field, and
  // the field's value (the last one, as in a Python dict) is kept there.
  bool parse_object(int depth, std::string* value) {
    ++p_;
    skip_space();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    for (bool more = true; more;) {
      skip_space();
      if (p_ == end_ || *p_ != '"') return false;
      bool is_field = false;
      if (value != nullptr) {
        key_.clear();
        if (!parse_string(&key_)) return false;
        is_field = key_ == field_;
      } else if (!parse_string(nullptr)) {
        return false;
      }
      skip_space();
      if (p_ == end_ || *p_ != ':') return false;
      ++p_;
      skip_space();
      if (is_field) {
        found_ = p_ != end_ && *p_ == '"';
        if (found_) {
          value->clear();
          if (!parse_string(value)) return false;
        } else if (!parse_value(depth)) {
          return false;
        }
      } else if (!parse_value(depth)) {
        return false;
      }
      if (!after_member('}', more)) return false;
    }
    return true;
  }

  const char* p_;
  const char* end_;
  std::string_view field_;
  std::string key_;     // the top-level key being read, decoded
  bool found_ = false;  // whether the field's last value so far is a string
};

}  // namespace

bool string_fields_of_lines(std::string_view block, std::string_view field, JsonLineFields& out) {
  out.clear();
  // A decoded value is never longer than its JSON text: one allocation instead of a doubling
  // series (each step copied the text and faulted in fresh pages).
  out.text.reserve(block.size());
  std::string value;
  const char* p = block.data();
  const char* const end = p + block.size();
  while (p != end) {
    const auto* newline = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    const char* line_end = newline != nullptr ? newline : end;
    LineParser parser(p, line_end, field);
    if (!parser.parse_line(value)) return false;
    out.text += value;
    out.ends.push_back(out.text.size());
    out.line_ends.push_back(line_end - block.data());
    p = newline != nullptr ? newline + 1 : end;
  }
  return true;
}

void append_json_string(std::string& out, std::string_view utf8) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  const char* p = utf8.data();
  const char* const end = p + utf8.size();
  while (p != end) {
    const char* run = p;
    // Eight bytes at a time up to the word holding the next byte to escape, then byte by byte.
    for (uint64_t word; end - p >= 8; p += 8) {
      std::memcpy(&word, p, 8);
      if (needs_escape(word)) break;
    }
    while (p != end && *p != '"' && *p != '\\' && static_cast<unsigned char>(*p) >= 0x20) ++p;
    out.append(run, static_cast<size_t>(p - run));
    if (p == end) break;
    const auto c = static_cast<unsigned char>(*p++);
    out.push_back('\\');
    switch (c) {
      case '"': out.push_back('"'); break;
      case '\\': out.push_back('\\'); break;
      case '\n': out.push_back('n'); break;
      case '\r': out.push_back('r'); break;
      case '\t': out.push_back('t'); break;
      case '\b': out.push_back('b'); break;
      case '\f': out.push_back('f'); break;
      default:
        out.append("u00");
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
    }
  }
  out.push_back('"');
}

namespace {

// The shortest decimal digits that read back as `value` (> 0, finite), and the exponent of the
// first one: value ~ d.ddd x 10^exponent.
void shortest_digits(double value, std::string& digits, int& exponent) {
  char text[64];
#if defined(__cpp_lib_to_chars) && __cpp_lib_to_chars >= 201611L && !defined(SELFINSTRUCT_NO_FLOAT_TO_CHARS)
  const char* end = std::to_chars(text, text + sizeof text, value, std::chars_format::scientific).ptr;
#else
  // Correctly rounded digits at each precision until they read back: the same shortest digits.
  int written = 0;
  for (int precision = 0; precision < 17; ++precision) {
    written = std::snprintf(text, sizeof text, "%.*e", precision, value);
    if (std::strtod(text, nullptr) == value) break;
  }
  const char* end = text + written;
#endif
  digits.clear();
  const char* p = text;
  for (; p != end && *p != 'e'; ++p) {
    if (*p != '.') digits.push_back(*p);
  }
  exponent = std::atoi(std::string(p + 1, end).c_str());
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();  // ("%.*e" may pad)
}

}  // namespace

void append_json_float(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "Infinity" : "-Infinity";
    return;
  }
  if (std::signbit(value)) out.push_back('-');
  value = std::fabs(value);
  if (value == 0) {
    out += "0.0";
    return;
  }
  std::string digits;
  int exponent = 0;
  shortest_digits(value, digits, exponent);
  const int point = exponent + 1;  // digits before the decimal point
  const auto count = static_cast<int>(digits.size());
  if (point <= -4 || point > 16) {  // Python's repr switches to the exponent form here
    out.push_back(digits[0]);
    if (count > 1) {
      out.push_back('.');
      out.append(digits, 1, std::string::npos);
    }
    char tail[8];
    std::snprintf(tail, sizeof tail, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    out += tail;
  } else if (point <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-point), '0');
    out += digits;
  } else if (point >= count) {
    out += digits;
    out.append(static_cast<size_t>(point - count), '0');
    out += ".0";
  } else {
    out.append(digits, 0, static_cast<size_t>(point));
    out.push_back('.');
    out.append(digits, static_cast<size_t>(point), std::string::npos);
  }
}

}  // namespace selfinstruct

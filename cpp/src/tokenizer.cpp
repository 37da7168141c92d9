#include "selfinstruct/tokenizer.hpp"

namespace selfinstruct {
namespace {

// Decodes one UTF-8 code point starting at text[i] (input comes from CPython, so it is valid).
inline uint32_t decode(std::string_view text, size_t& i) {
  const auto byte = static_cast<unsigned char>(text[i]);
  if (byte < 0x80) {
    ++i;
    return byte;
  }
  int extra = byte >= 0xF0 ? 3 : byte >= 0xE0 ? 2 : 1;
  uint32_t code = byte & (0x3F >> extra);
  ++i;
  for (; extra > 0 && i < text.size(); --extra, ++i) code = (code << 6) | (static_cast<unsigned char>(text[i]) & 0x3F);
  return code;
}

void tokenize_rouge(std::string_view text, TokenSpans& out) {
  // Python's str.lower() maps exactly two non-ASCII code points to something containing [a-z0-9]:
  // U+212A KELVIN SIGN -> "k" and U+0130 -> "i" + U+0307 (a separator). The tests check this
  // against CPython over every code point.
  uint32_t start = static_cast<uint32_t>(out.buffer.size());
  auto close_token = [&]() {
    const auto end = static_cast<uint32_t>(out.buffer.size());
    if (end > start) out.spans.emplace_back(start, end - start);
    start = end;
  };
  size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      ++i;
      if ((byte >= 'a' && byte <= 'z') || (byte >= '0' && byte <= '9')) {
        out.buffer.push_back(static_cast<char>(byte));
      } else if (byte >= 'A' && byte <= 'Z') {
        out.buffer.push_back(static_cast<char>(byte + ('a' - 'A')));
      } else {
        close_token();
      }
      continue;
    }
    const uint32_t code = decode(text, i);
    if (code == 0x212A) {
      out.buffer.push_back('k');
    } else if (code == 0x0130) {
      out.buffer.push_back('i');
      close_token();
    } else {
      close_token();
    }
  }
  close_token();
}

void tokenize_split(std::string_view text, TokenSpans& out) {
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    const size_t begin = i;
    while (i < text.size() && text[i] != ' ') ++i;
    if (i > begin) {
      const auto offset = static_cast<uint32_t>(out.buffer.size());
      out.buffer.append(text.data() + begin, i - begin);
      out.spans.emplace_back(offset, static_cast<uint32_t>(i - begin));
    }
  }
}

}  // namespace

void tokenize(std::string_view utf8, TokenizerMode mode, TokenSpans& out) {
  out.clear();
  if (mode == TokenizerMode::kRouge) {
    tokenize_rouge(utf8, out);
  } else {
    tokenize_split(utf8, out);
  }
}

}  // namespace selfinstruct

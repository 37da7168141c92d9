// Tokenizers that turn UTF-8 text into token strings, and the interning vocabulary.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace selfinstruct {

enum class TokenizerMode : int {
  // rouge-score 0.1.2 default tokenizer: str.lower(), runs outside [a-z0-9] are separators.
  kRouge = 0,
  // Pre-tokenized text: tokens separated by ASCII spaces (the Python "unicode" tokenizer's output).
  kSplit = 1,
};

// The tokens of one text as (offset, length) pairs into `buffer`, which holds the normalised
// characters (tokenize() clears it first).
struct TokenSpans {
  std::string buffer;
  std::vector<std::pair<uint32_t, uint32_t>> spans;
  void clear() {
    buffer.clear();
    spans.clear();
  }
  std::string_view token(size_t i) const { return {buffer.data() + spans[i].first, spans[i].second}; }
  size_t size() const { return spans.size(); }
};

void tokenize(std::string_view utf8, TokenizerMode mode, TokenSpans& out);

}  // namespace selfinstruct

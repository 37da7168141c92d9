#include "selfinstruct/lcs.hpp"

#include <algorithm>

namespace selfinstruct {

void LcsPattern::assign(const uint32_t* tokens, uint32_t length) {
  length_ = length;
  words_ = (length + 63) / 64;
  masks_.reset(length, words_ == 0 ? 1 : words_);
  for (uint32_t i = 0; i < length; ++i) masks_.row_for_insert(tokens[i])[i / 64] |= uint64_t{1} << (i % 64);
}

uint32_t LcsPattern::lcs(const uint32_t* text, uint32_t text_length) const {
  if (length_ == 0 || text_length == 0) return 0;
  return words_ == 1 ? lcs_one_word(text, text_length) : lcs_blocks(text, text_length);
}

uint32_t LcsPattern::lcs_one_word(const uint32_t* text, uint32_t text_length) const {
  // V has a 0 bit for every pattern position matched in the current LCS; a text token absent
  // from the pattern leaves V unchanged, so it is skipped.
  uint64_t v = ~uint64_t{0};
  for (uint32_t j = 0; j < text_length; ++j) {
    const uint64_t* row = masks_.find(text[j]);
    if (row == nullptr) continue;
    const uint64_t u = v & *row;
    v = (v + u) | (v - u);
  }
  const uint64_t used = length_ == 64 ? ~uint64_t{0} : (uint64_t{1} << length_) - 1;
  return static_cast<uint32_t>(__builtin_popcountll(~v & used));
}

uint32_t LcsPattern::lcs_blocks(const uint32_t* text, uint32_t text_length) const {
  std::vector<uint64_t> v(words_, ~uint64_t{0});
  for (uint32_t j = 0; j < text_length; ++j) {
    const uint64_t* row = masks_.find(text[j]);
    if (row == nullptr) continue;
    uint64_t carry = 0;
    for (uint32_t w = 0; w < words_; ++w) {
      const uint64_t vw = v[w];
      const uint64_t u = vw & row[w];
      // (vw + u + carry) with carry out; vw - u never borrows because u is a subset of vw.
      const uint64_t sum1 = vw + u;
      const uint64_t carry1 = sum1 < vw;
      const uint64_t sum = sum1 + carry;
      const uint64_t carry2 = sum < sum1;
      carry = carry1 | carry2;
      v[w] = sum | (vw - u);
    }
  }
  uint32_t count = 0;
  for (uint32_t w = 0; w < words_; ++w) {
    uint64_t used = ~uint64_t{0};
    const uint32_t bits = std::min<uint32_t>(64, length_ - w * 64);
    if (bits < 64) used = (uint64_t{1} << bits) - 1;
    count += static_cast<uint32_t>(__builtin_popcountll(~v[w] & used));
  }
  return count;
}

uint32_t lcs_reference(const uint32_t* a, uint32_t m, const uint32_t* b, uint32_t n) {
  std::vector<uint32_t> previous(n + 1, 0), current(n + 1, 0);
  for (uint32_t i = 1; i <= m; ++i) {
    for (uint32_t j = 1; j <= n; ++j) {
      current[j] = a[i - 1] == b[j - 1] ? previous[j - 1] + 1 : std::max(previous[j], current[j - 1]);
    }
    std::swap(previous, current);
  }
  return previous[n];
}

}  // namespace selfinstruct

// Longest common subsequence length of two token-id sequences, bit-parallel (Allison-Dix / Hyyrö).
#pragma once
#include <cstdint>
#include <vector>

#include "detail/pattern_masks.hpp"

namespace selfinstruct {

// The match masks of one pattern (query) sequence, reusable against many texts.
// Memory stays linear in the pattern's length: when one mask row per distinct token would be
// large (long patterns of mostly distinct tokens), the pattern keeps each token's positions and
// builds its mask row on the fly instead.
class LcsPattern {
 public:
  LcsPattern() = default;
  explicit LcsPattern(const uint32_t* tokens, uint32_t length) { assign(tokens, length); }
  void assign(const uint32_t* tokens, uint32_t length);
  uint32_t length() const { return length_; }
  // LCS length between the pattern and `text`.
  uint32_t lcs(const uint32_t* text, uint32_t text_length) const;

 private:
  uint32_t lcs_one_word(const uint32_t* text, uint32_t text_length) const;
  template <uint32_t kWords>
  uint32_t lcs_words(const uint32_t* text, uint32_t text_length) const;
  uint32_t lcs_blocks(const uint32_t* text, uint32_t text_length) const;
  uint32_t lcs_sparse(const uint32_t* text, uint32_t text_length) const;
  uint32_t count_lcs(const uint64_t* v) const;

  uint32_t length_ = 0;
  uint32_t words_ = 0;
  bool sparse_ = false;
  detail::TokenRows rows_;
  std::vector<uint64_t> masks_;       // dense: words_ mask words per row
  std::vector<uint32_t> row_starts_;  // sparse: positions_[row_starts_[r] .. row_starts_[r + 1])
  std::vector<uint32_t> positions_;
};

// O(m*n) dynamic programming reference, kept beside the fast kernel for the tests.
uint32_t lcs_reference(const uint32_t* a, uint32_t m, const uint32_t* b, uint32_t n);

}  // namespace selfinstruct

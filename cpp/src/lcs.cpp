#include "selfinstruct/lcs.hpp"

#include "selfinstruct/detail/bits.hpp"
#include "selfinstruct/detail/lcs_step.hpp"

#include <algorithm>

namespace selfinstruct {

namespace {
// Dense mask rows cost (distinct tokens x words) words; above this many, use positions instead.
constexpr uint64_t kDenseBudgetWords = uint64_t{1} << 18;  // 2 MiB

}  // namespace

void LcsPattern::assign(const uint32_t* tokens, uint32_t length) {
  length_ = length;
  words_ = (length + 63) / 64;
  rows_.reset(length);
  std::vector<uint32_t> row_of(length);
  for (uint32_t i = 0; i < length; ++i) row_of[i] = rows_.insert(tokens[i]);
  const uint32_t distinct = rows_.rows();
  sparse_ = words_ > 1 && static_cast<uint64_t>(distinct) * words_ > kDenseBudgetWords;
  if (!sparse_) {
    row_starts_.clear();
    positions_.clear();
    masks_.assign(static_cast<size_t>(distinct) * std::max<uint32_t>(words_, 1), 0);
    for (uint32_t i = 0; i < length; ++i) masks_[static_cast<size_t>(row_of[i]) * words_ + i / 64] |= uint64_t{1} << (i % 64);
    return;
  }
  masks_.clear();
  row_starts_.assign(distinct + 1, 0);
  for (uint32_t i = 0; i < length; ++i) ++row_starts_[row_of[i] + 1];
  for (uint32_t r = 0; r < distinct; ++r) row_starts_[r + 1] += row_starts_[r];
  positions_.resize(length);
  std::vector<uint32_t> fill(row_starts_.begin(), row_starts_.end() - 1);
  for (uint32_t i = 0; i < length; ++i) positions_[fill[row_of[i]]++] = i;
}

uint32_t LcsPattern::lcs(const uint32_t* text, uint32_t text_length) const {
  if (length_ == 0 || text_length == 0) return 0;
  if (sparse_) return lcs_sparse(text, text_length);
  switch (words_) {
    case 1: return lcs_one_word(text, text_length);
    case 2: return lcs_words<2>(text, text_length);
    case 3: return lcs_words<3>(text, text_length);
    case 4: return lcs_words<4>(text, text_length);
    case 5: return lcs_words<5>(text, text_length);
    case 6: return lcs_words<6>(text, text_length);
    case 7: return lcs_words<7>(text, text_length);
    case 8: return lcs_words<8>(text, text_length);
    default: return lcs_blocks(text, text_length);
  }
}

template <uint32_t kWords>
uint32_t LcsPattern::lcs_words(const uint32_t* text, uint32_t text_length) const {
  // Patterns of 65..512 tokens: the state on the stack and the carry loop unrolled (no
  // allocation per call).
  uint64_t v[kWords];
  for (uint32_t w = 0; w < kWords; ++w) v[w] = ~uint64_t{0};
  for (uint32_t j = 0; j < text_length; ++j) {
    const uint32_t row = rows_.find(text[j]);
    if (row == detail::TokenRows::kAbsent) continue;
    detail::lcs_step(v, masks_.data() + static_cast<size_t>(row) * kWords, v, kWords);
  }
  return count_lcs(v);
}

uint32_t LcsPattern::lcs_one_word(const uint32_t* text, uint32_t text_length) const {
  // V has a 0 bit for every pattern position matched in the current LCS; a text token absent
  // from the pattern leaves V unchanged, so it is skipped.
  uint64_t v = ~uint64_t{0};
  for (uint32_t j = 0; j < text_length; ++j) {
    const uint32_t row = rows_.find(text[j]);
    if (row == detail::TokenRows::kAbsent) continue;
    const uint64_t u = v & masks_[row];
    v = (v + u) | (v - u);
  }
  const uint64_t used = length_ == 64 ? ~uint64_t{0} : (uint64_t{1} << length_) - 1;
  return detail::popcount64(~v & used);
}

uint32_t LcsPattern::lcs_blocks(const uint32_t* text, uint32_t text_length) const {
  std::vector<uint64_t> v(words_, ~uint64_t{0});
  for (uint32_t j = 0; j < text_length; ++j) {
    const uint32_t row = rows_.find(text[j]);
    if (row == detail::TokenRows::kAbsent) continue;
    detail::lcs_step(v.data(), masks_.data() + static_cast<size_t>(row) * words_, v.data(), words_);
  }
  return count_lcs(v.data());
}

uint32_t LcsPattern::lcs_sparse(const uint32_t* text, uint32_t text_length) const {
  // The same recurrence; each text token's mask row is set from its positions, used, and cleared.
  std::vector<uint64_t> v(words_, ~uint64_t{0}), mask(words_, 0);
  for (uint32_t j = 0; j < text_length; ++j) {
    const uint32_t row = rows_.find(text[j]);
    if (row == detail::TokenRows::kAbsent) continue;
    const uint32_t* first = positions_.data() + row_starts_[row];
    const uint32_t* last = positions_.data() + row_starts_[row + 1];
    for (const uint32_t* p = first; p != last; ++p) mask[*p / 64] |= uint64_t{1} << (*p % 64);
    detail::lcs_step(v.data(), mask.data(), v.data(), words_);
    for (const uint32_t* p = first; p != last; ++p) mask[*p / 64] = 0;
  }
  return count_lcs(v.data());
}

uint32_t LcsPattern::count_lcs(const uint64_t* v) const {
  uint32_t count = 0;
  for (uint32_t w = 0; w < words_; ++w) {
    uint64_t used = ~uint64_t{0};
    const uint32_t bits = std::min<uint32_t>(64, length_ - w * 64);
    if (bits < 64) used = (uint64_t{1} << bits) - 1;
    count += detail::popcount64(~v[w] & used);
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

#include "selfinstruct/detail/summary_lcs.hpp"

#include "selfinstruct/detail/lcs_step.hpp"

#include <algorithm>

namespace selfinstruct::detail {

void SummaryLcs::set_masks(const uint32_t* tokens, uint32_t length, uint32_t words, bool on) {
  for (uint32_t i = 0; i < length; ++i) {
    uint64_t& word = masks_[static_cast<size_t>(tokens[i]) * words + i / 64];
    word = on ? word | (uint64_t{1} << (i % 64)) : 0;
  }
}

uint32_t SummaryLcs::cell(uint32_t i, uint32_t j, uint32_t words) const {
  const uint64_t* column = columns_.data() + static_cast<size_t>(j - first_column_) * words;
  uint32_t count = 0;
  const uint32_t full = i / 64;
  for (uint32_t w = 0; w < full; ++w) count += static_cast<uint32_t>(__builtin_popcountll(~column[w]));
  if (i % 64 != 0) count += static_cast<uint32_t>(__builtin_popcountll(~column[full] & ((uint64_t{1} << (i % 64)) - 1)));
  return count;
}

void SummaryLcs::step(const uint32_t* c, uint32_t j, const uint64_t* column, uint64_t* next, uint32_t words) const {
  const uint64_t* row = masks_.data() + static_cast<size_t>(c[j]) * words;
  lcs_step(column, row, next, words);
}

void SummaryLcs::load_columns(const uint32_t* c, uint32_t first, uint32_t last, uint32_t words) {
  columns_.resize(static_cast<size_t>(last - first + 1) * words);
  std::copy_n(checkpoints_.data() + static_cast<size_t>(first / block_) * words, words, columns_.data());
  for (uint32_t j = first; j < last; ++j) {
    step(c, j, columns_.data() + static_cast<size_t>(j - first) * words,
         columns_.data() + static_cast<size_t>(j - first + 1) * words, words);
  }
  first_column_ = first;
}

void SummaryLcs::add_lcs(const uint32_t* reference, uint32_t reference_length, const uint32_t* c, uint32_t length,
                         uint32_t words) {
  if (static_cast<size_t>(length + 1) * words <= max_column_words_) {
    block_ = length + 1;
    columns_.assign(static_cast<size_t>(length + 1) * words, ~uint64_t{0});
    for (uint32_t j = 0; j < length; ++j) {
      step(c, j, columns_.data() + static_cast<size_t>(j) * words, columns_.data() + static_cast<size_t>(j + 1) * words,
           words);
    }
    first_column_ = 0;
  } else {
    block_ = 1;
    while (static_cast<size_t>(block_) * block_ < static_cast<size_t>(length) + 1) ++block_;
    checkpoints_.assign(static_cast<size_t>(length / block_ + 1) * words, ~uint64_t{0});
    std::vector<uint64_t> column(words, ~uint64_t{0}), next(words);
    for (uint32_t j = 0; j < length; ++j) {
      step(c, j, column.data(), next.data(), words);
      column.swap(next);
      if ((j + 1) % block_ == 0) std::copy_n(column.data(), words, checkpoints_.data() + static_cast<size_t>((j + 1) / block_) * words);
    }
    const uint32_t first = (length - 1) / block_ * block_;
    load_columns(c, first, length, words);
  }
  uint32_t i = reference_length, j = length;
  uint32_t remaining = cell(i, j, words);
  while (remaining > 0) {  // no match left once the cell is 0: the backtrack would only walk
    if (j - 1 < first_column_) {
      const uint32_t first = (j - 1) / block_ * block_;
      load_columns(c, first, std::min(length, first + block_), words);
    }
    if (reference[i - 1] == c[j - 1]) {
      union_[(i - 1) / 64] |= uint64_t{1} << ((i - 1) % 64);
      --i;
      --j;
      --remaining;
    } else if (cell(i, j - 1, words) > cell(i - 1, j, words)) {
      --j;
    } else {
      --i;
    }
  }
}

uint64_t SummaryLcs::hits(const SentenceIds& reference, const SentenceIds& candidate, uint32_t id_count) {
  if (reference.tokens() == 0 || candidate.tokens() == 0) return 0;
  reference_counts_.assign(id_count, 0);
  candidate_counts_.assign(id_count, 0);
  for (uint32_t k = 0; k < reference.tokens(); ++k) ++reference_counts_[reference.ids[k]];
  for (uint32_t k = 0; k < candidate.tokens(); ++k) ++candidate_counts_[candidate.ids[k]];
  uint64_t hits = 0;
  for (size_t s = 0; s < reference.sentences; ++s) {
    const uint32_t* r = reference.ids + reference.begin(s);
    const uint32_t r_length = reference.end(s) - reference.begin(s);
    if (r_length == 0) continue;
    const uint32_t words = (r_length + 63) / 64;
    const size_t mask_size = static_cast<size_t>(id_count) * words;
    if (masks_.size() < mask_size) masks_.resize(mask_size, 0);
    union_.assign(words, 0);
    set_masks(r, r_length, words, true);
    for (size_t t = 0; t < candidate.sentences; ++t) {
      const uint32_t c_length = candidate.end(t) - candidate.begin(t);
      if (c_length > 0) add_lcs(r, r_length, candidate.ids + candidate.begin(t), c_length, words);
    }
    set_masks(r, r_length, words, false);
    for (uint32_t w = 0; w < words; ++w) {
      for (uint64_t bits = union_[w]; bits != 0; bits &= bits - 1) {
        const uint32_t token = r[w * 64 + static_cast<uint32_t>(__builtin_ctzll(bits))];
        if (candidate_counts_[token] > 0 && reference_counts_[token] > 0) {
          ++hits;
          --candidate_counts_[token];
          --reference_counts_[token];
        }
      }
    }
  }
  return hits;
}

}  // namespace selfinstruct::detail

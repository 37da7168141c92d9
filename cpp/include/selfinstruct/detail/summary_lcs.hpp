// Summary-level LCS (rougeLsum) hits, counted exactly as rouge-score 0.1.2 counts them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace selfinstruct::detail {

// Sentences of one text: token ids (dense, < the pair's id count) and each sentence's end offset.
struct SentenceIds {
  const uint32_t* ids = nullptr;
  const uint32_t* ends = nullptr;
  size_t sentences = 0;
  uint32_t begin(size_t s) const { return s == 0 ? 0 : ends[s - 1]; }
  uint32_t end(size_t s) const { return ends[s]; }
  uint32_t tokens() const { return sentences == 0 ? 0 : ends[sentences - 1]; }
};

// For each reference sentence, the union of one LCS with every candidate sentence, where "one
// LCS" is the one rouge-score's backtrack picks (diagonal on a match, else left only when the
// left cell is strictly larger). Union tokens count as hits while both texts still have an
// unused copy of the token. The LCS tables come from the bit-parallel recurrence: cell (i, j)
// is the number of zero bits below bit i of the column vector after j candidate tokens.
class SummaryLcs {
 public:
  // Columns are kept in full up to `max_column_words` 64-bit words; beyond, memory grows with the
  // square root of the candidate sentence's length and each column is computed twice.
  static constexpr size_t kMaxColumnWords = size_t{1} << 20;  // 8 MiB
  explicit SummaryLcs(size_t max_column_words = kMaxColumnWords) : max_column_words_(max_column_words) {}
  uint64_t hits(const SentenceIds& reference, const SentenceIds& candidate, uint32_t id_count);

 private:
  void set_masks(const uint32_t* tokens, uint32_t length, uint32_t words, bool on);
  // Marks in union_ the reference positions of the LCS picked between the reference sentence
  // (masks already set) and candidate tokens [c, c + length).
  void add_lcs(const uint32_t* reference, uint32_t reference_length, const uint32_t* c, uint32_t length,
               uint32_t words);
  // Column j + 1 from column j (candidate token c[j]).
  void step(const uint32_t* c, uint32_t j, const uint64_t* column, uint64_t* next, uint32_t words) const;
  // Recomputes columns_ as columns [first, last] from the checkpoint at `first`.
  void load_columns(const uint32_t* c, uint32_t first, uint32_t last, uint32_t words);
  // Table cell (i, j): LCS of the first i reference tokens with the first j candidate tokens.
  uint32_t cell(uint32_t i, uint32_t j, uint32_t words) const;

  std::vector<uint64_t> masks_;    // id * words + w, all zero between reference sentences
  // Columns from first_column_ on: all of them when they fit, else a block of them, recomputed
  // from checkpoints_ (every block_-th column) as the backtrack moves left.
  std::vector<uint64_t> columns_;
  std::vector<uint64_t> checkpoints_;
  uint32_t first_column_ = 0, block_ = 0;
  size_t max_column_words_;
  std::vector<uint64_t> union_;
  std::vector<uint32_t> reference_counts_, candidate_counts_;
};

}  // namespace selfinstruct::detail

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
  uint64_t hits(const SentenceIds& reference, const SentenceIds& candidate, uint32_t id_count);

 private:
  void set_masks(const uint32_t* tokens, uint32_t length, uint32_t words, bool on);
  // Marks in union_ the reference positions of the LCS picked between the reference sentence
  // (masks already set) and candidate tokens [c, c + length).
  void add_lcs(const uint32_t* reference, uint32_t reference_length, const uint32_t* c, uint32_t length,
               uint32_t words);
  // Table cell (i, j): LCS of the first i reference tokens with the first j candidate tokens.
  uint32_t cell(uint32_t i, uint32_t j, uint32_t words) const;

  std::vector<uint64_t> masks_;    // id * words + w, all zero between reference sentences
  std::vector<uint64_t> columns_;  // column vector after j candidate tokens, at j * words
  std::vector<uint64_t> union_;
  std::vector<uint32_t> reference_counts_, candidate_counts_;
};

}  // namespace selfinstruct::detail

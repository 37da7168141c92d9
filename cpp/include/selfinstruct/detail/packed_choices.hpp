// Short choices (1..64 tokens) packed several to a 32-byte vector, one choice per lane, so that one
// step of the bit-parallel LCS advances a query against a whole group of choices at once. Each
// choice is the pattern of its lane: lanes of 8, 16, 32 or 64 bits hold choices of at most that
// many tokens (32, 16, 8 or 4 choices per vector). A query token only changes the groups whose
// choices contain it (a zero mask leaves the state as it is), so the query walks, per token, the
// postings of that token: (group, lane masks) pairs, in group order.
#pragma once
#include <cstdint>
#include <vector>

#include "selfinstruct/corpus.hpp"
#include "selfinstruct/detail/f_table.hpp"
#include "selfinstruct/detail/lane_vector.hpp"

namespace selfinstruct::detail {

class PackedChoices {
 public:
  static constexpr uint32_t kMaxLength = 64;
  static constexpr uint32_t kNoChoice = UINT32_MAX;

  // Packs the choices among [0, count) with 1..64 tokens; `vocabulary_size` bounds their ids.
  // Their tokens together must number fewer than 2^32 (see fits).
  PackedChoices(const TokenSequences& choices, size_t count, size_t vocabulary_size);
  static bool packs(uint32_t length) { return length >= 1 && length <= kMaxLength; }
  static bool fits(const TokenSequences& choices) {
    return choices.size() < kNoChoice && choices.offset(choices.size()) < UINT32_MAX;
  }

  // Working memory of one thread.
  struct Scratch {
    std::vector<VectorBlock> states;
    FTable f;
  };

  // row[c] = F(query, choices[c]) for every packed choice c; other entries are left alone.
  void score(const uint32_t* query, uint32_t n, Scratch& scratch, double* row) const;

  // One lane width's groups and postings (the layout is the same for every width).
  struct Bucket {
    uint32_t lane_bits = 0;
    uint32_t groups = 0;
    std::vector<uint32_t> members;           // lanes per group; kNoChoice in unused lanes
    std::vector<uint8_t> lengths;            // tokens of each member
    std::vector<VectorBlock> used;           // per group: each lane's pattern positions
    uint32_t token_limit = 0;                // one more than the largest token id of the members
    std::vector<uint32_t> token_starts;      // token t's postings: [token_starts[t], token_starts[t + 1])
    std::vector<uint32_t> posting_groups;
    std::vector<VectorBlock> posting_masks;  // where the token occurs in each lane's choice
  };

 private:
  Bucket buckets_[4];  // lanes of 8, 16, 32 and 64 bits
};

}  // namespace selfinstruct::detail

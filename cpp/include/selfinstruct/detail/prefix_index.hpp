// Inverted index over the rarest tokens of each pool entry (prefix filtering), with positional
// and multiset-overlap bounds, used to find every pool entry that may score above the threshold.
#pragma once
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "selfinstruct/corpus.hpp"
#include "selfinstruct/detail/length_bounds.hpp"
#include "selfinstruct/lcs.hpp"

namespace selfinstruct::detail {

struct Posting {
  uint32_t entry;
  uint32_t length;    // the entry's token count
  uint32_t position;  // where this element sits in the entry's ordered elements
};

struct Match {
  double score = -1.0;
  int64_t index = -1;
};

// Per-thread working memory for probes.
struct ProbeScratch {
  std::vector<uint32_t> count;  // prefix matches per entry, or kDead once a bound rules it out
  std::vector<uint32_t> touched;
  std::vector<uint64_t> elements;
  LcsPattern pattern;
  LengthBounds::QueryBounds bounds;
  uint64_t probed = 0, verified = 0, lcs = 0;
};

class PrefixIndex {
 public:
  explicit PrefixIndex(double threshold) : bounds_(threshold) {}
  const LengthBounds& bounds() const { return bounds_; }
  size_t indexed() const { return indexed_; }
  bool built() const { return built_; }

  // Whether token ranks should be recomputed before admitting `incoming` more candidates.
  bool needs_rebuild(size_t entries, size_t incoming) const;
  // Ranks tokens by frequency in the entries plus `sample` (rarest first) and indexes every entry.
  void rebuild(const TokenSequences& entries, const TokenSequences& sample, size_t vocabulary_size);
  // Indexes entry number indexed() of `entries`.
  void add_next(const TokenSequences& entries);
  // Forgets entries from `count` on (call before truncating `entries`).
  void truncate(const TokenSequences& entries, size_t count);

  // The best entry with F > threshold (highest F, lowest index on ties) among entries with index
  // >= `first_entry`; `tail_only` walks posting lists from their end (entries added recently).
  Match probe(const uint32_t* tokens, uint32_t n, const TokenSequences& entries, size_t first_entry, bool tail_only,
              ProbeScratch& scratch) const;

 private:
  // Element keys of a token list, sorted: rank in the high half, occurrence number in the low half,
  // so a multiset becomes a set and multiset overlap becomes set overlap.
  void elements_of(const uint32_t* tokens, uint32_t n, std::vector<uint64_t>& out) const;
  uint32_t rank_of(uint32_t token) const {
    // Tokens first seen after the last ranking are rare: they sort first, newest first.
    return token < rank_.size() ? rank_[token] : 0x7FFFFFFFu - token;
  }
  uint32_t prefix_length(uint32_t n) const;

  LengthBounds bounds_;
  std::vector<uint32_t> rank_;
  std::vector<uint64_t> elements_;  // every indexed entry's elements, at its token offset
  std::unordered_map<uint64_t, std::vector<Posting>> postings_;
  size_t indexed_ = 0;
  size_t built_at_ = 0;
  bool built_ = false;
};

}  // namespace selfinstruct::detail

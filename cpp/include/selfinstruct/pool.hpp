// A growing pool of texts that admits a candidate only if its ROUGE-L F against every pool entry
// is at most the threshold: exact greedy semantics, pruned by provably safe bounds.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "selfinstruct/corpus.hpp"
#include "selfinstruct/scoring.hpp"
#include "selfinstruct/similarity_fields.hpp"
#include "selfinstruct/tokenizer.hpp"

namespace selfinstruct {

namespace detail {
class PrefixIndex;
struct ProbeScratch;
struct PairJoinScratch;
}

struct Decision {
  int64_t index = -1;       // pool index when admitted, else -1
  int64_t best_index = -1;  // for a rejected candidate: its most similar pool entry (lowest index on ties)
  double best_score = 0.0;  // and that entry's F (> threshold)
};

struct PoolStats {
  uint64_t candidates = 0;
  // Index postings (or, where lists are too long, entries) examined, and within chunks, pairs of
  // candidates sharing a signature.
  uint64_t pairs_probed = 0;
  uint64_t pairs_verified = 0;  // pairs whose full token overlap was counted
  uint64_t pairs_lcs = 0;       // pairs whose LCS was computed
  uint64_t index_builds = 0;
  // Candidates with too many matches among the earlier candidates of their chunk to list them
  // all, decided against the chunk's admitted candidates instead (dense near-duplicate clusters).
  uint64_t dense_candidates = 0;
};

// Wall seconds spent in each step of admission since the pool was made (see Pool::admit_chunk):
// where the time goes, and which step scales how with threads.
struct PoolTimings {
  double tokenize = 0;      // tokenizing and interning the candidates
  double index = 0;         // indexing the entries admitted by the chunk before (and rebuilds)
  double pool_probe = 0;    // phase 1: every candidate against the pool
  double within_chunk = 0;  // phase 2: the open candidates against each other
  double decide = 0;        // phase 3: deciding in order
};

class Pool {
 public:
  Pool(double threshold, TokenizerMode mode, int threads);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  size_t size() const { return sequences_.size(); }
  double threshold() const;
  TokenizerMode mode() const { return mode_; }
  int threads() const { return threads_; }
  void set_threads(int threads);
  const PoolStats& stats() const { return stats_; }
  const PoolTimings& timings() const { return timings_; }

  // Appends texts without any check (seed tasks, or replaying a saved pool).
  void add(const std::vector<std::string_view>& texts);
  // Decides each candidate in order against everything admitted before it. `between_chunks`
  // runs between chunks of work (signal checks); if it throws, the pool is rolled back to its
  // size before the call and the exception propagates.
  std::vector<Decision> admit(const std::vector<std::string_view>& texts,
                              const std::function<void()>& between_chunks);
  // Drops every entry from `count` on.
  void truncate(size_t count);

  // Tokenizes a query with this pool's tokenizer and vocabulary (unknown tokens match nothing).
  std::vector<uint32_t> query_tokens(std::string_view text) const;
  std::vector<ScoredIndex> most_similar(std::string_view text, size_t k) const;
  // F of `text` against entries [0, count) (the pool as it stood when entry `count` joined).
  void scores(std::string_view text, size_t count, std::vector<double>& out) const;
  // Entries [first, last), each against the entries before it: see similarity_fields.hpp.
  // Throws std::invalid_argument unless first <= last <= size().
  void similarity_fields(size_t first, size_t last, size_t k, int threads, const SimilarityFieldsOut& out,
                         const std::function<void()>& between_slices) const;

 private:
  void admit_chunk(const TokenSequences& chunk, std::vector<Decision>& out);
  // A candidate of a chunk above the threshold against an earlier one (positions in the chunk).
  struct ChunkMatch {
    uint32_t candidate;
    uint32_t earlier;
    double score;
  };
  struct ChunkMatches {
    std::vector<ChunkMatch> matches;  // sorted by candidate
    std::vector<uint8_t> unlisted;    // per candidate: 1 where its matches were too many to list
  };
  // Every such pair whose earlier side no pool entry matched (`decided`: phase 1's decisions).
  ChunkMatches match_within_chunk(const TokenSequences& chunk, const Decision* decided);
  // The part of it where either side is indexed by single elements (`roles`: see pair_join.hpp).
  void match_single_indexed(const TokenSequences& chunk, const std::vector<uint8_t>& roles, ChunkMatches& within);

  TokenizerMode mode_;
  int threads_;
  Vocabulary vocabulary_;
  TokenSequences sequences_;
  std::unique_ptr<detail::PrefixIndex> index_;
  std::vector<std::unique_ptr<detail::ProbeScratch>> scratch_;  // per worker, kept across admissions
  // An index over some of one chunk's candidates (phase 2: those a single-element signature can
  // match; phase 3: the admitted ones), and its workers' memory, kept across chunks.
  std::unique_ptr<detail::PrefixIndex> chunk_index_;
  std::vector<std::unique_ptr<detail::ProbeScratch>> chunk_scratch_;
  std::unique_ptr<detail::PairJoinScratch> join_scratch_;  // the join's memory, kept across chunks
  // The present chunk's elements (PrefixIndex::elements_of), each candidate's at its token offset.
  std::vector<uint64_t> chunk_elements_;
  uint64_t* chunk_elements_of(const TokenSequences& chunk, size_t c) { return chunk_elements_.data() + chunk.offset(c); }
  // The elements of the entries the last chunk admitted (from admitted_from_ on, not indexed
  // yet), computed under ranking admitted_ranking_: the next chunk indexes them without sorting again.
  std::vector<uint64_t> admitted_elements_;
  size_t admitted_from_ = SIZE_MAX;
  uint64_t admitted_ranking_ = 0;
  PoolStats stats_;
  PoolTimings timings_;
};

}  // namespace selfinstruct

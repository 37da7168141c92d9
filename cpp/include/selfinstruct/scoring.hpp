// Brute-force ROUGE-L scoring of query sequences against choice sequences.
#pragma once
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "selfinstruct/corpus.hpp"

namespace selfinstruct {

using ScoredIndex = std::pair<int64_t, double>;

// out[q * choices.size() + c] = F(queries[q], choices[c]) for q in [row_begin, row_end).
// `vocabulary_size` bounds the token ids of the choices (queries may hold larger, unmatched ids).
void score_matrix(const TokenSequences& queries, size_t row_begin, size_t row_end, const TokenSequences& choices,
                  size_t vocabulary_size, int threads, double* out);

namespace detail {
class QueryLcs;
}

// F of queries against prefixes of the choices, one query at a time, on one thread. Its working
// memory (a table over the vocabulary) is made once and reused, not made for every query.
class PrefixScorer {
 public:
  explicit PrefixScorer(size_t vocabulary_size);
  ~PrefixScorer();
  PrefixScorer(PrefixScorer&&) noexcept;
  PrefixScorer& operator=(PrefixScorer&&) noexcept;
  // out[c] = F(query, choices[c]) for c in [0, count) (count <= choices.size()); the choices'
  // token ids are below the vocabulary size.
  void score(const uint32_t* query, uint32_t length, const TokenSequences& choices, size_t count, double* out);

 private:
  std::unique_ptr<detail::QueryLcs> lcs_;
};

// out[c] = F(query, choices[c]) for c in [0, count) (count <= choices.size()), on one thread.
void score_row(const uint32_t* query, uint32_t length, const TokenSequences& choices, size_t count,
               size_t vocabulary_size, double* out);

// For each query in [row_begin, row_end): the highest F over the choices and the first index
// reaching it (-1 when there are no choices).
void best_matches(const TokenSequences& queries, size_t row_begin, size_t row_end, const TokenSequences& choices,
                  size_t vocabulary_size, int threads, double* best_score, int64_t* best_index);

// The k highest-scoring choices of one query, by score descending then index ascending.
std::vector<ScoredIndex> top_k(const uint32_t* query, uint32_t length, const TokenSequences& choices, size_t k);

}  // namespace selfinstruct

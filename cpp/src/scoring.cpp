#include "selfinstruct/scoring.hpp"

#include <algorithm>

#include "selfinstruct/detail/dense_masks.hpp"
#include "selfinstruct/detail/parallel.hpp"
#include "selfinstruct/lcs.hpp"
#include "selfinstruct/score.hpp"

namespace selfinstruct {

namespace {

// One query against many texts: the dense kernel for queries of at most 64 tokens, the blocked
// kernel beyond.
class QueryLcs {
 public:
  explicit QueryLcs(size_t vocabulary_size) : dense_masks_(vocabulary_size) {}
  ~QueryLcs() { release(); }
  QueryLcs(const QueryLcs&) = delete;
  QueryLcs& operator=(const QueryLcs&) = delete;

  void assign(const uint32_t* query, uint32_t n) {
    release();
    query_ = query;
    n_ = n;
    dense_ = n <= detail::DenseMasks::kMaxQuery;
    if (dense_) {
      dense_masks_.set(query, n);
    } else {
      pattern_.assign(query, n);
    }
  }
  uint32_t length() const { return n_; }
  uint32_t lcs(const uint32_t* text, uint32_t m) const { return dense_ ? dense_masks_.lcs(text, m) : pattern_.lcs(text, m); }
  // F against choices [0, width) into scores, four texts at a time on the dense kernel.
  void score_all(const TokenSequences& choices, size_t width, double* scores) const {
    size_t c = 0;
    for (; dense_ && c + 4 <= width; c += 4) {
      const uint32_t* texts[4] = {choices.data(c), choices.data(c + 1), choices.data(c + 2), choices.data(c + 3)};
      const uint32_t lengths[4] = {choices.length(c), choices.length(c + 1), choices.length(c + 2), choices.length(c + 3)};
      uint32_t lcs4[4];
      dense_masks_.lcs4(texts, lengths, lcs4);
      for (int k = 0; k < 4; ++k) scores[c + k] = rouge_f(lcs4[k], lengths[k], n_);
    }
    for (; c < width; ++c) {
      const uint32_t m = choices.length(c);
      scores[c] = rouge_f(lcs(choices.data(c), m), m, n_);
    }
  }

 private:
  void release() {
    if (dense_ && query_ != nullptr) dense_masks_.clear(query_, n_);
    query_ = nullptr;
  }
  detail::DenseMasks dense_masks_;
  LcsPattern pattern_;
  const uint32_t* query_ = nullptr;
  uint32_t n_ = 0;
  bool dense_ = false;
};

}  // namespace

void score_matrix(const TokenSequences& queries, size_t row_begin, size_t row_end, const TokenSequences& choices,
                  size_t vocabulary_size, int threads, double* out) {
  detail::parallel_for(row_end - row_begin, threads, 1, [&](size_t begin, size_t end, int) {
    QueryLcs query(vocabulary_size);
    for (size_t row = row_begin + begin; row < row_begin + end; ++row) {
      query.assign(queries.data(row), queries.length(row));
      query.score_all(choices, choices.size(), out + row * choices.size());
    }
  });
}

void best_matches(const TokenSequences& queries, size_t row_begin, size_t row_end, const TokenSequences& choices,
                  size_t vocabulary_size, int threads, double* best_score, int64_t* best_index) {
  detail::parallel_for(row_end - row_begin, threads, 1, [&](size_t begin, size_t end, int) {
    QueryLcs query(vocabulary_size);
    for (size_t row = row_begin + begin; row < row_begin + end; ++row) {
      const uint32_t n = queries.length(row);
      query.assign(queries.data(row), n);
      double best = -1.0;
      int64_t index = -1;
      for (size_t c = 0; c < choices.size(); ++c) {
        const uint32_t m = choices.length(c);
        // Length bound: even a full match of the shorter list cannot beat the best so far.
        if (rouge_f(std::min(m, n), m, n) <= best) continue;
        const double score = rouge_f(query.lcs(choices.data(c), m), m, n);
        if (score > best) {
          best = score;
          index = static_cast<int64_t>(c);
        }
      }
      best_score[row] = index < 0 ? 0.0 : best;
      best_index[row] = index;
    }
  });
}

void score_row(const uint32_t* query, uint32_t length, const TokenSequences& choices, size_t count,
               size_t vocabulary_size, double* out) {
  QueryLcs lcs(vocabulary_size);
  lcs.assign(query, length);
  lcs.score_all(choices, std::min(count, choices.size()), out);
}

std::vector<ScoredIndex> top_k(const uint32_t* query, uint32_t length, const TokenSequences& choices, size_t k) {
  k = std::min(k, choices.size());
  std::vector<ScoredIndex> heap;  // min-heap on (score, -index): the worst kept entry on top
  if (k == 0) return heap;
  heap.reserve(k + 1);
  auto better = [](const ScoredIndex& a, const ScoredIndex& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  };
  const LcsPattern pattern(query, length);
  for (size_t c = 0; c < choices.size(); ++c) {
    const uint32_t m = choices.length(c);
    if (heap.size() == k && rouge_f(std::min(m, length), m, length) <= heap.front().second) continue;
    const ScoredIndex item{static_cast<int64_t>(c), rouge_f(pattern.lcs(choices.data(c), m), m, length)};
    if (heap.size() < k) {
      heap.push_back(item);
      std::push_heap(heap.begin(), heap.end(), better);
    } else if (better(item, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), better);
      heap.back() = item;
      std::push_heap(heap.begin(), heap.end(), better);
    }
  }
  std::sort(heap.begin(), heap.end(), better);
  return heap;
}

}  // namespace selfinstruct

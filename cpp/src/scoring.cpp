#include "selfinstruct/scoring.hpp"

#include <algorithm>

#include "selfinstruct/detail/parallel.hpp"
#include "selfinstruct/lcs.hpp"
#include "selfinstruct/score.hpp"

namespace selfinstruct {

void score_matrix(const TokenSequences& queries, size_t row_begin, size_t row_end, const TokenSequences& choices,
                  int threads, double* out) {
  const size_t width = choices.size();
  detail::parallel_for(row_end - row_begin, threads, 1, [&](size_t begin, size_t end, int) {
    LcsPattern pattern;
    for (size_t row = row_begin + begin; row < row_begin + end; ++row) {
      const uint32_t n = queries.length(row);
      pattern.assign(queries.data(row), n);
      double* scores = out + row * width;
      for (size_t c = 0; c < width; ++c) {
        const uint32_t m = choices.length(c);
        scores[c] = rouge_f(pattern.lcs(choices.data(c), m), m, n);
      }
    }
  });
}

void best_matches(const TokenSequences& queries, size_t row_begin, size_t row_end, const TokenSequences& choices,
                  int threads, double* best_score, int64_t* best_index) {
  detail::parallel_for(row_end - row_begin, threads, 1, [&](size_t begin, size_t end, int) {
    LcsPattern pattern;
    for (size_t row = row_begin + begin; row < row_begin + end; ++row) {
      const uint32_t n = queries.length(row);
      pattern.assign(queries.data(row), n);
      double best = -1.0;
      int64_t index = -1;
      for (size_t c = 0; c < choices.size(); ++c) {
        const uint32_t m = choices.length(c);
        // Length bound: even a full match of the shorter list cannot beat the best so far.
        if (rouge_f(std::min(m, n), m, n) <= best) continue;
        const double score = rouge_f(pattern.lcs(choices.data(c), m), m, n);
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

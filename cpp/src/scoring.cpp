#include "selfinstruct/scoring.hpp"

#include <algorithm>

#include "selfinstruct/detail/dense_masks.hpp"
#include "selfinstruct/detail/parallel.hpp"
#include "selfinstruct/lcs.hpp"
#include "selfinstruct/score.hpp"

namespace selfinstruct {

void score_matrix(const TokenSequences& queries, size_t row_begin, size_t row_end, const TokenSequences& choices,
                  size_t vocabulary_size, int threads, double* out) {
  const size_t width = choices.size();
  detail::parallel_for(row_end - row_begin, threads, 1, [&](size_t begin, size_t end, int) {
    detail::DenseMasks dense(vocabulary_size);
    LcsPattern pattern;
    for (size_t row = row_begin + begin; row < row_begin + end; ++row) {
      const uint32_t n = queries.length(row);
      const uint32_t* query = queries.data(row);
      double* scores = out + row * width;
      if (n > detail::DenseMasks::kMaxQuery) {
        pattern.assign(query, n);
        for (size_t c = 0; c < width; ++c) {
          const uint32_t m = choices.length(c);
          scores[c] = rouge_f(pattern.lcs(choices.data(c), m), m, n);
        }
        continue;
      }
      dense.set(query, n);
      size_t c = 0;
      for (; c + 4 <= width; c += 4) {
        const uint32_t* texts[4] = {choices.data(c), choices.data(c + 1), choices.data(c + 2), choices.data(c + 3)};
        const uint32_t lengths[4] = {choices.length(c), choices.length(c + 1), choices.length(c + 2),
                                     choices.length(c + 3)};
        uint32_t lcs[4];
        dense.lcs4(texts, lengths, lcs);
        for (int k = 0; k < 4; ++k) scores[c + k] = rouge_f(lcs[k], lengths[k], n);
      }
      for (; c < width; ++c) {
        const uint32_t m = choices.length(c);
        scores[c] = rouge_f(dense.lcs(choices.data(c), m), m, n);
      }
      dense.clear(query, n);
    }
  });
}

void best_matches(const TokenSequences& queries, size_t row_begin, size_t row_end, const TokenSequences& choices,
                  size_t vocabulary_size, int threads, double* best_score, int64_t* best_index) {
  detail::parallel_for(row_end - row_begin, threads, 1, [&](size_t begin, size_t end, int) {
    detail::DenseMasks dense(vocabulary_size);
    LcsPattern pattern;
    for (size_t row = row_begin + begin; row < row_begin + end; ++row) {
      const uint32_t n = queries.length(row);
      const uint32_t* query = queries.data(row);
      const bool short_query = n <= detail::DenseMasks::kMaxQuery;
      if (short_query) {
        dense.set(query, n);
      } else {
        pattern.assign(query, n);
      }
      double best = -1.0;
      int64_t index = -1;
      for (size_t c = 0; c < choices.size(); ++c) {
        const uint32_t m = choices.length(c);
        // Length bound: even a full match of the shorter list cannot beat the best so far.
        if (rouge_f(std::min(m, n), m, n) <= best) continue;
        const uint32_t lcs = short_query ? dense.lcs(choices.data(c), m) : pattern.lcs(choices.data(c), m);
        const double score = rouge_f(lcs, m, n);
        if (score > best) {
          best = score;
          index = static_cast<int64_t>(c);
        }
      }
      if (short_query) dense.clear(query, n);
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

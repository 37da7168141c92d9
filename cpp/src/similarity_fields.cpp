#include "selfinstruct/similarity_fields.hpp"

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

#include "selfinstruct/detail/parallel.hpp"
#include "selfinstruct/scoring.hpp"

namespace selfinstruct {
namespace {

constexpr size_t kSlicePairs = size_t{1} << 24;  // pairs between two `between_slices` calls
constexpr size_t kSumBlock = 128;                // numpy's PW_BLOCKSIZE

// Best first: higher F, then lower index (the order of the pipeline's stable sort).
bool better(const ScoredIndex& a, const ScoredIndex& b) {
  return a.second != b.second ? a.second > b.second : a.first < b.first;
}

// What one worker reuses from entry to entry.
struct RowScratch {
  std::vector<double> scores;
  std::vector<ScoredIndex> heap;  // min-heap under `better`: the worst kept entry on top
};

// The k best of scores[0, count) into index/f, padded with -1 / NaN.
void keep_best(const double* scores, size_t count, size_t k, std::vector<ScoredIndex>& heap, int64_t* index,
               double* f) {
  heap.clear();
  const size_t kept = std::min(k, count);
  for (size_t c = 0; c < count && kept > 0; ++c) {
    // Scanned in index order, a later entry beats a kept one only with a strictly higher F.
    if (heap.size() == kept && scores[c] <= heap.front().second) continue;
    if (heap.size() == kept) {
      std::pop_heap(heap.begin(), heap.end(), better);
      heap.pop_back();
    }
    heap.emplace_back(static_cast<int64_t>(c), scores[c]);
    std::push_heap(heap.begin(), heap.end(), better);
  }
  std::sort(heap.begin(), heap.end(), better);
  for (size_t j = 0; j < k; ++j) {
    index[j] = j < heap.size() ? heap[j].first : -1;
    f[j] = j < heap.size() ? heap[j].second : std::numeric_limits<double>::quiet_NaN();
  }
}

// numpy's pairwise summation, step by step: the same additions in the same order.
double pairwise_sum(const double* values, size_t n) {
  if (n < 8) {
    double sum = 0.0;
    for (size_t i = 0; i < n; ++i) sum += values[i];
    return sum;
  }
  if (n <= kSumBlock) {
    double r[8];
    for (int j = 0; j < 8; ++j) r[j] = values[j];
    size_t i = 8;
    for (; i < n - n % 8; i += 8) {
      for (int j = 0; j < 8; ++j) r[j] += values[i + j];
    }
    double sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) sum += values[i];
    return sum;
  }
  size_t half = n / 2;
  half -= half % 8;
  return pairwise_sum(values, half) + pairwise_sum(values + half, n - half);
}

}  // namespace

double numpy_sum(const double* values, size_t n, size_t buffer) {
  if (buffer == 0 || n <= buffer) return pairwise_sum(values, n);
  double sum = 0.0;
  for (size_t begin = 0; begin < n; begin += buffer) sum += pairwise_sum(values + begin, std::min(buffer, n - begin));
  return sum;
}

void similarity_fields(const TokenSequences& sequences, size_t vocabulary_size, size_t first, size_t last, size_t k,
                       int threads, const SimilarityFieldsOut& out, const std::function<void()>& between_slices) {
  std::vector<RowScratch> scratch(static_cast<size_t>(std::max(threads, 1)));
  for (size_t begin = first; begin < last;) {
    // A slice of about kSlicePairs pairs (entry i scores i pairs), and at least one entry per thread.
    size_t end = begin, pairs = 0;
    while (end < last && (pairs < kSlicePairs || end - begin < scratch.size())) pairs += end++;
    detail::parallel_for(end - begin, threads, 1, [&](size_t from, size_t to, int worker) {
      RowScratch& mine = scratch[static_cast<size_t>(worker)];
      for (size_t entry = begin + from; entry < begin + to; ++entry) {
        const size_t row = entry - first;
        if (mine.scores.size() < entry) mine.scores.resize(std::max(entry, last - 1));
        score_row(sequences.data(entry), sequences.length(entry), sequences, entry, vocabulary_size,
                  mine.scores.data());
        keep_best(mine.scores.data(), entry, k, mine.heap, out.top_index + row * k, out.top_f + row * k);
        out.mean[row] = entry == 0 ? std::numeric_limits<double>::quiet_NaN()
                                   : numpy_sum(mine.scores.data(), entry, out.sum_buffer) / static_cast<double>(entry);
      }
    });
    begin = end;
    if (between_slices && begin < last) between_slices();
  }
}

}  // namespace selfinstruct

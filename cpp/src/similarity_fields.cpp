#include "selfinstruct/similarity_fields.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "selfinstruct/detail/packed_choices.hpp"
#include "selfinstruct/detail/parallel.hpp"
#include "selfinstruct/lcs.hpp"
#include "selfinstruct/score.hpp"
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
  detail::PackedChoices::Scratch packed;
  LcsPattern pattern;  // the entry, against the prefix's entries the packed kernel leaves out
  std::optional<PrefixScorer> rows;  // the one-row path, made at its first row
};

// Rough CPU costs (ns) on one core: a pair on the one-row path, a pair on the packed kernel, and
// packing one token of the prefix (bench/bench_similarity_fields.py measures the first two).
constexpr double kRowPairNs = 33.0;
constexpr double kPackedPairNs = 7.0;
constexpr double kPackTokenNs = 30.0;

// Whether packing entries [0, last) once pays for entries [first, last): each packed row then
// scores all `last` entries (its columns >= i unused) instead of its i, several times faster.
bool packing_pays(const TokenSequences& sequences, size_t first, size_t last) {
  if (last - first < 2) return false;
  const double rows = static_cast<double>(last - first);
  const double row_path = kRowPairNs * rows * (static_cast<double>(first) + static_cast<double>(last - 1)) / 2.0;
  const double packed = kPackedPairNs * rows * static_cast<double>(last) +
                        kPackTokenNs * static_cast<double>(sequences.offset(last));
  return packed < row_path;
}

// The entries [0, last) packed once for a whole call, and those the packed kernel cannot take
// (empty, or longer than a lane), in index order.
struct PackedPrefix {
  PackedPrefix(const TokenSequences& sequences, size_t last, size_t vocabulary_size)
      : packed(sequences, last, vocabulary_size) {
    for (size_t c = 0; c < last; ++c) {
      if (!detail::PackedChoices::packs(sequences.length(c))) unpacked.push_back(c);
    }
  }
  detail::PackedChoices packed;
  std::vector<size_t> unpacked;
};

// scores[c] = F(entry, c) for c in [0, entry): the packed kernel over the whole prefix (it also
// writes columns entry .. last-1, which the caller ignores), then the unpacked entries before it.
// The same doubles as score_row: the same LCS lengths through rouge_f's own values.
void score_packed_row(const TokenSequences& sequences, size_t entry, const PackedPrefix& prefix, RowScratch& scratch,
                      double* scores) {
  const uint32_t* query = sequences.data(entry);
  const uint32_t n = sequences.length(entry);
  prefix.packed.score(query, n, scratch.packed, scores);
  bool assigned = false;
  for (const size_t c : prefix.unpacked) {
    if (c >= entry) break;
    if (!assigned) {
      scratch.pattern.assign(query, n);
      assigned = true;
    }
    const uint32_t m = sequences.length(c);
    scores[c] = rouge_f(scratch.pattern.lcs(sequences.data(c), m), m, n);
  }
}

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
  std::optional<PackedPrefix> prefix;
  const bool pack = detail::PackedChoices::fits(sequences) &&
                    (out.kernel == FieldsKernel::packed ? first < last
                                                        : out.kernel == FieldsKernel::automatic && packing_pays(sequences, first, last));
  if (pack) prefix.emplace(sequences, last, vocabulary_size);
  if (prefix && between_slices) between_slices();  // packing a large pool takes a while
  // A packed row scores `last` pairs, several times faster than the one-row path scores its i.
  const size_t slice_pairs = prefix ? 4 * kSlicePairs : kSlicePairs;
  for (size_t begin = first; begin < last;) {
    // A slice of about slice_pairs pairs, and at least one entry per thread.
    size_t end = begin, pairs = 0;
    while (end < last && (pairs < slice_pairs || end - begin < scratch.size())) {
      pairs += prefix ? last : end;
      ++end;
    }
    detail::parallel_for(end - begin, threads, 1, [&](size_t from, size_t to, int worker) {
      RowScratch& mine = scratch[static_cast<size_t>(worker)];
      for (size_t entry = begin + from; entry < begin + to; ++entry) {
        const size_t row = entry - first;
        const size_t width = prefix ? last : std::max(entry, last - 1);  // the packed kernel writes [0, last)
        if (mine.scores.size() < width) mine.scores.resize(width);
        if (prefix) {
          score_packed_row(sequences, entry, *prefix, mine, mine.scores.data());
        } else {
          if (!mine.rows) mine.rows.emplace(vocabulary_size);
          mine.rows->score(sequences.data(entry), sequences.length(entry), sequences, entry, mine.scores.data());
        }
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

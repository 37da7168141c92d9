#include "selfinstruct/scoring.hpp"

#include <algorithm>
#include <memory>
#include <optional>

#include "selfinstruct/detail/dense_masks.hpp"
#include "selfinstruct/detail/packed_choices.hpp"
#include "selfinstruct/detail/parallel.hpp"
#include "selfinstruct/lcs.hpp"
#include "selfinstruct/score.hpp"

namespace selfinstruct {

namespace detail {

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

}  // namespace detail

namespace {

using detail::QueryLcs;

// Rows at or above this count pack the choices: packing costs about as much as scoring 10-15
// rows one choice at a time, and a packed row then costs a small fraction of one.
constexpr size_t kPackRows = 16;
// Rows handed to a thread at a time (sorted by length, so a thread's F table rarely changes).
constexpr size_t kRowGrain = 8;

// Working memory of one thread, made once per worker rather than once per row.
struct RowScratch {
  explicit RowScratch(size_t vocabulary_size) : query(vocabulary_size) {}
  QueryLcs query;
  detail::PackedChoices::Scratch packed;
  std::vector<double> row;  // best_matches: one row of scores
};

// All-pairs rows against one choice list: short choices through the packed kernel when there are
// enough rows to pay for packing them, every other choice one at a time with the query as pattern.
class RowScorer {
 public:
  RowScorer(const TokenSequences& choices, size_t vocabulary_size, int threads, size_t rows)
      : choices_(choices),
        vocabulary_size_(vocabulary_size),
        // parallel_for runs at most one worker per chunk of kRowGrain rows (threads may be huge).
        scratch_(std::min(static_cast<size_t>(std::max(threads, 1)), (rows + kRowGrain - 1) / kRowGrain)) {
    if (rows < kPackRows || !detail::PackedChoices::fits(choices)) return;
    packed_.emplace(choices, choices.size(), vocabulary_size);
    for (size_t c = 0; c < choices.size(); ++c) {
      if (!detail::PackedChoices::packs(choices.length(c))) unpacked_.push_back(c);
    }
  }
  bool packed() const { return packed_.has_value(); }

  RowScratch& scratch(int worker) {
    auto& slot = scratch_[static_cast<size_t>(worker)];
    if (!slot) slot = std::make_unique<RowScratch>(vocabulary_size_);
    return *slot;
  }

  // row[c] = F(query, choices[c]) for every choice.
  void score(const uint32_t* query, uint32_t n, RowScratch& scratch, double* row) const {
    if (!packed_) {
      scratch.query.assign(query, n);
      scratch.query.score_all(choices_, choices_.size(), row);
      return;
    }
    packed_->score(query, n, scratch.packed, row);
    if (unpacked_.empty()) return;
    scratch.query.assign(query, n);
    for (const size_t c : unpacked_) {
      const uint32_t m = choices_.length(c);
      row[c] = rouge_f(scratch.query.lcs(choices_.data(c), m), m, n);
    }
  }

 private:
  const TokenSequences& choices_;
  size_t vocabulary_size_;
  std::optional<detail::PackedChoices> packed_;
  std::vector<size_t> unpacked_;  // empty or longer than a lane
  std::vector<std::unique_ptr<RowScratch>> scratch_;  // one per worker, made on first use
};

// One more than the largest token id of `sequences` (0 when they have no tokens).
size_t token_bound(const TokenSequences& sequences) {
  if (sequences.size() == 0) return 0;
  const uint32_t* first = sequences.data(0);
  const uint32_t* last = first + sequences.offset(sequences.size());
  return first == last ? 0 : size_t{*std::max_element(first, last)} + 1;
}

// Rows [row_begin, row_end) by length, so consecutive rows share the F table.
std::vector<size_t> rows_by_length(const TokenSequences& queries, size_t row_begin, size_t row_end) {
  std::vector<size_t> order(row_end - row_begin);
  for (size_t k = 0; k < order.size(); ++k) order[k] = row_begin + k;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return queries.length(a) < queries.length(b); });
  return order;
}

}  // namespace

void score_matrix(const TokenSequences& queries, size_t row_begin, size_t row_end, const TokenSequences& choices,
                  size_t vocabulary_size, int threads, double* out) {
  RowScorer scorer(choices, vocabulary_size, threads, row_end - row_begin);
  const std::vector<size_t> order = rows_by_length(queries, row_begin, row_end);
  const size_t width = choices.size();
  detail::parallel_for(order.size(), threads, kRowGrain, [&](size_t begin, size_t end, int worker) {
    RowScratch& scratch = scorer.scratch(worker);
    for (size_t k = begin; k < end; ++k) {
      const size_t row = order[k];
      scorer.score(queries.data(row), queries.length(row), scratch, out + row * width);
    }
  });
}

void best_matches(const TokenSequences& queries, size_t row_begin, size_t row_end, const TokenSequences& choices,
                  size_t vocabulary_size, int threads, double* best_score, int64_t* best_index) {
  RowScorer scorer(choices, vocabulary_size, threads, row_end - row_begin);
  const std::vector<size_t> order = rows_by_length(queries, row_begin, row_end);
  detail::parallel_for(order.size(), threads, kRowGrain, [&](size_t begin, size_t end, int worker) {
    RowScratch& scratch = scorer.scratch(worker);
    for (size_t k = begin; k < end; ++k) {
      const size_t row = order[k];
      const uint32_t n = queries.length(row);
      double best = -1.0;
      int64_t index = -1;
      if (scorer.packed()) {
        // Every score of the row from the packed kernel, then the first highest.
        scratch.row.resize(choices.size());
        scorer.score(queries.data(row), n, scratch, scratch.row.data());
        for (size_t c = 0; c < choices.size(); ++c) {
          if (scratch.row[c] > best) {
            best = scratch.row[c];
            index = static_cast<int64_t>(c);
          }
        }
      } else {
        scratch.query.assign(queries.data(row), n);
        for (size_t c = 0; c < choices.size(); ++c) {
          const uint32_t m = choices.length(c);
          // Length bound: even a full match of the shorter list cannot beat the best so far.
          if (rouge_f(std::min(m, n), m, n) <= best) continue;
          const double score = rouge_f(scratch.query.lcs(choices.data(c), m), m, n);
          if (score > best) {
            best = score;
            index = static_cast<int64_t>(c);
          }
        }
      }
      best_score[row] = index < 0 ? 0.0 : best;
      best_index[row] = index;
    }
  });
}

PrefixScorer::PrefixScorer(size_t vocabulary_size) : lcs_(std::make_unique<detail::QueryLcs>(vocabulary_size)) {}
PrefixScorer::~PrefixScorer() = default;
PrefixScorer::PrefixScorer(PrefixScorer&&) noexcept = default;
PrefixScorer& PrefixScorer::operator=(PrefixScorer&&) noexcept = default;

void PrefixScorer::score(const uint32_t* query, uint32_t length, const TokenSequences& choices, size_t count, double* out) {
  lcs_->assign(query, length);
  lcs_->score_all(choices, std::min(count, choices.size()), out);
}

void score_row(const uint32_t* query, uint32_t length, const TokenSequences& choices, size_t count,
               size_t vocabulary_size, double* out) {
  PrefixScorer(vocabulary_size).score(query, length, choices, count, out);
}

std::vector<ScoredIndex> top_k(const uint32_t* query, uint32_t length, const TokenSequences& choices, size_t k) {
  k = std::min(k, choices.size());
  std::vector<ScoredIndex> heap;  // min-heap on (score, -index): the worst kept entry on top
  if (k == 0) return heap;
  heap.reserve(k + 1);
  auto better = [](const ScoredIndex& a, const ScoredIndex& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  };
  // Dense masks over the choices' token ids (a table lookup per text token, not a hash probe).
  QueryLcs pattern(token_bound(choices));
  pattern.assign(query, length);
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

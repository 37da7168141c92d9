#include "selfinstruct/pool.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "selfinstruct/detail/parallel.hpp"
#include "selfinstruct/detail/prefix_index.hpp"

namespace selfinstruct {
namespace {
// Candidates are decided in chunks: interrupts are checked and token ranks may be refreshed
// between chunks. Within a chunk, phase 1 runs in parallel against the pool as it was.
constexpr size_t kChunk = 16384;
constexpr uint32_t kUnknownToken = UINT32_MAX - 1;
}  // namespace

Pool::Pool(double threshold, TokenizerMode mode, int threads)
    : mode_(mode), threads_(detail::resolve_threads(threads)), index_(std::make_unique<detail::PrefixIndex>(threshold)) {}

Pool::~Pool() = default;

double Pool::threshold() const { return index_->bounds().threshold(); }

void Pool::set_threads(int threads) { threads_ = detail::resolve_threads(threads); }

void Pool::add(const std::vector<std::string_view>& texts) {
  tokenize_and_intern(texts, mode_, vocabulary_, threads_, sequences_);
  if (index_->built()) {
    index_->add_pending(sequences_, threads_);
  }
}

void Pool::truncate(size_t count) {
  if (count >= size()) return;
  if (index_->indexed() > count) index_->truncate(sequences_, count);
  sequences_.truncate(count);
}

std::vector<Decision> Pool::admit(const std::vector<std::string_view>& texts,
                                  const std::function<void()>& between_chunks) {
  const size_t start = size();
  std::vector<Decision> decisions;
  decisions.reserve(texts.size());
  try {
    for (size_t begin = 0; begin < texts.size(); begin += kChunk) {
      const size_t end = std::min(texts.size(), begin + kChunk);
      const std::vector<std::string_view> slice(texts.begin() + static_cast<std::ptrdiff_t>(begin),
                                                texts.begin() + static_cast<std::ptrdiff_t>(end));
      TokenSequences chunk;
      tokenize_and_intern(slice, mode_, vocabulary_, threads_, chunk);
      admit_chunk(chunk, decisions);
      if (between_chunks) between_chunks();
    }
  } catch (...) {
    truncate(start);
    throw;
  }
  return decisions;
}

void Pool::admit_chunk(const TokenSequences& chunk, std::vector<Decision>& out) {
  const size_t before = size();
  if (index_->needs_rebuild(before, chunk.size())) {
    index_->rebuild(sequences_, chunk, vocabulary_.size(), threads_);
    ++stats_.index_builds;
  }
  index_->add_pending(sequences_, threads_);

  const size_t first = out.size();
  out.resize(first + chunk.size());
  // Working memory kept across calls: its stamp array spans the pool, and filling a fresh one
  // for every call would make small batches cost O(pool).
  while (scratch_.size() < static_cast<size_t>(threads_)) scratch_.push_back(std::make_unique<detail::ProbeScratch>());
  for (auto& mine : scratch_) mine->probed = mine->verified = mine->lcs = 0;

  // Phase 1, parallel: every candidate against the pool as it stood before this chunk.
  if (before > 0) {
    detail::parallel_for(chunk.size(), threads_, 64, [&](size_t begin, size_t end, int worker) {
      detail::ProbeScratch& mine = *scratch_[static_cast<size_t>(worker)];
      for (size_t c = begin; c < end; ++c) {
        const detail::Match match = index_->probe(chunk.data(c), chunk.length(c), sequences_, false, mine);
        out[first + c].best_index = match.index;
        out[first + c].best_score = match.index < 0 ? 0.0 : match.score;
      }
    });
  }
  // Phase 2, serial and in order: against the candidates admitted earlier in this chunk, then admit.
  detail::ProbeScratch& serial = *scratch_[0];
  for (size_t c = 0; c < chunk.size(); ++c) {
    Decision& decision = out[first + c];
    if (size() > before) {
      const detail::Match match = index_->probe(chunk.data(c), chunk.length(c), sequences_, true, serial);
      if (match.index >= 0 && (decision.best_index < 0 || match.score > decision.best_score)) {
        decision.best_index = match.index;
        decision.best_score = match.score;
      }
    }
    if (decision.best_index < 0) {
      decision.index = static_cast<int64_t>(size());
      sequences_.append(chunk.data(c), chunk.length(c));
      index_->add_staged(sequences_);
    }
  }
  index_->commit_staged(sequences_, threads_);
  stats_.candidates += chunk.size();
  for (const auto& mine : scratch_) {
    stats_.pairs_probed += mine->probed;
    stats_.pairs_verified += mine->verified;
    stats_.pairs_lcs += mine->lcs;
  }
}

std::vector<uint32_t> Pool::query_tokens(std::string_view text) const {
  TokenSpans spans;
  tokenize(text, mode_, spans);
  std::vector<uint32_t> ids(spans.size());
  for (size_t k = 0; k < spans.size(); ++k) {
    const std::string_view token = spans.token(k);
    const uint32_t id = vocabulary_.find(token, Vocabulary::hash(token));
    ids[k] = id == Vocabulary::kMissing ? kUnknownToken : id;
  }
  return ids;
}

std::vector<ScoredIndex> Pool::most_similar(std::string_view text, size_t k) const {
  const std::vector<uint32_t> ids = query_tokens(text);
  return top_k(ids.data(), static_cast<uint32_t>(ids.size()), sequences_, k);
}

void Pool::scores(std::string_view text, size_t count, std::vector<double>& out) const {
  const std::vector<uint32_t> ids = query_tokens(text);
  out.assign(std::min(count, size()), 0.0);
  score_row(ids.data(), static_cast<uint32_t>(ids.size()), sequences_, out.size(), vocabulary_.size(), out.data());
}

void Pool::similarity_fields(size_t first, size_t last, size_t k, int threads, const SimilarityFieldsOut& out,
                             const std::function<void()>& between_slices) const {
  if (first > last || last > size()) {
    throw std::invalid_argument("entries [" + std::to_string(first) + ", " + std::to_string(last) +
                                ") are not a range of the pool's " + std::to_string(size()) + " entries");
  }
  selfinstruct::similarity_fields(sequences_, vocabulary_.size(), first, last, k, detail::resolve_threads(threads),
                                  out, between_slices);
}

}  // namespace selfinstruct

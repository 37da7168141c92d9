#include "selfinstruct/pool.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include "selfinstruct/detail/pair_join.hpp"
#include "selfinstruct/detail/parallel.hpp"
#include "selfinstruct/detail/prefix_index.hpp"

namespace selfinstruct {
namespace {
// Candidates are decided in chunks: interrupts are checked and token ranks may be refreshed
// between chunks. Within a chunk, phase 1 runs in parallel against the pool as it was.
constexpr size_t kChunk = 16384;
constexpr uint32_t kUnknownToken = UINT32_MAX - 1;
// Per candidate, the most postings read and entries verified while listing its matches within
// its chunk; past either, it is decided against the chunk's admitted candidates alone.
constexpr size_t kWithinChunkPostings = 4096;
constexpr size_t kWithinChunkVerified = 64;
// Candidates of a chunk that must have given up, and outnumber the listed ones, before the rest
// of the chunk skips the listing.
constexpr size_t kDenseChunk = 256;

// Adds the seconds since the last call (or since it was made) to a step's total.
class StepClock {
 public:
  void charge(double& step) {
    const auto now = std::chrono::steady_clock::now();
    step += std::chrono::duration<double>(now - last_).count();
    last_ = now;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

// One scratch per worker, kept across calls (its stamp array spans the index it probes, and
// filling a fresh one for every call would make small batches cost O(pool)); counters zeroed.
void ready_workers(std::vector<std::unique_ptr<detail::ProbeScratch>>& workers, int threads) {
  while (workers.size() < static_cast<size_t>(threads)) workers.push_back(std::make_unique<detail::ProbeScratch>());
  for (auto& mine : workers) mine->probed = mine->verified = mine->lcs = 0;
}
}  // namespace

Pool::Pool(double threshold, TokenizerMode mode, int threads)
    : mode_(mode), threads_(detail::resolve_threads(threads)), index_(std::make_unique<detail::PrefixIndex>(threshold)) {}

Pool::~Pool() = default;

double Pool::threshold() const { return index_->bounds().threshold(); }

void Pool::set_threads(int threads) { threads_ = detail::resolve_threads(threads); }

void Pool::add(const std::vector<std::string_view>& texts) {
  admitted_elements_.clear();  // (no longer the elements of the entries after the indexed ones)
  admitted_from_ = SIZE_MAX;
  tokenize_and_intern(texts, mode_, vocabulary_, threads_, sequences_);
  if (index_->built()) {
    index_->add_pending(sequences_, threads_);
  }
}

void Pool::truncate(size_t count) {
  if (count >= size()) return;
  admitted_elements_.clear();
  admitted_from_ = SIZE_MAX;
  if (index_->indexed() > count) index_->truncate(sequences_, count);
  sequences_.truncate(count);
}

std::vector<Decision> Pool::admit(const std::vector<std::string_view>& texts,
                                  const std::function<void()>& between_chunks) {
  const size_t start = size();
  std::vector<Decision> decisions;
  decisions.reserve(texts.size());
  try {
    // Equal chunks of at most kChunk: a short last chunk pays a chunk's fixed costs for little work.
    const size_t chunks = (texts.size() + kChunk - 1) / kChunk;
    const size_t chunk_size = chunks == 0 ? kChunk : (texts.size() + chunks - 1) / chunks;
    for (size_t begin = 0; begin < texts.size(); begin += chunk_size) {
      const size_t end = std::min(texts.size(), begin + chunk_size);
      const std::vector<std::string_view> slice(texts.begin() + static_cast<std::ptrdiff_t>(begin),
                                                texts.begin() + static_cast<std::ptrdiff_t>(end));
      TokenSequences chunk;
      StepClock clock;
      tokenize_and_intern(slice, mode_, vocabulary_, threads_, chunk);
      clock.charge(timings_.tokenize);
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
  StepClock clock;
  if (index_->ranking_check_due(before, chunk.size())) {
    if (index_->rebuild_if_stale(sequences_, chunk, vocabulary_.size(), threads_)) ++stats_.index_builds;
  }
  // The entries admitted by the last chunk, with the elements it computed for them where the
  // ranking has not changed since.
  const bool known = admitted_ranking_ == index_->ranking_version() && index_->indexed() == admitted_from_ &&
                     admitted_elements_.size() == sequences_.offset(before) - sequences_.offset(admitted_from_);
  index_->add_pending(sequences_, threads_, known ? admitted_elements_.data() : nullptr);
  admitted_elements_.clear();
  admitted_from_ = before;
  admitted_ranking_ = index_->ranking_version();
  clock.charge(timings_.index);
  // Every candidate's elements, once: phase 1 probes, the join and the chunk index's probes read
  // them (the chunk index orders tokens as the pool's index does). Phase 1 sorts each just before
  // its probe (so the probe finds them in cache); without a pool to probe, they are sorted here.
  if (before > 0) {
    chunk_elements_.resize(chunk.offset(chunk.size()));
  } else {
    index_->elements_of_all(chunk, threads_, chunk_elements_);
  }

  const size_t first = out.size();
  out.resize(first + chunk.size());
  ready_workers(scratch_, threads_);

  // Phase 1, parallel: every candidate against the pool as it stood before this chunk.
  if (before > 0) {
    detail::parallel_for(chunk.size(), threads_, 64, [&](size_t begin, size_t end, int worker) {
      detail::ProbeScratch& mine = *scratch_[static_cast<size_t>(worker)];
      for (size_t c = begin; c < end; ++c) {
        uint64_t* elements = chunk_elements_of(chunk, c);
        index_->elements_of(chunk.data(c), chunk.length(c), elements);
        const detail::Match match = index_->probe(chunk.data(c), chunk.length(c), sequences_, before, mine, nullptr, elements);
        out[first + c].best_index = match.index;
        out[first + c].best_score = match.index < 0 ? 0.0 : match.score;
      }
    });
  }
  clock.charge(timings_.pool_probe);
  const ChunkMatches within = match_within_chunk(chunk, out.data() + first);
  clock.charge(timings_.within_chunk);

  // Phase 3, serial and in order: a candidate that no admitted entry matches is admitted. Its
  // best match is the best pool entry, or a better admitted candidate of this chunk (an admitted
  // candidate's index is above every pool index, so it wins only with a strictly higher F).
  // Candidates whose matches within the chunk were too many to list (dense clusters of near
  // duplicates) are probed against an index of this chunk's admitted candidates instead.
  std::vector<int64_t> admitted_as(chunk.size(), -1);
  TokenSequences admitted;  // this chunk's admitted candidates, once a dense candidate needs them
  bool admitted_indexed = false;
  detail::ProbeScratch& serial = *chunk_scratch_[0];
  serial.posting_budget = serial.verify_budget = SIZE_MAX;  // this probe must not give up
  auto match = within.matches.begin();
  for (size_t c = 0; c < chunk.size(); ++c) {
    Decision& decision = out[first + c];
    detail::Match best;
    for (; match != within.matches.end() && match->candidate == c; ++match) {
      const int64_t entry = admitted_as[match->earlier];
      if (entry < 0) continue;
      if (match->score > best.score || (match->score == best.score && entry < best.index)) best = {match->score, entry};
    }
    stats_.dense_candidates += within.unlisted[c];
    if (within.unlisted[c] && size() > before) {
      if (!admitted_indexed) {
        // Built at the first such candidate, from the candidates admitted so far (most chunks have none).
        for (size_t entry = before; entry < size(); ++entry) {
          admitted.append(sequences_.data(entry), sequences_.length(entry));
        }
        chunk_index_->build_with_ranking_of(*index_, admitted, 1);
        admitted_indexed = true;
      }
      best = chunk_index_->probe(chunk.data(c), chunk.length(c), admitted, admitted.size(), serial, nullptr, chunk_elements_of(chunk, c));
      if (best.index >= 0) best.index += static_cast<int64_t>(before);
    }
    if (best.index >= 0 && (decision.best_index < 0 || best.score > decision.best_score)) {
      decision.best_index = best.index;
      decision.best_score = best.score;
    }
    if (decision.best_index < 0) {
      decision.index = admitted_as[c] = static_cast<int64_t>(size());
      sequences_.append(chunk.data(c), chunk.length(c));
      admitted_elements_.insert(admitted_elements_.end(), chunk_elements_of(chunk, c), chunk_elements_of(chunk, c) + chunk.length(c));
      if (admitted_indexed) {
        admitted.append(chunk.data(c), chunk.length(c));
        chunk_index_->add_pending(admitted, 1);
      }
    }
  }
  // The admitted candidates are indexed at the start of the next chunk (after a rebuild, if one is due).
  clock.charge(timings_.decide);
  stats_.candidates += chunk.size();
  for (const auto& workers : {&scratch_, &chunk_scratch_}) {
    for (const auto& mine : *workers) {
      stats_.pairs_probed += mine->probed;
      stats_.pairs_verified += mine->verified;
      stats_.pairs_lcs += mine->lcs;
    }
  }
}

Pool::ChunkMatches Pool::match_within_chunk(const TokenSequences& chunk, const Decision* decided) {
  // Phase 2, parallel: the candidates that no pool entry matched ("open" ones) may still match
  // each other. Every candidate is matched against the open candidates before it, keeping every
  // match above the threshold; which of those get admitted is settled in order afterwards.
  ChunkMatches within;
  within.unlisted.assign(chunk.size(), 0);
  ready_workers(chunk_scratch_, threads_);
  // (Phase 3 indexes the chunk's admitted candidates in it, where some gave up here.)
  if (!chunk_index_) chunk_index_ = std::make_unique<detail::PrefixIndex>(threshold());
  size_t first_open = 0;
  while (first_open < chunk.size() && decided[first_open].best_index >= 0) ++first_open;
  if (first_open == chunk.size()) return within;
  // Partners: the open candidates. Probers: every candidate after the first open one, except
  // exact copies of a pool entry (they keep it as their best: a candidate of this chunk has a
  // higher index, so it would need F above 1).
  std::vector<uint8_t> roles(chunk.size(), 0);
  bool single_indexed = false;  // whether some prober or partner is indexed by single elements
  for (size_t c = first_open; c < chunk.size(); ++c) {
    const bool open_one = decided[c].best_index < 0;
    const bool prober = c > first_open && !(decided[c].best_index >= 0 && decided[c].best_score >= 1.0);
    if (!open_one && !prober) continue;
    const bool pair_indexed = index_->pair_prefix(chunk.length(c)) > 0;
    roles[c] = static_cast<uint8_t>((open_one ? detail::kJoinPartner : 0) | (prober ? detail::kJoinProber : 0) |
                                    (pair_indexed ? detail::kJoinPairIndexed : 0));
    single_indexed = single_indexed || !pair_indexed;
  }

  // Pairs of pair-indexed candidates: by joining their signatures.
  if (!join_scratch_) join_scratch_ = std::make_unique<detail::PairJoinScratch>();
  detail::PairJoinResult joined;
  detail::join_pairs(*index_, chunk, chunk_elements_.data(), roles, kWithinChunkPostings, kWithinChunkVerified, threads_, *join_scratch_, joined);
  stats_.pairs_probed += joined.probed;
  stats_.pairs_verified += joined.verified;
  stats_.pairs_lcs += joined.lcs;
  within.matches.reserve(joined.matches.size());
  for (const detail::JoinMatch& match : joined.matches) {
    within.matches.push_back(ChunkMatch{match.candidate, match.earlier, match.score});
  }
  for (size_t c = 0; c < chunk.size(); ++c) within.unlisted[c] = joined.over_budget[c];

  // Pairs where either side is indexed by single elements: through an index of the open
  // candidates that can take part in such a pair, probed by the candidates that can.
  if (single_indexed) match_single_indexed(chunk, roles, within);
  // A candidate that gave up is decided in the serial pass: its listed matches are dropped.
  within.matches.erase(std::remove_if(within.matches.begin(), within.matches.end(),
                                      [&](const ChunkMatch& match) { return within.unlisted[match.candidate] != 0; }),
                       within.matches.end());
  std::stable_sort(within.matches.begin(), within.matches.end(),
                   [](const ChunkMatch& a, const ChunkMatch& b) { return a.candidate < b.candidate; });
  return within;
}

void Pool::match_single_indexed(const TokenSequences& chunk, const std::vector<uint8_t>& roles, ChunkMatches& within) {
  const detail::LengthBounds& bounds = index_->bounds();
  const auto single_indexed = [&](size_t c) { return (roles[c] & detail::kJoinPairIndexed) == 0; };
  // Partners: every open candidate indexed by single elements, and, where some prober is, the
  // pair-indexed ones long enough to match such a prober.
  uint32_t shortest_partner_of_single = UINT32_MAX;
  for (size_t c = 0; c < chunk.size(); ++c) {
    if (!(roles[c] & detail::kJoinProber) || within.unlisted[c] || !single_indexed(c)) continue;
    uint32_t first = 0, last = 0;
    bounds.partner_range(chunk.length(c), first, last);
    if (first <= last) shortest_partner_of_single = std::min(shortest_partner_of_single, first);
  }
  TokenSequences partners;
  std::vector<uint32_t> partner_position;  // where each partner sits in the chunk
  uint32_t shortest_single = UINT32_MAX;   // the shortest partner indexed by single elements
  for (size_t c = 0; c < chunk.size(); ++c) {
    if (!(roles[c] & detail::kJoinPartner)) continue;
    if (!single_indexed(c) && chunk.length(c) < shortest_partner_of_single) continue;
    partners.append(chunk.data(c), chunk.length(c));
    partner_position.push_back(static_cast<uint32_t>(c));
    if (single_indexed(c)) shortest_single = std::min(shortest_single, chunk.length(c));
  }
  if (partners.size() == 0) return;
  chunk_index_->build_with_ranking_of(*index_, partners, threads_, /*pairs=*/false);
  std::vector<std::vector<ChunkMatch>> found(static_cast<size_t>(threads_));
  // Once most of a chunk has given up (one dense cluster, as in a corpus of near-copies), the
  // rest of it goes straight to the serial pass instead of giving up one by one.
  std::atomic<size_t> listed{0}, gave_up{0};
  detail::parallel_for(chunk.size(), threads_, 64, [&](size_t begin, size_t end, int worker) {
    detail::ProbeScratch& mine = *chunk_scratch_[static_cast<size_t>(worker)];
    // Bounds the work per candidate: a candidate in a dense cluster would otherwise read and
    // verify every cluster member before it, quadratic in the cluster's size.
    mine.posting_budget = kWithinChunkPostings;
    mine.verify_budget = kWithinChunkVerified;
    std::vector<detail::Match>& every = mine.matches;
    for (size_t c = begin; c < end; ++c) {
      if (!(roles[c] & detail::kJoinProber) || within.unlisted[c]) continue;
      if (!single_indexed(c)) {
        // A pair-indexed prober looks up single-indexed partners only: skip it if none is long
        // enough for it.
        uint32_t first = 0, last = 0;
        bounds.partner_range(chunk.length(c), first, last);
        if (first > last || last < shortest_single) continue;
      }
      const size_t given_up = gave_up.load(std::memory_order_relaxed);
      if (given_up > kDenseChunk && given_up > listed.load(std::memory_order_relaxed)) {
        within.unlisted[c] = 1;
        gave_up.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      const auto earlier = static_cast<size_t>(
          std::lower_bound(partner_position.begin(), partner_position.end(), static_cast<uint32_t>(c)) -
          partner_position.begin());
      every.clear();
      chunk_index_->probe(chunk.data(c), chunk.length(c), partners, earlier, mine, &every, chunk_elements_of(chunk, c));
      if (mine.over_budget) {
        within.unlisted[c] = 1;
        gave_up.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      listed.fetch_add(1, std::memory_order_relaxed);
      for (const detail::Match& match : every) {
        found[static_cast<size_t>(worker)].push_back(
            ChunkMatch{static_cast<uint32_t>(c), partner_position[static_cast<size_t>(match.index)], match.score});
      }
    }
    mine.posting_budget = mine.verify_budget = SIZE_MAX;
  });
  for (const auto& part : found) within.matches.insert(within.matches.end(), part.begin(), part.end());
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

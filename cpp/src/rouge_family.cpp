#include "selfinstruct/rouge_family.hpp"

#include <algorithm>
#include <array>
#include <mutex>
#include <stdexcept>

#include "selfinstruct/detail/id_table.hpp"
#include "selfinstruct/detail/parallel.hpp"
#include "selfinstruct/detail/summary_lcs.hpp"
#include "selfinstruct/lcs.hpp"
#include "selfinstruct/score.hpp"

namespace selfinstruct {

RougeKind parse_rouge_kind(const std::string& name) {
  if (name == "rougeL") return {RougeKind::kLcs, 0};
  if (name == "rougeLsum") return {RougeKind::kSummaryLcs, 0};
  if (name.size() == 6 && name.compare(0, 5, "rouge") == 0 && name[5] >= '1' && name[5] <= '9') {
    return {RougeKind::kNgram, name[5] - '0'};
  }
  throw std::invalid_argument("unknown rouge type '" + name + "': use rouge1 .. rouge9, rougeL or rougeLsum");
}

// ---- stem cache ----

namespace {

bool is_rouge_token(std::string_view token) {
  if (token.empty()) return false;
  return std::all_of(token.begin(), token.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
}

// Characters, not bytes: the rouge tokenizer's tokens are ASCII, the unicode tokenizer's need not be.
size_t code_points(std::string_view token) {
  size_t count = 0;
  for (const char c : token) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return count;
}

}  // namespace

const StemCache::Stem* StemCache::find(std::string_view token, uint64_t hash) const {
  const uint32_t id = tokens_.find(token, hash);
  return id == Vocabulary::kMissing ? nullptr : &stems_[id];
}

void StemCache::insert(const std::vector<std::string>& tokens, const std::vector<std::string>& stems) {
  if (tokens.size() != stems.size()) throw std::invalid_argument("one stem per token expected");
  std::unique_lock<std::shared_mutex> lock(mutex_);
  for (size_t k = 0; k < tokens.size(); ++k) {
    const uint32_t id = tokens_.intern(tokens[k], Vocabulary::hash(tokens[k]));
    if (id < stems_.size()) continue;  // inserted meanwhile by another caller
    // rouge-score keeps a stemmed token only if it still matches ^[a-z0-9]+$.
    const bool keep = mode_ == TokenizerMode::kRouge ? is_rouge_token(stems[k]) : !stems[k].empty();
    stems_.push_back(Stem{stems[k], Vocabulary::hash(stems[k]), keep});
  }
}

size_t StemCache::size() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  return stems_.size();
}

// ---- per-pair work ----

namespace detail {

// Tokens of pieces of one text (its lines, or its sentences) and their dense ids.
struct TokenStream {
  TokenSpans spans;
  std::vector<uint32_t> span_ends;  // per piece, in spans
  std::vector<uint32_t> ids;
  std::vector<uint32_t> id_ends;  // per piece, in ids (stemming may drop tokens)
  void clear() {
    spans.clear();
    span_ends.clear();
  }
  SentenceIds sentences() const { return {ids.data(), id_ends.data(), id_ends.size()}; }
};

// One text of a pair: `whole` for ROUGE-N and ROUGE-L, `pieces` for rougeLsum (or `whole`,
// split at its lines, when no sentences were given).
struct TextIds {
  TokenStream whole, pieces;
  bool separate = false;
  const TokenStream& sentences() const { return separate ? pieces : whole; }
};

struct PairWorkspace {
  TokenSpans scratch;
  IdTable<std::string_view> token_ids;
  IdTable<uint64_t> gram_ids;
  TextIds target, prediction;
  std::vector<uint32_t> grams_t, grams_p, next_t, next_p, counts;
  LcsPattern pattern;
  SummaryLcs summary;
};

// One scoring thread: its buffers, and the pairs it left for a later pass with their missing stems.
struct Worker {
  PairWorkspace work;
  std::vector<size_t> pending;
  std::unique_ptr<Vocabulary> missing;  // created on the first miss
};

}  // namespace detail

namespace {

using detail::PairWorkspace;
using detail::TextIds;
using detail::TokenStream;

void append_piece(std::string_view piece, TokenizerMode mode, TokenSpans& scratch, TokenStream& stream) {
  tokenize(piece, mode, scratch);
  const auto shift = static_cast<uint32_t>(stream.spans.buffer.size());
  stream.spans.buffer += scratch.buffer;
  for (const auto& span : scratch.spans) stream.spans.spans.emplace_back(span.first + shift, span.second);
  stream.span_ends.push_back(static_cast<uint32_t>(stream.spans.size()));
}

void tokenize_lines(std::string_view text, TokenizerMode mode, TokenSpans& scratch, TokenStream& stream) {
  stream.clear();
  size_t begin = 0;
  while (true) {
    const size_t end = text.find('\n', begin);
    append_piece(text.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin), mode,
                 scratch, stream);
    if (end == std::string_view::npos) break;
    begin = end + 1;
  }
}

void fill_scores(double hits, double target_count, double prediction_count, double* out, size_t stride,
                 size_t pair) {
  // rouge-score: precision = hits / n, recall = hits / m, F = 2 * p * r / (p + r) (0 when p + r == 0).
  const double precision = prediction_count == 0 ? 0.0 : hits / prediction_count;
  const double recall = target_count == 0 ? 0.0 : hits / target_count;
  out[pair] = precision;
  out[stride + pair] = recall;
  out[2 * stride + pair] = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
}

// Multiset intersection size of the n-grams of two id sequences (ids < id_count).
uint64_t overlap(const std::vector<uint32_t>& target, const std::vector<uint32_t>& prediction, uint32_t id_count,
                 std::vector<uint32_t>& counts) {
  counts.assign(id_count, 0);
  for (const uint32_t id : prediction) ++counts[id];
  uint64_t shared = 0;
  for (const uint32_t id : target) {
    if (counts[id] > 0) {
      --counts[id];
      ++shared;
    }
  }
  return shared;
}

// Ids of the n-grams one longer: gram (previous gram at i, token at i + n - 1).
void extend_grams(const std::vector<uint32_t>& grams, const std::vector<uint32_t>& tokens, int n,
                  detail::IdTable<uint64_t>& table, std::vector<uint32_t>& out) {
  out.clear();
  if (tokens.size() < static_cast<size_t>(n)) return;
  const size_t count = tokens.size() - static_cast<size_t>(n) + 1;
  for (size_t i = 0; i < count; ++i) {
    const uint64_t key = (static_cast<uint64_t>(grams[i]) << 32) | tokens[i + static_cast<size_t>(n) - 1];
    out.push_back(table.intern(key, detail::mix64(key)));
  }
}

}  // namespace

RougeFamilyScorer::RougeFamilyScorer(std::vector<RougeKind> kinds, TokenizerMode mode, bool stem)
    : kinds_(std::move(kinds)), mode_(mode), stem_(stem), stems_(mode) {
  for (const RougeKind& kind : kinds_) {
    if (kind.type == RougeKind::kNgram) {
      if (kind.n < 1 || kind.n > 9) throw std::invalid_argument("n-gram order must be 1 .. 9");
      max_order_ = std::max(max_order_, kind.n);
    }
    (kind.type == RougeKind::kSummaryLcs ? needs_sentences_ : needs_whole_) = true;
  }
}

RougeFamilyScorer::~RougeFamilyScorer() = default;

bool RougeFamilyScorer::pair_ids(const TextInput& target, const TextInput& prediction, detail::Worker& worker) const {
  PairWorkspace& work = worker.work;
  work.token_ids.reset();
  bool complete = true;
  auto tokenize_text = [&](const TextInput& input, TextIds& text) {
    text.separate = input.sentences != nullptr;
    if (!text.separate) {
      tokenize_lines(input.text, mode_, work.scratch, text.whole);
      return;
    }
    text.whole.clear();
    text.pieces.clear();
    if (needs_whole_) append_piece(input.text, mode_, work.scratch, text.whole);
    if (needs_sentences_) {
      for (const std::string_view sentence : *input.sentences) append_piece(sentence, mode_, work.scratch, text.pieces);
    }
  };
  auto assign_ids = [&](TokenStream& stream) {
    stream.ids.clear();
    stream.id_ends.clear();
    size_t k = 0;
    for (const uint32_t end : stream.span_ends) {
      for (; k < end; ++k) {
        const std::string_view token = stream.spans.token(k);
        const uint64_t hash = Vocabulary::hash(token);
        if (!stem_ || code_points(token) <= 3) {
          stream.ids.push_back(work.token_ids.intern(token, hash));
          continue;
        }
        const StemCache::Stem* stem = stems_.find(token, hash);
        if (stem == nullptr) {
          if (!worker.missing) worker.missing = std::make_unique<Vocabulary>();
          worker.missing->intern(token, hash);  // deduplicated: a cold batch misses each word many times
          complete = false;
        } else if (stem->keep) {
          stream.ids.push_back(work.token_ids.intern(stem->text, stem->hash));
        }
      }
      stream.id_ends.push_back(static_cast<uint32_t>(stream.ids.size()));
    }
  };
  // Tokenize both texts before interning: the ids table keeps views into the token buffers.
  tokenize_text(target, work.target);
  tokenize_text(prediction, work.prediction);
  for (TextIds* text : {&work.target, &work.prediction}) {
    assign_ids(text->whole);
    if (text->separate) assign_ids(text->pieces);
  }
  return complete;
}

void RougeFamilyScorer::score_ids(PairWorkspace& work, double* out, size_t stride, size_t pair) const {
  const std::vector<uint32_t>& target = work.target.whole.ids;
  const std::vector<uint32_t>& prediction = work.prediction.whole.ids;
  const uint32_t id_count = work.token_ids.size();
  // N-gram ids level by level: level n is (level n-1 id, next token), interned per pair.
  std::array<uint64_t, 10> shared{};  // by n-gram order
  if (max_order_ > 0) {
    work.gram_ids.reset();
    work.grams_t = target;
    work.grams_p = prediction;
    uint32_t gram_count = id_count;
    for (int n = 1; n <= max_order_; ++n) {
      if (n > 1) {
        extend_grams(work.grams_t, target, n, work.gram_ids, work.next_t);
        extend_grams(work.grams_p, prediction, n, work.gram_ids, work.next_p);
        work.grams_t.swap(work.next_t);
        work.grams_p.swap(work.next_p);
        gram_count = work.gram_ids.size();
      }
      if (work.grams_t.empty() || work.grams_p.empty()) break;
      shared[static_cast<size_t>(n)] = overlap(work.grams_t, work.grams_p, gram_count, work.counts);
    }
  }
  for (size_t k = 0; k < kinds_.size(); ++k) {
    double* slot = out + 3 * k * stride;
    const RougeKind& kind = kinds_[k];
    if (kind.type == RougeKind::kNgram) {
      // rouge-score divides by max(count, 1): an empty side scores 0.
      const size_t n = static_cast<size_t>(kind.n);
      const auto grams_in = [n](size_t length) { return static_cast<double>(length >= n ? length - n + 1 : 0); };
      fill_scores(static_cast<double>(shared[static_cast<size_t>(kind.n)]), grams_in(target.size()),
                  grams_in(prediction.size()), slot, stride, pair);
    } else if (kind.type == RougeKind::kLcs) {
      uint32_t lcs = 0;
      if (!target.empty() && !prediction.empty()) {
        work.pattern.assign(target.data(), static_cast<uint32_t>(target.size()));
        lcs = work.pattern.lcs(prediction.data(), static_cast<uint32_t>(prediction.size()));
      }
      fill_scores(lcs, static_cast<double>(target.size()), static_cast<double>(prediction.size()), slot, stride, pair);
    } else {
      const detail::SentenceIds reference = work.target.sentences().sentences();
      const detail::SentenceIds candidate = work.prediction.sentences().sentences();
      const uint64_t hits = work.summary.hits(reference, candidate, id_count);
      fill_scores(static_cast<double>(hits), reference.tokens(), candidate.tokens(), slot, stride, pair);
    }
  }
}

RougeFamilyScorer::Pending RougeFamilyScorer::score_pairs(const TextInput* targets, const TextInput* predictions,
                                                          const size_t* which, size_t count, int threads,
                                                          double* out, size_t stride) const {
  const size_t requested = static_cast<size_t>(std::max(detail::resolve_threads(threads), 1));
  const size_t grain = std::max<size_t>(16, std::min<size_t>(1024, count / (8 * requested) + 1));
  const size_t workers = std::max<size_t>(1, std::min(requested, (count + grain - 1) / grain));
  // One thread (single score() calls among them) reuses its buffers across calls.
  thread_local detail::Worker reused;
  std::vector<detail::Worker> fresh(workers > 1 ? workers : 0);
  auto worker_state = [&](size_t w) -> detail::Worker& { return workers > 1 ? fresh[w] : reused; };
  reused.pending.clear();
  reused.missing.reset();
  detail::parallel_for(count, static_cast<int>(workers), grain, [&](size_t begin, size_t end, int w) {
    detail::Worker& worker = worker_state(static_cast<size_t>(w));
    const auto lock = stems_.read_lock();  // stem views stay valid for this chunk
    for (size_t k = begin; k < end; ++k) {
      const size_t pair = which[k];
      if (pair_ids(targets[pair], predictions[pair], worker)) {
        score_ids(worker.work, out, stride, pair);
      } else {
        worker.pending.push_back(pair);
      }
    }
  });
  Pending pending;
  Vocabulary distinct;
  for (size_t w = 0; w < workers; ++w) {
    const detail::Worker& worker = worker_state(w);
    pending.pairs.insert(pending.pairs.end(), worker.pending.begin(), worker.pending.end());
    if (!worker.missing) continue;
    for (uint32_t id = 0; id < worker.missing->size(); ++id) {
      const std::string& token = worker.missing->token(id);
      if (distinct.intern(token, Vocabulary::hash(token)) == pending.tokens.size()) pending.tokens.push_back(token);
    }
  }
  std::sort(pending.pairs.begin(), pending.pairs.end());
  return pending;
}

}  // namespace selfinstruct

// ROUGE-N (n = 1..9), ROUGE-L and ROUGE-Lsum precision, recall and F, with the floats of
// rouge-score 0.1.2 (its default tokenizer, optionally with stemmed tokens).
#pragma once
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "selfinstruct/tokenizer.hpp"
#include "selfinstruct/vocabulary.hpp"

namespace selfinstruct {

struct RougeKind {
  enum Type { kNgram, kLcs, kSummaryLcs } type;
  int n = 0;  // n-gram order for kNgram
};

// Parses "rouge1".."rouge9", "rougeL", "rougeLsum"; throws std::invalid_argument otherwise.
RougeKind parse_rouge_kind(const std::string& name);

// A text to score. rougeLsum reads `sentences` when given, else the lines of `text` (split at '\n').
struct TextInput {
  std::string_view text;
  const std::vector<std::string_view>* sentences = nullptr;
};

// Token -> stem, filled from outside (the stemmer is NLTK's, in Python) and read by the scoring
// threads. Append-only: scoring holds a read lock for a chunk of pairs, insert() a write lock.
class StemCache {
 public:
  struct Stem {
    std::string text;
    uint64_t hash;
    bool keep;  // false: rouge-score drops the token (its stem is not a valid token)
  };
  explicit StemCache(TokenizerMode mode) : mode_(mode) {}
  std::shared_lock<std::shared_mutex> read_lock() const { return std::shared_lock<std::shared_mutex>(mutex_); }
  // nullptr when `token` has no stem yet. Call under read_lock().
  const Stem* find(std::string_view token, uint64_t hash) const;
  void insert(const std::vector<std::string>& tokens, const std::vector<std::string>& stems);
  size_t size() const;

 private:
  TokenizerMode mode_;
  mutable std::shared_mutex mutex_;
  Vocabulary tokens_;
  std::vector<Stem> stems_;
};

namespace detail {
struct PairWorkspace;
struct Worker;
}  // namespace detail

class RougeFamilyScorer {
 public:
  // `stem`: replace tokens longer than 3 characters by their stem from stems().
  RougeFamilyScorer(std::vector<RougeKind> kinds, TokenizerMode mode, bool stem);
  ~RougeFamilyScorer();
  const std::vector<RougeKind>& kinds() const { return kinds_; }
  StemCache& stems() { return stems_; }

  // Pairs left unscored because some of their tokens have no cached stem yet.
  struct Pending {
    std::vector<size_t> pairs;
    std::vector<std::string> tokens;  // distinct
  };
  // Scores pairs which[0..count) of (targets, predictions) on up to `threads` threads.
  // Writes out[(kind * 3 + c) * stride + pair], c = 0 precision, 1 recall, 2 F.
  Pending score_pairs(const TextInput* targets, const TextInput* predictions, const size_t* which, size_t count,
                      int threads, double* out, size_t stride) const;

 private:
  // Fills the worker's ids for one pair; false when a stem is missing (noted in worker.missing).
  bool pair_ids(const TextInput& target, const TextInput& prediction, detail::Worker& worker) const;
  void score_ids(detail::PairWorkspace& work, double* out, size_t stride, size_t pair) const;

  std::vector<RougeKind> kinds_;
  TokenizerMode mode_;
  bool stem_;
  int max_order_ = 0;
  bool needs_whole_ = false, needs_sentences_ = false;
  StemCache stems_;
};

}  // namespace selfinstruct

// Candidate generation for pool admission by prefix filtering over rarity-ordered token
// multisets. Exact: every pool entry that can score above the threshold is returned for
// verification, because a pair with token overlap >= o shares
//   - one element within the first (len - o + 1) elements of each side (1-prefix), and
//   - two elements within the first (len - o + 2) elements of each side (2-prefix, o >= 2).
// Short entries are indexed by element pairs of their 2-prefix (far more selective than single
// tokens); long entries, and entries that may match with overlap 1, by single elements.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "selfinstruct/corpus.hpp"
#include "selfinstruct/detail/append_buffer.hpp"
#include "selfinstruct/detail/huge_pages.hpp"
#include "selfinstruct/detail/length_bounds.hpp"
#include "selfinstruct/detail/signature_table.hpp"
#include "selfinstruct/detail/signatures.hpp"
#include "selfinstruct/lcs.hpp"

namespace selfinstruct::detail {

struct Match {
  double score = -1.0;
  int64_t index = -1;
};

// The index keeps four sets of tables: single-element lists, element-pair lists, the lists of
// pairs whose list grew long enough to be split by entry length, and the lists of the rare
// elements that pair-indexed entries publish alone (see PrefixIndex::is_rare).
enum TableSet : uint8_t { kSingleLists = 0, kPairLists = 1, kSplitPairLists = 2, kRareLists = 3 };
constexpr size_t kTableSets = 4;

// One signature a probe looks up: where its (last) element sits in the candidate, the prefix
// slack (1 for pairs, 0 for singles), the list head once resolved, its table set, and the range
// of the list's sort field (see SignatureTable::Order) that can match: where the table is sorted,
// only that run is read.
struct Lookup {
  uint64_t key;
  uint32_t position;
  uint32_t slack;
  uint32_t head;
  TableSet set;
  uint32_t low = 0, high = UINT32_MAX;
};

// A probe's view of one length bucket of pair-indexed partners: its partner lengths, how far
// into the candidate's elements its pairs reach.
struct PartnerBucket {
  uint32_t first_length;
  uint32_t last_length;
  uint32_t last_position;
};

// Per-thread working memory for probes.
struct ProbeScratch {
  AppendBuffer<Lookup> lookups;
  std::vector<PartnerBucket> partner_buckets;
  std::vector<uint32_t> longest_partner;  // [b]: the longest partner a pair ending at b has room for
  std::vector<uint32_t> stamp;  // stamp[entry] == epoch: already queued (probes without the branch-free filter)
  uint32_t epoch = 0;
  std::vector<uint32_t> touched;
  std::vector<uint32_t> passed;  // entries whose postings passed the posting filters, before dedup
  std::vector<uint64_t> elements;
  std::vector<uint64_t> wide;  // the candidate's wide sketch at every width (see WideSketches)
  LcsPattern pattern;
  LengthBounds::QueryBounds bounds;
  std::vector<Match> matches;  // every match of a probe, where the caller asks for them
  // A probe that would scan more list postings, or count the exact overlap of more entries,
  // than these gives up and says so in over_budget (callers that have a cheaper way for such
  // candidates set them; its best and `every` are then incomplete).
  size_t posting_budget = SIZE_MAX;
  size_t verify_budget = SIZE_MAX;
  bool over_budget = false;
  uint64_t probed = 0, verified = 0, lcs = 0;
};

class PrefixIndex {
 public:
  // Entries whose 2-prefix is longer than this are indexed by single elements (pairs grow
  // quadratically with the prefix).
  static constexpr uint32_t kMaxPairPrefix = 20;

  explicit PrefixIndex(double threshold);
  const LengthBounds& bounds() const { return bounds_; }
  size_t indexed() const { return indexed_; }
  bool built() const { return built_; }

  // Whether token ranks should be looked at again before admitting `incoming` more candidates
  // (the pool has grown fourfold since they were counted, or doubled since they were last kept).
  bool ranking_check_due(size_t entries, size_t incoming) const;
  // Ranks tokens by frequency in the entries plus `sample` (rarest first) and indexes every entry
  // again, unless the index was built before and the present ranking is not stale (see
  // ranking_is_stale). Returns whether it rebuilt.
  bool rebuild_if_stale(const TokenSequences& entries, const TokenSequences& sample, size_t vocabulary_size, int threads);
  // Indexes every entry of `entries` not indexed yet (their signatures pushed on `threads` threads).
  // `known_elements`: their elements back to back, where the caller has them from elements_of
  // under the present ranking (see ranking_version).
  void add_pending(const TokenSequences& entries, int threads, const uint64_t* known_elements = nullptr);
  // Changes whenever the token ranking does (elements computed under another one differ).
  uint64_t ranking_version() const { return ranking_version_; }
  // Forgets entries from `count` on (call before truncating `entries`).
  void truncate(const TokenSequences& entries, size_t count);
  // Replaces the contents with `entries`, ordering tokens as `other` does (it must have been
  // built): for a short-lived index over one chunk's candidates, reusing its memory. Without
  // `pairs`, entries publish only their single elements, and probes look up only those (for
  // matches where either side is indexed by single elements; see pair_join.hpp for the others).
  void build_with_ranking_of(const PrefixIndex& other, const TokenSequences& entries, int threads, bool pairs = true);
  // Whether some indexed entry is indexed by single elements alone (not by pairs).
  bool holds_single_indexed() const;

  // Element keys of a token list, sorted: rank in the high half, occurrence number in the low
  // half, so a multiset becomes a set and multiset overlap becomes set overlap.
  void elements_of(const uint32_t* tokens, uint32_t n, uint64_t* out) const;
  // The elements of every text of `texts`, each at its token offset in `out` (on `threads` threads).
  void elements_of_all(const TokenSequences& texts, int threads, std::vector<uint64_t>& out) const;
  // How long a prefix of its elements an entry of this length publishes pairs from (0: none,
  // it is indexed by single elements).
  uint32_t pair_prefix(uint32_t length) const { return layout(length).pair_prefix; }
  // Whether an element is rare: its token was ranked, and counted at most once per kRareEvery
  // texts (and at most kRareAtMost times). A pair-indexed entry publishes each rare element of
  // its 1-prefix alone (its list stays short) instead of the pairs that start with it, and the
  // pairs that start with its other prefix elements; a probe looks them up the same way. Exact:
  // the first element two texts share is either rare (then it lies in both 1-prefixes, and its
  // list holds the other text) or not (then their pair of it and the next shared element lies in
  // both 2-prefixes and starts with it). A probe then looks up far fewer keys, most of them
  // present, and the pair tables hold far fewer keys. (Tokens that came after the ranking are
  // not rare: a new vocabulary's frequent words would make long lists until the next ranking.)
  bool is_rare(uint64_t element) const {
    const auto rank = static_cast<uint32_t>(element >> 32);
    return rank >= 0x80000000u && rank < rare_below_;
  }
  // Where the rare elements lie among the first `count` (sorted) elements: [first, end). Tokens
  // that came after the ranking sort first, the ranked ones by count, so the rare ones are a run.
  struct RareRun {
    uint32_t first, end;
    bool holds(uint32_t position) const { return position >= first && position < end; }
  };
  RareRun rare_run(const uint64_t* keys, uint32_t count) const {
    uint32_t first = 0;
    while (first < count && static_cast<uint32_t>(keys[first] >> 32) < 0x80000000u) ++first;
    uint32_t end = first;
    while (end < count && is_rare(keys[end])) ++end;
    return {first, end};
  }
  // Calls visit(key, position, set) for the signatures a pair-indexed text publishes from its
  // first `pair_prefix` (sorted) elements: each rare element of its 1-prefix alone (kRareLists,
  // its position) and each pair that starts with another element (kPairLists, the position of
  // its second element). The index and the chunk join publish, and a probe looks up, through this.
  template <typename Visit>
  void for_each_pair_signature(const uint64_t* keys, uint32_t pair_prefix, Visit&& visit) const {
    const RareRun rare = rare_run(keys, pair_prefix);
    for (uint32_t i = rare.first; i + 1 < pair_prefix && i < rare.end; ++i) visit(rare_key(keys[i]), i, kRareLists);
    for (uint32_t b = 1; b < pair_prefix; ++b) {
      for (uint32_t a = 0; a < b; ++a) {
        if (!rare.holds(a)) visit(pair_key(keys[a], keys[b]), b, kPairLists);
      }
    }
  }

  // The best entry with F > threshold (highest F, lowest index on ties) among the indexed entries
  // [0, before). With `every` given, also appends every such entry, in no particular order.
  // Gives up (returning no match) when the scratch's budgets are exceeded: see ProbeScratch.
  // `elements`: the candidate's elements_of, where the caller has them (else computed here).
  Match probe(const uint32_t* tokens, uint32_t n, const TokenSequences& entries, size_t before,
              ProbeScratch& scratch, std::vector<Match>* every = nullptr, const uint64_t* elements = nullptr) const;

 private:
  // probe's body, inlined into one copy per instruction set (ProbeCopies, prefix_index.cpp).
  friend struct ProbeCopies;
  Match probe_body(const uint32_t* tokens, uint32_t n, const TokenSequences& entries, size_t before,
                   ProbeScratch& scratch, std::vector<Match>* every, const uint64_t* elements) const;
  // Computes elements (or copies the known ones) and sketches of entries [indexed(), to) and
  // counts them as indexed.
  void prepare(const TokenSequences& entries, size_t to, int threads, const uint64_t* known_elements);
  Posting posting_of(size_t entry, uint32_t length, uint32_t position) const;
  // Pushes the signatures of entries [from, to) into the shards.
  void publish(const TokenSequences& entries, size_t from, size_t to, int threads);
  struct PendingPush {
    uint64_t key;
    Posting posting;
    TableSet set;
  };
  // Appends a signature's posting; a pair list past kSplitAt postings is split into per-length
  // bucket lists, and the pair's later postings go straight to those.
  void push(size_t shard, const PendingPush& item, const TokenSequences& entries);
  // The bucket list of a split pair that holds this posting.
  uint64_t split_key_of(uint64_t pair, const Posting& posting, const TokenSequences& entries) const;
  static constexpr size_t kPublishSlice = 8192;  // entries hashed per pass (bounds the buckets' memory)
  std::vector<std::vector<PendingPush>> publish_buckets_;  // [part * kShards + shard], kept for reuse
  // Forgets every entry and returns the shards' memory (the next admission rebuilds).
  void reset();
  // Forgets every entry, leaving the shards to the caller.
  void forget_entries();
  // How many single-element and pair signatures the entries publish.
  struct SignatureCounts {
    size_t singles = 0, pairs = 0;
  };
  SignatureCounts signatures_of(const TokenSequences& entries) const;
  // Empties every table, sized for about keys[set] keys (a table of that size keeps its memory),
  // with room for postings[set] postings.
  void size_tables(const std::array<size_t, kTableSets>& keys, const std::array<size_t, kTableSets>& postings);
  uint32_t rank_of(uint32_t token) const {
    // Tokens first seen after the last ranking count as the rarest: they sort first, newest first
    // (but they are not rare elements: see is_rare).
    return token < rank_->size() ? (*rank_)[token] : 0x7FFFFFFFu - token;
  }
  // How an entry of this length is indexed and how a candidate of this length probes.
  struct Layout {
    uint32_t single_prefix = 0;  // 0: the length cannot match anything
    uint32_t pair_prefix = 0;    // 0: not indexed by pairs
    // Whether some candidate length indexed by single elements (long texts, or overlap 1) can
    // match this length: only then does a pair-indexed entry publish its single elements too.
    bool single_indexed_partners = true;
    // Whether an entry of this length publishes its single elements.
    bool publishes_singles() const { return pair_prefix == 0 || single_indexed_partners; }
  };
  // Whether a candidate of this length probes by single elements alone (its 2-prefix is too
  // long, or its overlap may be 1); false where it cannot match anything.
  bool probes_singles_alone(uint32_t length) const;
  Layout layout(uint32_t length) const;
  Layout compute_layout(uint32_t length) const;
  static constexpr uint32_t kCachedLayouts = 257;  // as many as LengthBounds caches
  std::vector<Layout> layouts_;
  // Calls visit(key, position, set) for every signature of an entry.
  template <typename Visit>
  void for_each_signature(const uint64_t* keys, uint32_t length, const Layout& layout, Visit&& visit) const;

  LengthBounds bounds_;
  // Shared with chunk indexes, which must order tokens the same way.
  std::shared_ptr<const std::vector<uint32_t>> rank_ = std::make_shared<std::vector<uint32_t>>();
  uint32_t rare_below_ = 0x80000000u;  // ranked tokens below this are rare (see is_rare); set with rank_
  uint64_t ranking_version_ = 0;
  // (The per-entry arrays grow with the pool without being copied: see HugeArray.)
  HugeArray<uint64_t> elements_;           // every indexed entry's elements, at its token offset
  // Per entry, its sketch (see sketch_of) and length side by side: a probe checks both for each
  // posting that survives its filter, and one cache line for both costs less than two.
  struct EntrySketch {
    uint64_t sketch;
    uint32_t length;
  };
  HugeArray<EntrySketch> sketches_;
  // Long entries also get a wide sketch (about 4 bits per element): with hundreds of elements the
  // 64-bit one is all ones, while the wide one still bounds the overlap of unrelated texts far
  // below what a match needs, sparing the exact overlap count.
  HugeArray<uint64_t> wide_words_;   // every long entry's wide sketch, back to back
  HugeArray<uint64_t> wide_starts_;  // per indexed entry: where its wide sketch starts (+1 end)
  // The lists of committed entries, split by key into shards that workers fill in parallel (the
  // low bits of a key pick its shard in every table set).
  static constexpr size_t kShards = 16;
  static constexpr size_t kParallelFrom = 2048;  // fewer entries than this are indexed on one thread
  std::array<std::array<SignatureTable, kShards>, kTableSets> tables_;  // [TableSet][shard]
  bool split_pairs_ = true;  // whether long pair lists are split (not in short-lived chunk indexes)
  bool publish_pairs_ = true;  // whether entries publish element pairs (see build_with_ranking_of)
  size_t indexed_ = 0;
  // Length range of the entries ever indexed (bounds, also after truncate): a probe only needs
  // the partner lengths inside it, which shortens its prefix and skips lists it cannot match.
  uint32_t longest_ = 0;
  uint32_t shortest_ = UINT32_MAX;
  // Indexed entries per length class: [0] single-indexed ones, [1] pair-indexed ones that also
  // publish their single elements.
  static constexpr uint32_t kLengthClasses = 125;
  std::array<std::array<uint64_t, kLengthClasses>, 2> class_population_{};
  // Every indexed entry by length class, in entry order, for probes that visit entries directly.
  struct Member {
    uint32_t entry;
    uint32_t length;
  };
  std::array<std::vector<Member>, kLengthClasses> members_;
  static std::vector<Member>::const_iterator first_member(const std::vector<Member>& members, size_t from) {
    return std::lower_bound(members.begin(), members.end(), from,
                            [](const Member& member, size_t entry) { return member.entry < entry; });
  }
  // Whether a fresh ranking would pick markedly rarer prefixes for the newest entries and `sample`.
  bool ranking_is_stale(const TokenSequences& entries, const TokenSequences& sample,
                        const std::vector<uint32_t>& fresh_rank, const std::vector<uint32_t>& frequency) const;
  size_t built_at_ = 0;
  size_t next_check_ = 0;  // pool size at which ranking_check_due() says yes
  bool built_ = false;
};

}  // namespace selfinstruct::detail

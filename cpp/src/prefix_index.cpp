#include "selfinstruct/detail/prefix_index.hpp"

#include <algorithm>
#include <numeric>

#include "selfinstruct/detail/bits.hpp"
#include "selfinstruct/detail/parallel.hpp"
#include "selfinstruct/detail/posting_filter.hpp"
#include "selfinstruct/detail/signatures.hpp"
#include "selfinstruct/score.hpp"

namespace selfinstruct::detail {
namespace {
constexpr size_t kFirstRebuild = 1024;
constexpr size_t kRebuildGrowth = 4;
// Newest entries sampled (with the incoming candidates) to judge whether the token ranking is stale.
constexpr size_t kStaleSample = 8192;
constexpr double kStaleTolerance = 1.1;
// A token is rare (see PrefixIndex::is_rare) when the ranking counted it at most once per this
// many texts: its list then holds about one entry per this many entries the pool gains. (On the
// 1M stream, 4,096 and 16,384 measured within noise of this, while new tokens were rare too;
// see bench/RESULTS.md, session 14.)
constexpr size_t kRareEvery = 8192;
// ... and at most this many times, so that a large pool's rare lists stay short (a rare list of
// a few hundred postings costs as much as the pair lookups it replaces).
constexpr size_t kRareAtMost = 32;
// A ranking check rebuilds the index when the tokens the present ranking holds rare now occur
// more often than this on average (in the prefixes of the sampled texts): a stream that keeps
// its vocabulary keeps its ranking, but its rare lists grow with the pool.
constexpr double kRareGrownTo = 128;

// Single-element signatures carry the entry's length class (a quarter octave), so a probe only
// reads the lists of the few classes its partner lengths span.
inline uint64_t single_key(Signature kind, uint64_t element, uint32_t length_class) {
  return mix(mix(element * 4 + kind) + length_class);
}
inline uint32_t length_class(uint32_t m) {
  if (m < 4) return m;
  const uint32_t octave = 31 - static_cast<uint32_t>(__builtin_clz(m));
  return 4 * octave - 4 + ((m >> (octave - 2)) & 3);
}
// Direct visits replace list scans when the lists hold more than this many postings per entry
// of the partner lengths.
constexpr size_t kDirectFactor = 2;
// The shortest length of a class (classes 0..3 are the lengths 0..3).
inline uint64_t class_first(uint32_t length_class) {
  if (length_class < 4) return length_class;
  const uint32_t octave = (length_class + 4) / 4;
  return uint64_t{4 + length_class % 4} << (octave - 2);
}
// A pair's list starts with every entry length: most pairs are rare, and one lookup per pair (the
// posting filters reject the lengths that cannot match) beats one per length bucket.
// Once a pair's list passes kSplitAt postings, it is split into lists by entry length bucket, so
// a probe only reads the lengths that can match. (Each lookup of a bucket list costs a cache miss
// or two: buckets of 4 lengths, with the pairs that only shorter partners can use in the same
// list, read 19% more postings than buckets of 3 with those pairs apart, and a probe 11% less
// time on one thread; see docs/admission_index.md.)
constexpr uint32_t kSplitAt = 48;
// Partner lengths a layout looks through for one probed by single elements before it assumes one
// (at thresholds near 0 the partner range is vast, and nearly every length is such a one).
constexpr uint64_t kPartnerLengthsTried = 1u << 16;
constexpr uint32_t kLengthBucket = 4;
// Derived from what identifies the pair's slot (fingerprint and shard), so pairs that share a
// slot also share its bucket lists; the shard bits stay, so a bucket list lives in its pair's shard.
// A table slot is chosen by the fingerprint's low bits, so consecutive fingerprints put a pair's
// bucket lists in consecutive slots: the lookups of a probe's few buckets share a cache line or two.
inline uint64_t split_key(uint64_t pair, uint32_t length, uint64_t shard_mask) {
  const uint32_t print = SignatureTable::fingerprint(pair) + length / kLengthBucket + 1;
  return (uint64_t{print} << 32) | (pair & shard_mask);
}

// Wide sketches: a power-of-two number of 64-bit words, about 4 bits per element, for entries of
// at least kWideFrom elements. Bit (mix(key) >> 6) mod width: a sketch folds exactly onto any
// smaller power-of-two width by OR-ing its halves, so candidates compare at the entry's width.
constexpr uint32_t kWideFrom = 128;
constexpr uint32_t kWideMaxWords = 128;
uint32_t wide_words_for(uint32_t length) {
  if (length < kWideFrom) return 0;
  uint32_t words = 8;
  while (words < kWideMaxWords && words * 64 < 4 * length) words *= 2;
  return words;
}
void wide_sketch(const uint64_t* keys, uint32_t n, uint32_t words, uint64_t* out) {
  std::fill(out, out + words, 0);
  const uint64_t bits = uint64_t{words} * 64;
  for (uint32_t k = 0; k < n; ++k) {
    const uint64_t bit = (mix(keys[k]) >> 6) & (bits - 1);
    out[bit / 64] |= uint64_t{1} << (bit % 64);
  }
}
// popcount(a & ~b) over `words` words. On x86-64 a copy with the POPCNT instruction is chosen
// at load time where the CPU has it (the portable build cannot assume it; this loop is hot).
// Stops early once the count exceeds `limit` (words is a multiple of 8).
SELFINSTRUCT_POPCNT_CLONES
uint32_t missing_bits(const uint64_t* a, const uint64_t* b, uint32_t words, uint32_t limit) {
  uint32_t count = 0;
  for (uint32_t block = 0; block < words; block += 8) {
    for (uint32_t w = block; w < block + 8; ++w) count += static_cast<uint32_t>(__builtin_popcountll(a[w] & ~b[w]));
    if (count > limit) return count;
  }
  return count;
}
// Sorts a probe's survivors or a text's elements: usually a handful or a dozen, where
// std::sort's set-up costs more than the sort itself.
template <typename T>
void sort_few(T* items, size_t count) {
  if (count > 32) {
    std::sort(items, items + count);
    return;
  }
  for (size_t k = 1; k < count; ++k) {
    const T item = items[k];
    size_t hole = k;
    for (; hole > 0 && items[hole - 1] > item; --hole) items[hole] = items[hole - 1];
    items[hole] = item;
  }
}
}  // namespace

bool PrefixIndex::ranking_check_due(size_t entries, size_t incoming) const {
  if (!built_) return true;
  return entries + incoming >= next_check_;
}

bool PrefixIndex::rebuild_if_stale(const TokenSequences& entries, const TokenSequences& sample,
                                   size_t vocabulary_size, int threads) {
  std::vector<uint32_t> frequency(vocabulary_size, 0);
  for (const TokenSequences* source : {&entries, &sample}) {
    for (size_t i = 0; i < source->size(); ++i) {
      const uint32_t* tokens = source->data(i);
      for (uint32_t k = 0; k < source->length(i); ++k) ++frequency[tokens[k]];
    }
  }
  std::vector<uint32_t> order(vocabulary_size);
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return frequency[a] < frequency[b]; });
  auto rank = std::make_shared<std::vector<uint32_t>>(vocabulary_size, 0);
  for (uint32_t position = 0; position < vocabulary_size; ++position) (*rank)[order[position]] = 0x80000000u + position;
  const size_t grown = entries.size() + sample.size();
  if (built_ && !ranking_is_stale(entries, sample, *rank, frequency)) {
    // The present ranking picks prefixes about as rare as a fresh one would: re-indexing every
    // entry would cost more than it saves. Look again once the pool has doubled.
    next_check_ = 2 * grown;
    return false;
  }
  rank_ = std::move(rank);
  const size_t rare_limit = std::min(grown / kRareEvery, kRareAtMost);
  const auto rare_tokens = static_cast<uint32_t>(
      std::upper_bound(order.begin(), order.end(), rare_limit,
                       [&](size_t limit, uint32_t token) { return limit < frequency[token]; }) - order.begin());
  rare_below_ = 0x80000000u + rare_tokens;
  ++ranking_version_;
  reset();
  // Posting space is reserved for the pool's next fourfold growth: untouched reserved pages cost
  // no memory. (When a check then keeps this ranking, the arenas grow past it by moving pages.)
  // Which pairs get split is not known in advance: room for a fair share, the rest grows (a
  // frequent pair's postings share one key).
  const SignatureCounts signatures = signatures_of(entries);
  size_tables({signatures.singles, signatures.pairs / 2, signatures.pairs / 16, signatures.singles / 4},
              {kRebuildGrowth * signatures.singles, kRebuildGrowth * signatures.pairs, kRebuildGrowth * signatures.pairs / 2,
               kRebuildGrowth * signatures.singles / 4});
  add_pending(entries, threads);
  built_at_ = entries.size();
  next_check_ = std::max(kFirstRebuild, kRebuildGrowth * built_at_);
  built_ = true;
  return true;
}

bool PrefixIndex::ranking_is_stale(const TokenSequences& entries, const TokenSequences& sample,
                                   const std::vector<uint32_t>& fresh_rank, const std::vector<uint32_t>& frequency) const {
  // A probe reads about as many postings as the prefix elements of the texts it meets occur in
  // the pool, and the ranking decides which elements make the prefixes. So both rankings are
  // scored by the summed frequency of the prefix elements they pick, over the newest entries
  // and the incoming candidates (the texts the index is about to meet).
  std::vector<uint64_t> elements;
  uint64_t present = 0, fresh = 0, rare_seen = 0, rare_frequency = 0;
  const auto score = [&](const uint32_t* tokens, uint32_t n) {
    const Layout shape = layout(n);
    const uint32_t prefix = std::min(n, std::max(shape.single_prefix, shape.pair_prefix));
    if (prefix == 0) return;
    elements.resize(n);
    for (const bool use_fresh : {false, true}) {
      for (uint32_t k = 0; k < n; ++k) {
        const uint32_t token = tokens[k];
        const uint32_t rank = use_fresh ? fresh_rank[token] : rank_of(token);
        elements[k] = (static_cast<uint64_t>(rank) << 32) | k;
      }
      std::partial_sort(elements.begin(), elements.begin() + prefix, elements.end());
      uint64_t cost = 0;
      for (uint32_t k = 0; k < prefix; ++k) {
        const uint32_t count = frequency[tokens[static_cast<uint32_t>(elements[k])]];
        cost += count;
        if (!use_fresh && is_rare(elements[k])) {
          ++rare_seen;
          rare_frequency += count;
        }
      }
      (use_fresh ? fresh : present) += cost;
    }
  };
  const size_t newest = std::min(entries.size(), kStaleSample);
  for (size_t i = entries.size() - newest; i < entries.size(); ++i) score(entries.data(i), entries.length(i));
  for (size_t i = 0; i < sample.size(); ++i) score(sample.data(i), sample.length(i));
  // Staleness pays for a rebuild once it adds about a tenth to the postings read (a rebuild costs
  // about as much as indexing the pool once; the pool grows by half again before the next look).
  // So do rare lists grown long (see kRareGrownTo).
  if (rare_seen > 0 && static_cast<double>(rare_frequency) > kRareGrownTo * static_cast<double>(rare_seen)) return true;
  return static_cast<double>(present) > kStaleTolerance * static_cast<double>(fresh);
}

PrefixIndex::SignatureCounts PrefixIndex::signatures_of(const TokenSequences& entries) const {
  size_t singles = 0, pairs = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Layout shape = layout(entries.length(i));
    singles += shape.single_prefix;
    if (publish_pairs_) pairs += size_t{shape.pair_prefix} * (shape.pair_prefix - (shape.pair_prefix > 0)) / 2;
  }
  return {singles, pairs};
}

bool PrefixIndex::holds_single_indexed() const {
  return std::any_of(class_population_[0].begin(), class_population_[0].end(), [](uint64_t count) { return count > 0; });
}

void PrefixIndex::size_tables(const std::array<size_t, kTableSets>& keys, const std::array<size_t, kTableSets>& postings) {
  for (size_t set = 0; set < tables_.size(); ++set) {
    for (SignatureTable& shard : tables_[set]) {
      shard.clear(keys[set] / kShards);
      shard.reserve_postings(postings[set] / kShards);
    }
  }
}

void PrefixIndex::reset() {
  for (auto& set : tables_) {
    for (SignatureTable& shard : set) shard.release();
  }
  forget_entries();
}

void PrefixIndex::forget_entries() {
  sketches_.clear();
  wide_words_.clear();
  wide_starts_.clear();
  elements_.clear();
  for (auto& populations : class_population_) populations.fill(0);
  for (auto& members : members_) members.clear();
  indexed_ = 0;
  longest_ = 0;
  shortest_ = UINT32_MAX;
  built_ = false;
}

void PrefixIndex::build_with_ranking_of(const PrefixIndex& other, const TokenSequences& entries, int threads,
                                        bool pairs) {
  forget_entries();
  rank_ = other.rank_;
  rare_below_ = other.rare_below_;
  ++ranking_version_;
  split_pairs_ = false;  // lists over one chunk stay short
  publish_pairs_ = pairs;
  // Each shard is sized once for these entries; a table of the same size as last time is only
  // emptied, not reallocated, so a stream of similar chunks reuses one set of tables.
  // Room for every pair: within one chunk, most pairs are distinct, and none are split.
  const SignatureCounts signatures = signatures_of(entries);
  size_tables({signatures.singles, signatures.pairs, 0, pairs ? signatures.singles : 0},
              {signatures.singles, signatures.pairs, 0, pairs ? signatures.singles : 0});
  built_ = true;
  add_pending(entries, threads);
}

void PrefixIndex::elements_of(const uint32_t* tokens, uint32_t n, uint64_t* out) const {
  for (uint32_t k = 0; k < n; ++k) out[k] = static_cast<uint64_t>(rank_of(tokens[k])) << 32;
  sort_few(out, n);
  for (uint32_t k = 1; k < n; ++k) {
    if ((out[k] >> 32) == (out[k - 1] >> 32)) out[k] = out[k - 1] + 1;
  }
}

void PrefixIndex::elements_of_all(const TokenSequences& texts, int threads, std::vector<uint64_t>& out) const {
  out.resize(texts.offset(texts.size()));
  parallel_for(texts.size(), texts.size() < kParallelFrom ? 1 : threads, 1024, [&](size_t begin, size_t end, int) {
    for (size_t i = begin; i < end; ++i) elements_of(texts.data(i), texts.length(i), out.data() + texts.offset(i));
  });
}

PrefixIndex::PrefixIndex(double threshold) : bounds_(threshold) {
  // Probes filter every posting on its own, so a list's order is free: pair lists keep theirs by
  // entry length and split lists by prefix position, so that a probe reads only the lengths its
  // prefix position has room for, and the positions its partner lengths allow. (Single-element
  // lists span whole length classes of long texts, where neither order narrows much.)
  for (SignatureTable& shard : tables_[kPairLists]) shard.keep_sorted_by(SignatureTable::Order::kLength);
  for (SignatureTable& shard : tables_[kSplitPairLists]) shard.keep_sorted_by(SignatureTable::Order::kPosition);
  for (SignatureTable& shard : tables_[kRareLists]) shard.keep_sorted_by(SignatureTable::Order::kLength);
  layouts_.reserve(kCachedLayouts);
  for (uint32_t length = 0; length < kCachedLayouts; ++length) layouts_.push_back(compute_layout(length));
}

PrefixIndex::Layout PrefixIndex::layout(uint32_t length) const {
  return length < layouts_.size() ? layouts_[length] : compute_layout(length);
}

PrefixIndex::Layout PrefixIndex::compute_layout(uint32_t length) const {
  Layout out;
  const uint32_t alpha = bounds_.min_overlap(length);
  if (alpha == LengthBounds::kNone || alpha > length) return out;
  out.single_prefix = length - alpha + 1;
  if (alpha >= 2 && length - alpha + 2 <= kMaxPairPrefix) out.pair_prefix = length - alpha + 2;
  if (out.pair_prefix > 0 && length < kCachedLayouts) {
    // (Longer pair-indexed lengths, only at thresholds near 1, keep the safe default: publish.)
    uint32_t first = 1, last = 0;
    bounds_.partner_range(length, first, last);
    out.single_indexed_partners = false;
    for (uint64_t n = first, tried = 0; n <= last && !out.single_indexed_partners; ++n, ++tried) {
      out.single_indexed_partners = tried >= kPartnerLengthsTried || probes_singles_alone(static_cast<uint32_t>(n));
    }
  }
  return out;
}

bool PrefixIndex::probes_singles_alone(uint32_t length) const {
  const uint32_t alpha = bounds_.min_overlap(length);
  if (alpha == LengthBounds::kNone || alpha > length) return false;
  return alpha < 2 || length - alpha + 2 > kMaxPairPrefix;
}

// Entries: pair-indexed ones publish the rare elements of their 1-prefix alone and the pairs of
// their 2-prefix that start with another element (with their length; see is_rare), and, for long or
// overlap-1 candidates, their 1-prefix as kSingleOfPaired; the others their 1-prefix as kSingle.
template <typename Visit>
void PrefixIndex::for_each_signature(const uint64_t* keys, uint32_t length, const Layout& shape, Visit&& visit) const {
  const bool paired = shape.pair_prefix > 0;
  if (paired && publish_pairs_) for_each_pair_signature(keys, shape.pair_prefix, visit);
  if (!shape.publishes_singles()) return;  // no candidate reads them
  const uint32_t own_class = length_class(length);
  for (uint32_t i = 0; i < shape.single_prefix; ++i) {
    visit(single_key(paired ? kSingleOfPaired : kSingle, keys[i], own_class), i, kSingleLists);
  }
}

void PrefixIndex::prepare(const TokenSequences& entries, size_t to, int threads, const uint64_t* known_elements) {
  const size_t from = indexed_;
  if (wide_starts_.empty()) wide_starts_.push_back(0);
  for (size_t entry = from; entry < to; ++entry) {
    const uint32_t m = entries.length(entry);
    longest_ = std::max(longest_, m);
    shortest_ = std::min(shortest_, m);
    const Layout shape = layout(m);
    if (shape.publishes_singles()) ++class_population_[shape.pair_prefix > 0 ? 1 : 0][length_class(m)];
    members_[length_class(m)].push_back(Member{static_cast<uint32_t>(entry), m});
    wide_starts_.push_back(wide_starts_.back() + wide_words_for(m));
  }
  elements_.resize(entries.offset(to));
  sketches_.resize(to);
  wide_words_.resize(wide_starts_.back());
  parallel_for(to - from, to - from < kParallelFrom ? 1 : threads, 4096, [&](size_t begin, size_t end, int) {
    for (size_t entry = from + begin; entry < from + end; ++entry) {
      const uint32_t m = entries.length(entry);
      uint64_t* keys = elements_.data() + entries.offset(entry);
      if (known_elements != nullptr) {
        std::copy_n(known_elements + (entries.offset(entry) - entries.offset(from)), m, keys);
      } else {
        elements_of(entries.data(entry), m, keys);
      }
      sketches_[entry] = EntrySketch{sketch_of(keys, m), m};
      const auto words = static_cast<uint32_t>(wide_starts_[entry + 1] - wide_starts_[entry]);
      if (words > 0) wide_sketch(keys, m, words, wide_words_.data() + wide_starts_[entry]);
    }
  });
  indexed_ = to;
}

Posting PrefixIndex::posting_of(size_t entry, uint32_t length, uint32_t position) const {
  return Posting{static_cast<uint32_t>(entry), static_cast<uint16_t>(std::min<uint32_t>(length, Posting::kSaturated)),
                 static_cast<uint16_t>(std::min<uint32_t>(position, Posting::kSaturated)), fold(sketches_[entry].sketch)};
}

void PrefixIndex::publish(const TokenSequences& entries, size_t from, size_t to, int threads) {
  if (from >= to) return;
  // Two passes per slice of entries: workers hash contiguous parts of the slice into one bucket
  // per shard, then each shard takes its buckets in part order. Every list receives its postings
  // in entry order, no two workers touch one table, and each signature is hashed once.
  const size_t parts = to - from < kParallelFrom ? 1 : std::clamp<size_t>(static_cast<size_t>(threads), 1, kShards);
  auto& buckets = publish_buckets_;
  buckets.resize(parts * kShards);
  try {
    for (size_t slice = from; slice < to; slice += kPublishSlice) {
      const size_t slice_end = std::min(to, slice + kPublishSlice), per_part = (slice_end - slice + parts - 1) / parts;
      parallel_for(parts, static_cast<int>(parts), 1, [&](size_t begin, size_t end, int) {
        for (size_t part = begin; part < end; ++part) {
          std::vector<PendingPush>* mine = buckets.data() + part * kShards;
          for (size_t shard = 0; shard < kShards; ++shard) mine[shard].clear();
          const size_t first = slice + part * per_part, last = std::min(slice_end, first + per_part);
          for (size_t entry = first; entry < last; ++entry) {
            const uint32_t m = entries.length(entry);
            for_each_signature(elements_.data() + entries.offset(entry), m, layout(m),
                               [&](uint64_t key, uint32_t position, TableSet set) {
                                 mine[key & (kShards - 1)].push_back(PendingPush{key, posting_of(entry, m, position), set});
                               });
          }
        }
      });
      parallel_for(kShards, static_cast<int>(parts), 1, [&](size_t begin, size_t end, int) {
        for (size_t shard = begin; shard < end; ++shard) {
          // Pushes go through a short queue: a key's slot is prefetched when it is queued, its
          // list's header half way and the list's tail (where the posting goes) at three
          // quarters, so each push finds them in cache instead of waiting three times. A split
          // pair's bucket slot is prefetched half way instead, its list's header at three
          // quarters and its tail at seven eighths.
          constexpr size_t kAhead = 32;
          struct Queued {
            const PendingPush* item;
            uint64_t split_key;
            uint32_t head;
            bool split;  // seen split half way: split_key is its bucket list
          };
          Queued queue[kAhead];
          size_t queued = 0;
          SignatureTable& split_lists = tables_[kSplitPairLists][shard];
          const auto settle = [&](const Queued& next) {
            // (A pair seen unsplit may have been split since: push() handles that.)
            if (next.split) {
              split_lists.push(next.split_key, next.item->posting);
            } else {
              push(shard, *next.item, entries);
            }
          };
          for (size_t part = 0; part < parts; ++part) {
            for (const PendingPush& item : buckets[part * kShards + shard]) {
              tables_[item.set][shard].prefetch_slot(item.key);
              if (queued >= kAhead / 2) {
                Queued& half_way = queue[(queued - kAhead / 2) % kAhead];
                const SignatureTable& table = tables_[half_way.item->set][shard];
                half_way.head = table.head(half_way.item->key);
                if (half_way.head == SignatureTable::kSplit) {
                  half_way.split_key = split_key_of(half_way.item->key, half_way.item->posting, entries);
                  half_way.split = true;
                  split_lists.prefetch_slot(half_way.split_key);
                } else {
                  table.prefetch_list(half_way.head);
                }
              }
              if (queued >= 3 * kAhead / 4) {
                Queued& three_quarters = queue[(queued - 3 * kAhead / 4) % kAhead];
                if (three_quarters.split) {
                  three_quarters.head = split_lists.head(three_quarters.split_key);
                  split_lists.prefetch_list(three_quarters.head);
                } else {
                  tables_[three_quarters.item->set][shard].prefetch_tail(three_quarters.head);
                }
              }
              if (queued >= 7 * kAhead / 8) {
                const Queued& seven_eighths = queue[(queued - 7 * kAhead / 8) % kAhead];
                if (seven_eighths.split) split_lists.prefetch_tail(seven_eighths.head);
              }
              Queued& next = queue[queued % kAhead];
              if (queued >= kAhead) settle(next);
              next = {&item, 0, SignatureTable::kEnd, false};
              ++queued;
            }
          }
          for (size_t k = queued > kAhead ? queued - kAhead : 0; k < queued; ++k) settle(queue[k % kAhead]);
        }
      });
    }
  } catch (...) {
    reset();  // some shards hold the batch and some do not: start over at the next admission
    throw;
  }
}

uint64_t PrefixIndex::split_key_of(uint64_t pair, const Posting& posting, const TokenSequences& entries) const {
  const uint32_t length = posting.length == Posting::kSaturated ? entries.length(posting.entry) : posting.length;
  return split_key(pair, length, kShards - 1);
}

void PrefixIndex::push(size_t shard, const PendingPush& item, const TokenSequences& entries) {
  SignatureTable& table = tables_[item.set][shard];
  const uint32_t size = table.push(item.key, item.posting);
  if (item.set != kPairLists || !split_pairs_ || (size > 0 && size <= kSplitAt)) return;
  SignatureTable& split_lists = tables_[kSplitPairLists][shard];
  if (size == 0) {
    split_lists.push(split_key_of(item.key, item.posting, entries), item.posting);
  } else {
    table.split(item.key, [&](const Posting& moved) { split_lists.push(split_key_of(item.key, moved, entries), moved); });
  }
}

void PrefixIndex::add_pending(const TokenSequences& entries, int threads, const uint64_t* known_elements) {
  const size_t from = indexed_;
  prepare(entries, entries.size(), threads, known_elements);
  publish(entries, from, indexed_, threads);
}

void PrefixIndex::truncate(const TokenSequences& entries, size_t count) {
  while (indexed_ > count) {
    const size_t entry = indexed_ - 1;
    const uint32_t m = entries.length(entry);
    const uint64_t* keys = elements_.data() + entries.offset(entry);
    for_each_signature(keys, m, layout(m), [&](uint64_t key, uint32_t position, TableSet set) {
      SignatureTable& table = tables_[set][key & (kShards - 1)];
      const Posting posting = posting_of(entry, m, position);
      if (set == kPairLists && table.head(key) == SignatureTable::kSplit) {
        tables_[kSplitPairLists][key & (kShards - 1)].pop(split_key_of(key, posting, entries), posting);
      } else {
        table.pop(key, posting);
      }
    });
    const Layout shape = layout(m);
    if (shape.publishes_singles()) --class_population_[shape.pair_prefix > 0 ? 1 : 0][length_class(m)];
    members_[length_class(m)].pop_back();
    elements_.resize(entries.offset(entry));
    sketches_.pop_back();
    wide_starts_.pop_back();
    wide_words_.resize(wide_starts_.back());
    --indexed_;
  }
}

__attribute__((always_inline)) inline Match PrefixIndex::probe_body(const uint32_t* tokens, uint32_t n,
                                                                    const TokenSequences& entries, size_t before,
                                                                    ProbeScratch& scratch, std::vector<Match>* every,
                                                                    const uint64_t* elements) const {
  Match best;
  scratch.over_budget = false;
  const LengthBounds::QueryBounds& bounds = bounds_.for_length(n, scratch.bounds);
  const Layout shape = layout(n);
  if (shape.single_prefix == 0) return best;
  if (elements == nullptr) {
    scratch.elements.resize(n);
    elements_of(tokens, n, scratch.elements.data());
    elements = scratch.elements.data();
  }
  const uint64_t* keys = elements;
  const uint64_t sketch = sketch_of(keys, n);
  const uint32_t folded = fold(sketch);
  const auto table_of = [&](const Lookup& lookup) -> const SignatureTable& {
    return tables_[lookup.set][lookup.key & (kShards - 1)];
  };

  // Queues every entry of the list of `key` that may pass; `position` is the candidate side's
  // (last) element position, `slack` 1 for pairs (2-prefix) and 0 for singles (1-prefix).
  // Collect every signature first, then resolve them in passes so their cache misses overlap.
  auto& lookups = scratch.lookups;
  lookups.clear();
  const bool paired = shape.pair_prefix > 0;
  auto& partner_buckets = scratch.partner_buckets;
  partner_buckets.clear();
  if (paired && publish_pairs_) {
    // Pair-indexed partners: only pairs inside the pair-specific 2-prefix of some partner length.
    // Per length bucket (for split pair lists), its pairs reach as far as its loosest
    // (smallest-need) pair-indexed length allows.
    const uint32_t last_m = std::min(bounds.last, longest_);
    uint32_t reach = 0;
    for (uint32_t m = bounds.first; m <= last_m;) {
      const uint32_t bucket_end = std::min(last_m, (m / kLengthBucket + 1) * kLengthBucket - 1);
      const uint32_t bucket_first = m;
      uint32_t last_b = 0;
      for (; m <= bucket_end; ++m) {
        if (layout(m).pair_prefix == 0) continue;
        last_b = std::max(last_b, std::min(shape.pair_prefix - 1, n + 1 - bounds.need(m)));
      }
      if (last_b > 0) partner_buckets.push_back({bucket_first, bucket_end, last_b});
      reach = std::max(reach, last_b);
    }
    // Pair lists are sorted by entry length: a pair ending at candidate position b reads only the
    // partner lengths m whose overlap need(m) still fits after b (need(m) <= n + 1 - b).
    auto& longest = scratch.longest_partner;
    longest.assign(reach + 1, 0);
    for (uint32_t m = bounds.first; m <= last_m; ++m) {
      const uint32_t b = std::min(reach, n + 1 - bounds.need(m));
      longest[b] = std::max(longest[b], m);
    }
    for (uint32_t b = reach; b > 1; --b) longest[b - 1] = std::max(longest[b - 1], longest[b]);
    // The signatures an entry publishes, from the first reach + 1 elements (see is_rare): a rare
    // element alone at position i has room for the lengths a pair ending at i + 1 has.
    const uint32_t shortest = std::min<uint32_t>(bounds.first, Posting::kSaturated);
    for_each_pair_signature(keys, reach + 1, [&](uint64_t key, uint32_t position, TableSet set) {
      const bool alone = set == kRareLists;
      lookups.push_back({key, position, alone ? 0u : 1u, 0, set, shortest, longest[alone ? position + 1 : position]});
    });
  }
  // Single-element lists, one length class at a time, only classes holding entries of that kind.
  // The probe side may use the least overlap over the partner lengths of the class that are present
  // in the pool (the index side keeps the least over all lengths, for candidates still to come).
  const uint32_t lo = std::max(bounds.first, shortest_), hi = std::min(bounds.last, longest_);
  if (lo > hi) return best;
  const bool tabulate = hi - lo <= LengthBounds::kTableSpan;
  for (uint32_t c = length_class(lo); c <= length_class(hi); ++c) {
    const bool singles = class_population_[0][c] > 0, paired_singles = !paired && class_population_[1][c] > 0;
    if (!singles && !paired_singles) continue;
    uint32_t single_prefix = shape.single_prefix;
    if (tabulate) {
      const auto first_m = static_cast<uint32_t>(std::max<uint64_t>(lo, class_first(c)));
      const auto last_m = static_cast<uint32_t>(std::min<uint64_t>(hi, class_first(c + 1) - 1));
      uint32_t least = UINT32_MAX;
      for (uint32_t m = first_m; m <= last_m; ++m) least = std::min(least, bounds.need(m));
      if (least >= 1 && least <= n) single_prefix = std::min(single_prefix, n - least + 1);
    }
    for (uint32_t i = 0; i < single_prefix; ++i) {
      if (singles) lookups.push_back({single_key(kSingle, keys[i], c), i, 0, 0, kSingleLists});
      if (paired_singles) lookups.push_back({single_key(kSingleOfPaired, keys[i], c), i, 0, 0, kSingleLists});
    }
  }
  for (const Lookup& lookup : lookups) table_of(lookup).prefetch_slot(lookup.key);
  const size_t primary = lookups.size();
  for (size_t k = 0; k < primary; ++k) {
    Lookup& lookup = lookups[k];
    const SignatureTable& table = table_of(lookup);
    lookup.head = table.head(lookup.key);
    table.prefetch_list(lookup.head);
    if (lookup.head != SignatureTable::kSplit) continue;
    // A frequent pair: read only the bucket lists of partner lengths this pair position can match.
    const uint64_t pair = lookup.key;
    const uint32_t position = lookup.position;
    for (const PartnerBucket& bucket : partner_buckets) {
      if (position > bucket.last_position) continue;
      // Split lists are sorted by the entry's prefix position: read only the positions that
      // some length of the bucket with room after this pair allows (position + need(m) <= m + 1).
      uint32_t entry_reach = 0;
      for (uint32_t m = bucket.first_length; m <= bucket.last_length; ++m) {
        if (position + bounds.need(m) <= n + 1) entry_reach = std::max(entry_reach, m + 1 - bounds.need(m));
      }
      lookups.push_back({split_key(pair, bucket.last_length, kShards - 1), position, 1, 0, kSplitPairLists, 0, entry_reach});
      table_of(lookups.back()).prefetch_slot(lookups.back().key);
    }
  }
  for (size_t k = primary; k < lookups.size(); ++k) {
    Lookup& lookup = lookups[k];
    lookup.head = table_of(lookup).head(lookup.key);
    table_of(lookup).prefetch_list(lookup.head);
  }
  // Where the lists hold more postings than there are entries of the partner lengths to visit
  // (long texts, where no element is rare; low thresholds), visiting those entries directly is
  // cheaper and just as exact.
  const size_t to = std::min(before, indexed_);
  size_t postings = 0, in_range = 0;
  for (const Lookup& lookup : lookups) {
    postings += table_of(lookup).list_size(lookup.head);
    table_of(lookup).prefetch_postings(lookup.head);
  }
  for (uint32_t c = length_class(lo); c <= length_class(hi) && postings > kDirectFactor * in_range; ++c) {
    const std::vector<Member>& members = members_[c];
    in_range += static_cast<size_t>(first_member(members, to) - members.begin());
  }
  const bool direct = postings > kDirectFactor * in_range;
  // (Direct visits cost sketch checks only, bounded by the entries in range: no budget for them.)
  if (!direct && postings > scratch.posting_budget) {
    scratch.over_budget = true;
    return best;
  }
  if (direct) {
    lookups.clear();
    for (uint32_t c = length_class(lo); c <= length_class(hi); ++c) {
      const std::vector<Member>& members = members_[c];
      for (auto member = members.begin(); member != members.end() && member->entry < to; ++member) {
        ++scratch.probed;
        if (!bounds.admissible(member->length)) continue;
        const uint32_t need = bounds.need(member->length);
        if (!sketches_allow(sketch, n, sketches_[member->entry].sketch, member->length, need)) continue;
        scratch.touched.push_back(member->entry);
      }
    }
  }
  // The usual case: every partner length is tabulated and below the saturated length, so each
  // posting is judged without branches (which half of them pass is unpredictable) and the few
  // that pass every filter are made unique and checked against the full sketches afterwards.
  const bool branch_free = !direct && !bounds.any_length_needs_one && bounds.last < Posting::kSaturated &&
                           bounds.last - bounds.first < bounds.table.size();
  if (branch_free) {
    auto& passed = scratch.passed;
    if (passed.size() < postings) passed.resize(postings);
    uint32_t* out = passed.data();
    size_t kept = 0, examined = 0;
    const uint32_t first = bounds.first, span = bounds.last - bounds.first;
    const uint32_t* need_of = bounds.table.data();
    const bool wide = wide_posting_filter_enabled();
    for (const Lookup& lookup : lookups) {
      if (!SignatureTable::holds_list(lookup.head)) continue;
      const PostingFilter filter{first, span, need_of, to, n + lookup.slack - lookup.position, lookup.slack, n, folded};
      table_of(lookup).scan_range(lookup.head, lookup.low, lookup.high, [&](const Posting* items, uint32_t count) {
        kept += wide ? filter_postings_wide(items, count, filter, out + kept, examined)
                     : filter_postings_scalar(items, count, filter, out + kept, examined);
      });
    }
    scratch.probed += examined;
    // Few pass: they are sorted and made unique here instead of stamped in a table as large as
    // the pool, through which every probe's survivors would scatter.
    sort_few(out, kept);
    const size_t distinct = static_cast<size_t>(std::unique(out, out + kept) - out);
    // Their sketches are fetched first: in the loop below, a mispredicted branch would discard
    // the loads in flight, and each survivor would wait for its own.
    for (size_t k = 0; k < distinct; ++k) __builtin_prefetch(&sketches_[out[k]]);
    for (size_t k = 0; k < distinct; ++k) {
      const EntrySketch& entry = sketches_[out[k]];
      if (sketches_allow(sketch, n, entry.sketch, entry.length, bounds.need(entry.length))) scratch.touched.push_back(out[k]);
    }
  } else {
    if (scratch.stamp.size() < indexed_) scratch.stamp.resize(indexed_, 0);
    if (++scratch.epoch == 0) {
      std::fill(scratch.stamp.begin(), scratch.stamp.end(), 0);
      scratch.epoch = 1;
    }
    // Queues an entry that passed the posting filters, once per probe, if the full sketches allow.
    const auto queue_entry = [&](uint32_t entry, uint32_t m, uint32_t need) {
      if (scratch.stamp[entry] == scratch.epoch) return;
      if (!sketches_allow(sketch, n, sketches_[entry].sketch, m, need)) return;
      scratch.stamp[entry] = scratch.epoch;
      scratch.touched.push_back(entry);
    };
    for (const Lookup& lookup : lookups) {
      if (!SignatureTable::holds_list(lookup.head)) continue;
      table_of(lookup).scan(lookup.head, [&](const Posting& posting) {
        if (posting.entry >= to) return;  // indexed after `before`
        ++scratch.probed;
        const uint32_t m = posting.length == Posting::kSaturated ? entries.length(posting.entry) : posting.length;
        if (!bounds.admissible(m)) return;
        // The first one (or two) shared elements of a pair reaching overlap `need` lie in both
        // sides' pair-specific prefixes; a hit outside them is not such a first hit. (A saturated
        // position is a lower bound, so the test stays safe.)
        const uint32_t need = bounds.need(m);
        if (lookup.position + need > n + lookup.slack || posting.position + need > m + lookup.slack) return;
        // The folded sketches bound the overlap like the full ones, from the posting alone.
        if (!sketches_allow(folded, n, posting.sketch, m, need)) return;
        queue_entry(posting.entry, m, need);
      });
    }
  }

  // The candidate's wide sketch at each width a long entry can have, folded from the widest.
  const bool wide = wide_words_for(n) > 0;
  if (wide) {
    scratch.wide.resize(2 * kWideMaxWords);
    uint64_t* widest = scratch.wide.data() + kWideMaxWords;  // width w lives at offset w
    wide_sketch(keys, n, kWideMaxWords, widest);
    for (uint32_t words = kWideMaxWords / 2; words >= 8; words /= 2) {
      uint64_t* folded = scratch.wide.data() + words;
      const uint64_t* source = scratch.wide.data() + 2 * words;
      for (uint32_t w = 0; w < words; ++w) folded[w] = source[w] | source[w + words];
    }
  }
  bool pattern_ready = false;
  size_t verifications = 0;
  for (const uint32_t entry : scratch.touched) {
    const uint32_t m = sketches_[entry].length;  // (in cache: its sketch was just read)
    const uint32_t need = bounds.need(m);
    if (wide) {
      const uint32_t words = static_cast<uint32_t>(wide_starts_[entry + 1] - wide_starts_[entry]);
      if (words > 0) {
        // Each bit set on one side only stands for at least one element the other side lacks.
        const uint64_t* theirs = wide_words_.data() + wide_starts_[entry];
        const uint64_t* ours = scratch.wide.data() + words;
        if (missing_bits(ours, theirs, words, n - need) > n - need ||
            missing_bits(theirs, ours, words, m - need) > m - need) {
          continue;
        }
      }
    }
    if (++verifications > scratch.verify_budget) {
      scratch.over_budget = true;
      break;
    }
    ++scratch.verified;
    if (overlap(keys, n, elements_.data() + entries.offset(entry), m, need) < need) continue;
    if (!pattern_ready) {
      scratch.pattern.assign(tokens, n);
      pattern_ready = true;
    }
    ++scratch.lcs;
    const double score = rouge_f(scratch.pattern.lcs(entries.data(entry), m), m, n);
    if (every != nullptr && score > bounds_.threshold()) every->push_back(Match{score, static_cast<int64_t>(entry)});
    if (score > bounds_.threshold() &&
        (score > best.score || (score == best.score && static_cast<int64_t>(entry) < best.index))) {
      best.score = score;
      best.index = static_cast<int64_t>(entry);
    }
  }
  scratch.touched.clear();
  return best;
}

// The posting filters count bits: probe's body is compiled once with POPCNT and once without,
// here, in the only file that declares this struct (see SELFINSTRUCT_POPCNT_CLONES).
struct ProbeCopies {
  SELFINSTRUCT_POPCNT_CLONES static Match run(const PrefixIndex& index, const uint32_t* tokens, uint32_t n,
                                              const TokenSequences& entries, size_t before, ProbeScratch& scratch,
                                              std::vector<Match>* every, const uint64_t* elements) {
    return index.probe_body(tokens, n, entries, before, scratch, every, elements);
  }
};

Match PrefixIndex::probe(const uint32_t* tokens, uint32_t n, const TokenSequences& entries, size_t before,
                         ProbeScratch& scratch, std::vector<Match>* every, const uint64_t* elements) const {
  return ProbeCopies::run(*this, tokens, n, entries, before, scratch, every, elements);
}

}  // namespace selfinstruct::detail

// Matches among the pair-indexed candidates of one chunk, found by joining their pair signatures
// (sorted, not hashed into lists): within a chunk most pairs occur once, so building a list per
// pair and looking every candidate up in them cost more than the matching itself.
#pragma once
#include <cstdint>
#include <vector>

#include "selfinstruct/corpus.hpp"
#include "selfinstruct/detail/length_bounds.hpp"
#include "selfinstruct/lcs.hpp"

namespace selfinstruct::detail {

class PrefixIndex;

// What a candidate of the chunk takes part as (bits): a partner can be matched by later probers;
// a prober lists its earlier partners. Pair-indexed: the index publishes element pairs for its
// length (PrefixIndex::pair_prefix, worked out once per candidate by the caller: for lengths
// past the index's cache it costs a table of bounds).
enum JoinRole : uint8_t { kJoinPartner = 1, kJoinProber = 2, kJoinPairIndexed = 4 };

struct JoinMatch {
  uint32_t candidate;  // the prober
  uint32_t earlier;    // the partner before it in the chunk
  double score;
};

struct PairJoinResult {
  std::vector<JoinMatch> matches;    // sorted by candidate, then earlier
  std::vector<uint8_t> over_budget;  // per candidate: 1 where it gave up (its matches are left out)
  uint64_t probed = 0, verified = 0, lcs = 0;
};

// A share of the pairing work: the signatures words[begin, end) of a shard, each paired with the
// earlier members of its run; `run_first` is where the run of words[begin] starts.
struct PairTask {
  uint32_t shard, run_first, begin, end;
};

// Working memory of join_pairs, kept across chunks.
struct PairJoinScratch {
  std::vector<std::vector<uint64_t>> buckets;  // [part][shard]: packed signatures, in chunk order
  std::vector<std::vector<uint64_t>> shards;   // each shard's signatures, grouped by fingerprint
  std::vector<std::vector<uint64_t>> spare;    // [worker]: the radix sort's other half
  std::vector<uint64_t> sketches;              // per candidate
  std::vector<std::vector<uint32_t>> shared;   // [worker][candidate]: partner signatures it shares
  std::vector<uint32_t> cost;                  // per candidate: the sum over workers
  std::vector<std::vector<PairTask>> tasks;    // [shard]: its share of the pairing, cut by cost
  std::vector<PairTask> all_tasks;
  std::vector<std::vector<uint64_t>> found;    // [worker]: prober << 32 | partner, before checking
  std::vector<std::vector<JoinMatch>> matched; // [worker]
  std::vector<LengthBounds::QueryBounds> bounds;  // [worker]
  std::vector<LcsPattern> patterns;               // [worker]
};

// For every pair-indexed prober of `chunk` (roles per candidate),
// every such partner before it with F > threshold: the pairs sharing a signature, through the
// same exact bounds as a probe, then counted and scored. A prober that shares more than
// `shared_budget` signatures with partners, or needs more than `verify_budget` exact overlap
// counts, is marked over budget instead. Probers and partners that are not pair-indexed take
// no part: their matches go through single-element signatures (see PrefixIndex::probe).
// `elements`: every candidate's elements (PrefixIndex::elements_of), at its token offset.
void join_pairs(const PrefixIndex& index, const TokenSequences& chunk, const uint64_t* elements, const std::vector<uint8_t>& roles,
                size_t shared_budget, size_t verify_budget, int threads, PairJoinScratch& scratch,
                PairJoinResult& out);

}  // namespace selfinstruct::detail

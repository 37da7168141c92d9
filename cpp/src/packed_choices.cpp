// The lane-vector helpers pass vectors by value but are always inlined, so no call crosses the
// vector ABI that -Wpsabi warns about on a baseline (no AVX) build.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

#include "selfinstruct/detail/packed_choices.hpp"

#include <algorithm>
#include <cstring>

namespace selfinstruct::detail {

namespace {

template <typename Lane>
constexpr uint32_t kLanes = kVectorBytes / sizeof(Lane);

// Sets bit `bit` of lane `lane` (through a lane array, so the layout does not depend on endianness).
template <typename Lane>
void set_lane_bit(VectorBlock& block, uint32_t lane, uint32_t bit) {
  Lane lanes[kLanes<Lane>];
  std::memcpy(lanes, &block, kVectorBytes);
  lanes[lane] = static_cast<Lane>(lanes[lane] | (Lane{1} << bit));
  std::memcpy(&block, lanes, kVectorBytes);
}

// Fills `bucket` with `members` (choices of at most 8 * sizeof(Lane) tokens), kLanes per group.
// `group_of` and `record_of` are vocabulary-sized work arrays (group_of starts all kNoChoice).
template <typename Lane>
void build_bucket(const TokenSequences& choices, const std::vector<uint32_t>& members, std::vector<uint32_t>& group_of,
                  std::vector<uint32_t>& record_of, PackedChoices::Bucket& bucket) {
  constexpr uint32_t lanes = kLanes<Lane>;
  bucket.lane_bits = 8 * sizeof(Lane);
  bucket.groups = static_cast<uint32_t>((members.size() + lanes - 1) / lanes);
  if (bucket.groups == 0) return;
  bucket.members.assign(static_cast<size_t>(bucket.groups) * lanes, PackedChoices::kNoChoice);
  bucket.lengths.assign(bucket.members.size(), 0);
  bucket.used.assign(bucket.groups, VectorBlock{});
  // One record per (group, distinct token of the group), in group order.
  std::vector<uint32_t> record_tokens, record_groups;
  std::vector<VectorBlock> record_masks;
  size_t tokens = 0;
  for (const uint32_t choice : members) tokens += choices.length(choice);
  record_tokens.reserve(tokens);
  record_groups.reserve(tokens);
  record_masks.reserve(tokens);
  for (uint32_t group = 0; group < bucket.groups; ++group) {
    Lane used[lanes] = {};
    for (uint32_t lane = 0; lane < lanes; ++lane) {
      const size_t member = static_cast<size_t>(group) * lanes + lane;
      if (member >= members.size()) break;
      const uint32_t choice = members[member];
      const uint32_t length = choices.length(choice);
      const uint32_t* tokens = choices.data(choice);
      bucket.members[member] = choice;
      bucket.lengths[member] = static_cast<uint8_t>(length);
      used[lane] = length == 8 * sizeof(Lane) ? static_cast<Lane>(~Lane{0}) : static_cast<Lane>((Lane{1} << length) - 1);
      for (uint32_t i = 0; i < length; ++i) {
        const uint32_t token = tokens[i];
        if (group_of[token] != group) {
          group_of[token] = group;
          record_of[token] = static_cast<uint32_t>(record_tokens.size());
          record_tokens.push_back(token);
          record_groups.push_back(group);
          record_masks.push_back(VectorBlock{});
        }
        set_lane_bit<Lane>(record_masks[record_of[token]], lane, i);
      }
    }
    std::memcpy(&bucket.used[group], used, kVectorBytes);
  }
  for (const uint32_t token : record_tokens) group_of[token] = PackedChoices::kNoChoice;
  // Counting sort by token keeps each token's postings in group order. The starts cover only
  // the ids up to the bucket's largest, so a bucket of few choices stays small.
  uint32_t limit = 0;
  for (const uint32_t token : record_tokens) limit = std::max(limit, token + 1);
  bucket.token_limit = limit;
  bucket.token_starts.assign(static_cast<size_t>(limit) + 1, 0);
  for (const uint32_t token : record_tokens) ++bucket.token_starts[token + 1];
  for (size_t t = 0; t < limit; ++t) bucket.token_starts[t + 1] += bucket.token_starts[t];
  bucket.posting_groups.resize(record_tokens.size());
  bucket.posting_masks.resize(record_tokens.size());
  std::vector<uint32_t> fill(bucket.token_starts.begin(), bucket.token_starts.end() - 1);
  for (size_t r = 0; r < record_tokens.size(); ++r) {
    const uint32_t at = fill[record_tokens[r]]++;
    bucket.posting_groups[at] = record_groups[r];
    bucket.posting_masks[at] = record_masks[r];
  }
}

// The kernel of one lane width: every group's LCS state advanced by the query's tokens, then
// each lane's LCS turned into F.
template <typename Lane>
SELFINSTRUCT_DISPATCH void score_bucket(const PackedChoices::Bucket& bucket, const uint32_t* query, uint32_t n, VectorBlock* states, const FTable& f,
                                             double* row) {
  if (bucket.groups == 0) return;
  constexpr uint32_t lanes = kLanes<Lane>;
  const Lanes<Lane> ones = splat<Lane>(static_cast<Lane>(~Lane{0}));
  for (uint32_t group = 0; group < bucket.groups; ++group) store<Lane>(states[group], ones);
  const uint32_t* starts = bucket.token_starts.data();
  const uint32_t* groups = bucket.posting_groups.data();
  const VectorBlock* masks = bucket.posting_masks.data();
  for (uint32_t j = 0; j < n; ++j) {
    const uint32_t token = query[j];
    if (token >= bucket.token_limit) continue;  // in no choice of the bucket
    const uint32_t last = starts[token + 1];
    for (uint32_t p = starts[token]; p < last; ++p) {
      VectorBlock& state = states[groups[p]];
      const Lanes<Lane> v = load<Lane>(state);
      const Lanes<Lane> u = v & load<Lane>(masks[p]);
      store<Lane>(state, (v + u) | (v - u));
    }
  }
  // Locals, so the stores into `row` do not make the compiler reload them per lane.
  const uint32_t* members = bucket.members.data();
  const uint8_t* lengths = bucket.lengths.data();
  const VectorBlock* used = bucket.used.data();
  const double* f_values = f.data();
  for (uint32_t group = 0; group < bucket.groups; ++group) {
    const Lanes<Lane> matched = lane_popcount<Lane>(~load<Lane>(states[group]) & load<Lane>(used[group]));
    Lane lcs[lanes];
    std::memcpy(lcs, &matched, kVectorBytes);
    const size_t first = static_cast<size_t>(group) * lanes;
    for (uint32_t lane = 0; lane < lanes; ++lane) {
      const uint32_t choice = members[first + lane];
      if (choice == PackedChoices::kNoChoice) break;
      row[choice] = f_values[FTable::index(lengths[first + lane], static_cast<uint32_t>(lcs[lane]))];
    }
  }
}

}  // namespace

PackedChoices::PackedChoices(const TokenSequences& choices, size_t count, size_t vocabulary_size) {
  std::vector<uint32_t> members[4];
  for (size_t c = 0; c < count; ++c) {
    const uint32_t length = choices.length(c);
    if (!packs(length)) continue;
    const int bucket = length <= 8 ? 0 : length <= 16 ? 1 : length <= 32 ? 2 : 3;
    members[bucket].push_back(static_cast<uint32_t>(c));
  }
  std::vector<uint32_t> group_of(vocabulary_size, kNoChoice), record_of(vocabulary_size, 0);
  build_bucket<uint8_t>(choices, members[0], group_of, record_of, buckets_[0]);
  build_bucket<uint16_t>(choices, members[1], group_of, record_of, buckets_[1]);
  build_bucket<uint32_t>(choices, members[2], group_of, record_of, buckets_[2]);
  build_bucket<uint64_t>(choices, members[3], group_of, record_of, buckets_[3]);
}

void PackedChoices::score(const uint32_t* query, uint32_t n, Scratch& scratch, double* row) const {
  scratch.f.set_query_length(n);
  size_t groups = 0;
  for (const Bucket& bucket : buckets_) groups = std::max<size_t>(groups, bucket.groups);
  if (scratch.states.size() < groups) scratch.states.resize(groups);
  VectorBlock* states = scratch.states.data();
  score_bucket<uint8_t>(buckets_[0], query, n, states, scratch.f, row);
  score_bucket<uint16_t>(buckets_[1], query, n, states, scratch.f, row);
  score_bucket<uint32_t>(buckets_[2], query, n, states, scratch.f, row);
  score_bucket<uint64_t>(buckets_[3], query, n, states, scratch.f, row);
}

}  // namespace selfinstruct::detail

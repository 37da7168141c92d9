// What the prefix index and the pair join both compute from an entry's elements: signature keys,
// sketches, and the exact element overlap.
#pragma once
#include <algorithm>
#include <cstdint>

#include "selfinstruct/detail/bits.hpp"

namespace selfinstruct::detail {

enum Signature : uint64_t { kPair = 1, kSingle = 2, kSingleOfPaired = 3 };

inline uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBULL;
  x ^= x >> 31;
  return x;
}
// The key of an element pair (first before second in the element order).
inline uint64_t pair_key(uint64_t first, uint64_t second) { return mix(mix(first * 4 + kPair) ^ second); }
// The key of a rare element published alone (see PrefixIndex::is_rare).
inline uint64_t rare_key(uint64_t element) { return mix(mix(element * 4 + kSingle) ^ 0x9E3779B97F4A7C15ULL); }
// A 64-bit sketch: bit (hash(element) % 64) for each element. Bits set on one side only each
// stand for at least one element the other side lacks, which bounds the overlap.
inline uint64_t sketch_of(const uint64_t* keys, uint32_t n) {
  uint64_t bits = 0;
  for (uint32_t k = 0; k < n; ++k) bits |= uint64_t{1} << (mix(keys[k]) & 63);
  return bits;
}
inline uint32_t fold(uint64_t sketch) { return static_cast<uint32_t>(sketch) | static_cast<uint32_t>(sketch >> 32); }
// Whether two sketches (full or folded alike) allow an overlap of `need` between texts of n and
// m elements: each bit set on one side only stands for an element the other side lacks.
inline bool sketches_allow(uint64_t ours, uint32_t n, uint64_t theirs, uint32_t m, uint32_t need) {
  return popcount64(ours & ~theirs) + need <= n && popcount64(theirs & ~ours) + need <= m;
}

// Size of the intersection of two sorted key lists, stopping once `need` is out of reach.
inline uint32_t overlap(const uint64_t* a, uint32_t n, const uint64_t* b, uint32_t m, uint32_t need) {
  uint32_t i = 0, j = 0, common = 0;
  while (i < n && j < m) {
    if (common + std::min(n - i, m - j) < need) return common;
    if (a[i] == b[j]) {
      ++common;
      ++i;
      ++j;
    } else if (a[i] < b[j]) {
      ++i;
    } else {
      ++j;
    }
  }
  return common;
}

}  // namespace selfinstruct::detail

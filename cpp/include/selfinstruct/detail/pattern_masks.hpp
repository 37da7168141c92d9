// Token id -> match-mask rows for one pattern: a small open-addressing table (patterns have few
// distinct tokens, ids are up to 2^32).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace selfinstruct::detail {

class PatternMasks {
 public:
  // Sizes the table for `distinct_hint` distinct tokens and `words` 64-bit words per row.
  void reset(uint32_t distinct_hint, uint32_t words) {
    uint32_t capacity = 8;
    while (capacity < 2 * distinct_hint + 2) capacity <<= 1;
    keys_.assign(capacity, kEmpty);
    rows_.assign(capacity, 0);
    masks_.clear();
    words_ = words;
    mask_ = capacity - 1;
  }
  // The mask row of `token`, created zeroed if absent.
  uint64_t* row_for_insert(uint32_t token) {
    uint32_t slot = hash(token) & mask_;
    while (keys_[slot] != kEmpty && keys_[slot] != token) slot = (slot + 1) & mask_;
    if (keys_[slot] == kEmpty) {
      keys_[slot] = token;
      rows_[slot] = static_cast<uint32_t>(masks_.size() / words_);
      masks_.resize(masks_.size() + words_, 0);
    }
    return masks_.data() + static_cast<size_t>(rows_[slot]) * words_;
  }
  // The mask row of `token`, or nullptr when the pattern does not contain it.
  const uint64_t* find(uint32_t token) const {
    uint32_t slot = hash(token) & mask_;
    while (true) {
      const uint32_t key = keys_[slot];
      if (key == token) return masks_.data() + static_cast<size_t>(rows_[slot]) * words_;
      if (key == kEmpty) return nullptr;
      slot = (slot + 1) & mask_;
    }
  }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  static uint32_t hash(uint32_t token) { return static_cast<uint32_t>((token * 0x9E3779B97F4A7C15ULL) >> 32); }
  std::vector<uint32_t> keys_;
  std::vector<uint32_t> rows_;
  std::vector<uint64_t> masks_;
  uint32_t words_ = 1;
  uint32_t mask_ = 0;
};

}  // namespace selfinstruct::detail

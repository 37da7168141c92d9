// Token id -> row number for one pattern's distinct tokens: a small open-addressing table
// (patterns have few distinct tokens; ids are arbitrary 32-bit values, UINT32_MAX included).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace selfinstruct::detail {

class TokenRows {
 public:
  static constexpr uint32_t kAbsent = UINT32_MAX;

  // Empties the table and sizes it for `distinct_hint` distinct tokens.
  void reset(uint32_t distinct_hint) {
    uint32_t capacity = 8;
    while (capacity < 2 * static_cast<uint64_t>(distinct_hint) + 2) capacity <<= 1;
    slots_.assign(capacity, Slot{0, kAbsent});
    mask_ = capacity - 1;
    rows_ = 0;
  }
  uint32_t rows() const { return rows_; }
  // The row of `token`, numbered in first-insertion order.
  uint32_t insert(uint32_t token) {
    uint32_t slot = hash(token) & mask_;
    // The row field marks occupancy, so every token id (even UINT32_MAX) is a legal key.
    while (slots_[slot].row != kAbsent && slots_[slot].token != token) slot = (slot + 1) & mask_;
    if (slots_[slot].row == kAbsent) slots_[slot] = Slot{token, rows_++};
    return slots_[slot].row;
  }
  // The row of `token`, or kAbsent when the pattern does not contain it.
  uint32_t find(uint32_t token) const {
    uint32_t slot = hash(token) & mask_;
    while (true) {
      const Slot& entry = slots_[slot];
      if (entry.row == kAbsent) return kAbsent;
      if (entry.token == token) return entry.row;
      slot = (slot + 1) & mask_;
    }
  }

 private:
  struct Slot {
    uint32_t token;
    uint32_t row;
  };
  static uint32_t hash(uint32_t token) { return static_cast<uint32_t>((token * 0x9E3779B97F4A7C15ULL) >> 32); }
  std::vector<Slot> slots_;
  uint32_t mask_ = 0;
  uint32_t rows_ = 0;
};

}  // namespace selfinstruct::detail

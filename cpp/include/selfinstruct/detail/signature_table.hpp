// Inverted lists keyed by 64-bit signatures. Each list is a chain of blocks of doubling
// capacity in one arena, newest block first: appends are O(1), scans touch a few contiguous
// blocks instead of one cache line per posting, recent entries come first (so a scan for
// entries added after some point stops early), and the newest entry can be unlinked in O(1).
//
// A slot holds a 32-bit fingerprint of the key (its high half) beside the list head, so a lookup
// costs one cache miss. Two keys with the same fingerprint share one list: callers only read
// lists through exact filters, so a shared list costs a few extra postings, never a wrong answer.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace selfinstruct::detail {

// 12 bytes, so a scan can reject most postings without touching the entry itself.
struct Posting {
  static constexpr uint16_t kSaturated = UINT16_MAX;
  uint32_t entry;
  uint16_t length;    // the entry's token count, or kSaturated: read the count from the entry
  uint16_t position;  // the (last) element's position in the entry's elements, at most kSaturated
  uint32_t sketch;    // the entry's 64-bit sketch folded in half
};
static_assert(sizeof(Posting) == 12, "three words per posting");

class SignatureTable {
 public:
  static constexpr uint32_t kEnd = UINT32_MAX;

  SignatureTable() { clear(); }
  // Empties the table, keeping its memory for the next fill.
  void clear() {
    slots_.assign(1024, Slot{});
    used_ = 0;
    arena_.clear();
    postings_ = 0;
  }
  // Empties the table and returns its memory (a rebuild must not hold the old lists beside the new).
  void release() {
    std::vector<Slot>(1024).swap(slots_);
    used_ = 0;
    std::vector<uint32_t>().swap(arena_);
    postings_ = 0;
  }
  size_t postings() const { return postings_; }
  // Room for about `keys` distinct keys without rehashing.
  void reserve_keys(size_t keys) {
    while (4 * keys > 3 * slots_.size()) grow();
  }
  void reserve_postings(size_t postings) { arena_.reserve(arena_.size() + 3 * postings + postings / 2); }

  // Lookups in three steps so that a probe can overlap the cache misses of many keys:
  // prefetch_slot(key), then head(key) and prefetch_list(head), then scan(head, visit).
  void prefetch_slot(uint64_t key) const { __builtin_prefetch(slots_.data() + (fingerprint(key) & (slots_.size() - 1))); }
  uint32_t head(uint64_t key) const {
    const uint32_t print = fingerprint(key);
    for (size_t slot = print & (slots_.size() - 1);; slot = (slot + 1) & (slots_.size() - 1)) {
      if (slots_[slot].print == print) return slots_[slot].head;
      if (slots_[slot].print == 0) return kEnd;
    }
  }
  void prefetch_list(uint32_t head) const {
    if (head != kEnd) __builtin_prefetch(arena_.data() + head);
  }
  void prefetch_list_of(uint64_t key) const { prefetch_list(head(key)); }
  // How many postings the list starting at `head` holds.
  uint32_t list_size(uint32_t head) const {
    if (head == kEnd) return 0;
    const uint32_t word = arena_[head];
    return count_of(word) + (is_oldest(word) ? 0 : arena_[head + kBefore]);
  }
  // Calls visit(posting) newest first, from a list head, until it returns false.
  template <typename Visit>
  void scan(uint32_t head, Visit&& visit) const {
    for (uint32_t block = head; block != kEnd;) {
      const uint32_t* header = arena_.data() + block;
      const bool oldest = is_oldest(header[0]);
      const auto* items = reinterpret_cast<const Posting*>(header + (oldest ? kOldestHeader : kHeader));
      for (uint32_t k = count_of(header[0]); k > 0; --k) {
        if (!visit(items[k - 1])) return;
      }
      block = oldest ? kEnd : header[kNext];
    }
  }

  void push(uint64_t key, const Posting& posting) {
    if (4 * (used_ + 1) > 3 * slots_.size()) grow();
    const uint32_t print = fingerprint(key);
    Slot& slot = slots_[find_slot(print)];
    if (slot.print == 0) {
      slot.print = print;
      ++used_;
    }
    uint32_t block = slot.head;
    if (block == kEnd || count_of(arena_[block]) == capacity_of(arena_[block])) {
      // A list's first block holds one posting behind a one-word header (most lists never grow);
      // later blocks double up to 4,096 postings and link to the older ones.
      const bool oldest = block == kEnd;
      const uint32_t capacity = oldest ? 1 : std::min<uint32_t>(2 * capacity_of(arena_[block]), kMaxCapacity);
      const size_t needed = arena_.size() + (oldest ? kOldestHeader : kHeader) + 3 * static_cast<size_t>(capacity);
      if (needed >= kEnd) throw std::length_error("the pool index is full (2^32 posting slots)");
      const auto fresh = static_cast<uint32_t>(arena_.size());
      arena_.resize(needed);
      arena_[fresh] = (capacity << kCapacityShift) | (oldest ? kOldestFlag : 0);
      if (!oldest) {
        arena_[fresh + kNext] = block;
        arena_[fresh + kBefore] = list_size(block);
      }
      slot.head = block = fresh;
    }
    const uint32_t word = arena_[block];
    auto* items = reinterpret_cast<Posting*>(arena_.data() + block + (is_oldest(word) ? kOldestHeader : kHeader));
    items[count_of(word)] = posting;
    ++arena_[block];  // the count is the word's low bits
    ++postings_;
  }

  // Unlinks the newest posting of `key` (callers pop the newest entry's postings only).
  void pop(uint64_t key) {
    Slot& slot = slots_[find_slot(fingerprint(key))];
    const uint32_t block = slot.head;
    const uint32_t word = --arena_[block];
    if (count_of(word) == 0) slot.head = is_oldest(word) ? kEnd : arena_[block + kNext];
    --postings_;
  }

 private:
  struct Slot {
    uint32_t print = 0;  // 0 marks an empty slot
    uint32_t head = kEnd;
  };
  // Block header: one word (postings here in the low 16 bits, capacity above, and a flag for a
  // list's oldest block), then, except in the oldest block, the next (older) block and the
  // number of postings in older blocks.
  static constexpr uint32_t kNext = 1, kBefore = 2, kHeader = 3, kOldestHeader = 1;
  static constexpr uint32_t kCapacityShift = 16, kOldestFlag = 1u << 31, kMaxCapacity = 4096;
  static uint32_t count_of(uint32_t word) { return word & 0xFFFFu; }
  static uint32_t capacity_of(uint32_t word) { return (word & ~kOldestFlag) >> kCapacityShift; }
  static bool is_oldest(uint32_t word) { return (word & kOldestFlag) != 0; }
  static uint32_t fingerprint(uint64_t key) {
    const auto print = static_cast<uint32_t>(key >> 32);
    return print == 0 ? 1 : print;
  }
  size_t find_slot(uint32_t print) const {
    size_t slot = print & (slots_.size() - 1);
    while (slots_[slot].print != 0 && slots_[slot].print != print) slot = (slot + 1) & (slots_.size() - 1);
    return slot;
  }
  void grow() {
    if (slots_.size() >= (size_t{1} << 32)) throw std::length_error("the pool index is full (2^32 signatures)");
    std::vector<Slot> slots(slots_.size() * 2);
    for (const Slot& old : slots_) {
      if (old.print == 0) continue;
      size_t slot = old.print & (slots.size() - 1);
      while (slots[slot].print != 0) slot = (slot + 1) & (slots.size() - 1);
      slots[slot] = old;
    }
    slots_.swap(slots);
  }

  std::vector<Slot> slots_;
  size_t used_ = 0;
  std::vector<uint32_t> arena_;  // blocks: a header, then capacity postings
  size_t postings_ = 0;
};

}  // namespace selfinstruct::detail

// Inverted lists keyed by 64-bit signatures. Each list is a chain of blocks of doubling
// capacity in one arena, newest block first: appends are O(1), scans touch a few contiguous
// blocks instead of one cache line per posting, recent entries come first (so a scan for
// entries added after some point stops early), and the newest entry can be unlinked in O(1).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace selfinstruct::detail {

struct Posting {
  uint32_t entry;
  uint32_t length;    // the entry's token count
  uint32_t position;  // the (last) element's position in the entry's ordered elements
};

class SignatureTable {
 public:
  static constexpr uint32_t kEnd = UINT32_MAX;

  SignatureTable() { clear(); }
  void clear() {
    keys_.assign(1024, 0);
    heads_.assign(1024, kEnd);
    used_ = 0;
    arena_.clear();
    postings_ = 0;
  }
  size_t postings() const { return postings_; }

  // Lookups in three steps so that a probe can overlap the cache misses of many keys:
  // prefetch_slot(key), then head(key) and prefetch_list(head), then scan(head, visit).
  void prefetch_slot(uint64_t key) const { __builtin_prefetch(keys_.data() + (nonzero(key) & (keys_.size() - 1))); }
  uint32_t head(uint64_t key) const {
    key = nonzero(key);
    for (size_t slot = key & (keys_.size() - 1);; slot = (slot + 1) & (keys_.size() - 1)) {
      if (keys_[slot] == key) return heads_[slot];
      if (keys_[slot] == 0) return kEnd;
    }
  }
  void prefetch_list(uint32_t head) const {
    if (head != kEnd) __builtin_prefetch(arena_.data() + head);
  }
  // Calls visit(posting) newest first, from a list head, until it returns false.
  template <typename Visit>
  void scan(uint32_t head, Visit&& visit) const {
    for (uint32_t block = head; block != kEnd;) {
      const uint32_t* header = arena_.data() + block;
      const auto* items = reinterpret_cast<const Posting*>(header + kHeader);
      for (uint32_t k = header[kCount]; k > 0; --k) {
        if (!visit(items[k - 1])) return;
      }
      block = header[kNext];
    }
  }

  void push(uint64_t key, uint32_t entry, uint32_t length, uint32_t position) {
    if (4 * (used_ + 1) > 3 * keys_.size()) grow();
    key = nonzero(key);
    const size_t slot = find_slot(key);
    if (keys_[slot] == 0) {
      keys_[slot] = key;
      ++used_;
    }
    uint32_t block = heads_[slot];
    if (block == kEnd || arena_[block + kCount] == arena_[block + kCapacity]) {
      const uint32_t capacity = block == kEnd ? 1 : std::min<uint32_t>(2 * arena_[block + kCapacity], 4096);
      const size_t needed = arena_.size() + kHeader + 3 * static_cast<size_t>(capacity);
      if (needed >= kEnd) throw std::length_error("the pool index is full (2^32 posting slots)");
      const auto fresh = static_cast<uint32_t>(arena_.size());
      arena_.resize(arena_.size() + kHeader + 3 * static_cast<size_t>(capacity), 0);
      arena_[fresh + kNext] = block;
      arena_[fresh + kCapacity] = capacity;
      heads_[slot] = block = fresh;
    }
    auto* items = reinterpret_cast<Posting*>(arena_.data() + block + kHeader);
    items[arena_[block + kCount]++] = Posting{entry, length, position};
    ++postings_;
  }

  // Unlinks the newest posting of `key` (callers pop the newest entry's postings only).
  void pop(uint64_t key) {
    const size_t slot = find_slot(nonzero(key));
    const uint32_t block = heads_[slot];
    if (--arena_[block + kCount] == 0) heads_[slot] = arena_[block + kNext];
    --postings_;
  }

 private:
  static constexpr uint32_t kNext = 0, kCapacity = 1, kCount = 2, kHeader = 3;
  static uint64_t nonzero(uint64_t key) { return key == 0 ? 1 : key; }
  size_t find_slot(uint64_t key) const {
    size_t slot = key & (keys_.size() - 1);
    while (keys_[slot] != 0 && keys_[slot] != key) slot = (slot + 1) & (keys_.size() - 1);
    return slot;
  }
  void grow() {
    std::vector<uint64_t> keys(keys_.size() * 2, 0);
    std::vector<uint32_t> heads(keys.size(), kEnd);
    for (size_t i = 0; i < keys_.size(); ++i) {
      if (keys_[i] == 0) continue;
      size_t slot = keys_[i] & (keys.size() - 1);
      while (keys[slot] != 0) slot = (slot + 1) & (keys.size() - 1);
      keys[slot] = keys_[i];
      heads[slot] = heads_[i];
    }
    keys_.swap(keys);
    heads_.swap(heads);
  }

  std::vector<uint64_t> keys_;  // 0 marks an empty slot
  std::vector<uint32_t> heads_;
  size_t used_ = 0;
  std::vector<uint32_t> arena_;  // blocks: next, capacity, count, then capacity postings
  size_t postings_ = 0;
};

}  // namespace selfinstruct::detail

// Inverted lists keyed by 64-bit signatures, in one arena. A list is one contiguous block that
// doubles by moving (the vacated block is reused by the next list of that size), so a scan costs
// one cache miss and a sequential read instead of chasing a chain of small blocks; past 4,096
// postings, full blocks are chained newest first. A table keeps each block in the order its
// postings came (appends O(1) amortized) or sorted by one field (see Order), and unlinks the
// newest entry's posting. Long blocks sorted by position also count their postings per position
// (a run directory), so that an insert finds where each run starts without searching for it.
//
// A slot holds a 32-bit fingerprint of the key (its high half) beside the list head, so a lookup
// costs one cache miss. Two keys with the same fingerprint share one list: callers only read
// lists through exact filters, so a shared list costs a few extra postings, never a wrong answer.
#pragma once
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "selfinstruct/detail/huge_pages.hpp"

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

// Cache-line aligned: workers fill neighbouring tables (shards) at once, and each push writes its
// table's counters.
class alignas(64) SignatureTable {
 public:
  static constexpr uint32_t kEnd = UINT32_MAX;
  // The head of a key whose list the caller split into other lists (see split()).
  static constexpr uint32_t kSplit = UINT32_MAX - 1;
  static bool holds_list(uint32_t head) { return head < kSplit; }
  // Keys with the same fingerprint (and table) share one slot, so one list and one split state.
  static uint32_t fingerprint(uint64_t key) {
    const auto print = static_cast<uint32_t>(key >> 32);
    return print == 0 ? 1 : print;
  }

  SignatureTable() { clear(); }
  // How a table orders each block's postings. Readers filter every posting on its own, so any
  // order is correct; a sorted one lets a scan read only the postings whose sort field lies in
  // a range (see scan_range). Ties are in no particular order.
  enum class Order : uint8_t { kInsertion, kPosition, kLength };
  void keep_sorted_by(Order order) { order_ = order; }

  // Empties the table for about `keys` keys, keeping its memory where it is of that size.
  void clear(size_t keys = 0) {
    size_t size = 1024;
    while (4 * keys > 3 * size) size *= 2;
    if (slots_.size() == size) {
      std::fill(slots_.begin(), slots_.end(), Slot{});
    } else {
      Slots(size).swap(slots_);
    }
    used_ = 0;
    arena_.clear();
    free_.fill(kEnd);
    postings_ = 0;
  }
  // Empties the table and returns its memory (a rebuild must not hold the old lists beside the new).
  void release() {
    Slots(1024).swap(slots_);
    used_ = 0;
    arena_.release();
    free_.fill(kEnd);
    postings_ = 0;
  }
  size_t postings() const { return postings_; }
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
    if (holds_list(head)) __builtin_prefetch(arena_.data() + head);
  }
  // Once the list's header is in cache: prefetches the cache lines of its newest block after the
  // first, so that the scan does not wait on each of them in turn.
  void prefetch_postings(uint32_t head) const {
    if (!holds_list(head)) return;
    const uint32_t word = arena_[head];
    const uint32_t* items = arena_.data() + head + header_words(word);
    const uint32_t* end = items + 3 * std::min<uint32_t>(count_of(word), kPrefetchedPostings);
    prefetch_lines_after(arena_.data() + head, reinterpret_cast<const char*>(end) - 1);
  }
  // Once the list's header is in cache: prefetches where the next posting goes, and the posting
  // before it, which a sorted table compares it with. A short block is prefetched whole where a
  // push may read all of it: a sorted insert shifts the postings above the new one, and a full
  // block is copied to one twice its size (index step 5-7% shorter; engine A/Bs 0.99-1.05x).
  // A long block's run directory is prefetched too (see insert_by_directory).
  void prefetch_tail(uint32_t head) const {
    if (!holds_list(head)) return;
    const uint32_t word = arena_[head];
    const uint32_t* items = arena_.data() + head + header_words(word);
    const uint32_t count = count_of(word);
    if (count <= kShiftedInserts && (order_ != Order::kInsertion || count == capacity_of(word))) {
      prefetch_lines_after(arena_.data() + head, items + 3 * count + 2);
      return;
    }
    if (has_directory(word)) {
      const uint16_t* directory = directory_of(head);
      __builtin_prefetch(directory);
      __builtin_prefetch(directory + kDirectoryKeys - 1);
    }
    __builtin_prefetch(items + 3 * (count > 0 ? count - 1 : 0));
    __builtin_prefetch(items + 3 * count + 2);
  }
  // How many postings the list starting at `head` holds.
  uint32_t list_size(uint32_t head) const {
    if (!holds_list(head)) return 0;
    const uint32_t word = arena_[head];
    return count_of(word) + (is_oldest(word) ? 0 : arena_[head + kBefore]);
  }
  // Calls visit(postings, count) for each block of the list, newest block first; within a block
  // the newest posting is last.
  template <typename Visit>
  void scan_blocks(uint32_t head, Visit&& visit) const {
    for_each_block(head, [&](uint32_t block) { visit(items_of(block), count_of(arena_[block])); });
  }
  // Calls visit(posting) for every posting of the list, newest block first.
  template <typename Visit>
  void scan(uint32_t head, Visit&& visit) const {
    scan_blocks(head, [&](const Posting* items, uint32_t count) {
      for (uint32_t k = count; k > 0; --k) visit(items[k - 1]);
    });
  }

  // Appends to the key's list and returns the list's new size, or 0 (nothing appended) when the
  // key's list was split.
  uint32_t push(uint64_t key, const Posting& posting) {
    if (order_ == Order::kPosition && posting.position >= kDirectoryKeys) {
      throw std::logic_error("a position-sorted table holds positions below 32 only");
    }
    if (4 * (used_ + 1) > 3 * slots_.size()) grow();
    const uint32_t print = fingerprint(key);
    Slot& slot = slots_[find_slot(print)];
    if (slot.print == 0) {
      slot.print = print;
      ++used_;
    }
    uint32_t block = slot.head;
    if (block == kSplit) return 0;
    if (block == kEnd) {
      block = slot.head = allocate_oldest(0);
    } else if (count_of(arena_[block]) == capacity_of(arena_[block])) {
      const uint32_t word = arena_[block];
      if (is_oldest(word) && capacity_of(word) < kMaxCapacity) {
        // Move the list into a block twice the size and leave the old one for reuse.
        const uint32_t fresh = allocate_oldest(capacity_class(capacity_of(word)) + 1);
        std::copy_n(items_of(block), count_of(word), items_of(fresh));
        arena_[fresh] += count_of(word);
        if (has_directory(arena_[fresh])) {
          if (has_directory(word)) {
            std::copy_n(directory_of(block), kDirectoryKeys, directory_of(fresh));
          } else {
            index_runs(items_of(fresh), count_of(word), directory_of(fresh));
          }
        }
        free_block(block);
        block = slot.head = fresh;
      } else {
        // Past the largest block size, full blocks are chained, newest first.
        const uint32_t directory = directory_words(kMaxCapacity);
        const size_t needed = arena_.size() + kHeader + directory + 3 * size_t{kMaxCapacity};
        if (needed >= kEnd) throw std::length_error("the pool index is full (2^32 posting slots)");
        const auto fresh = static_cast<uint32_t>(arena_.size());
        arena_.resize(needed);
        arena_[fresh] = kMaxCapacity << kCapacityShift;
        arena_[fresh + kNext] = block;
        arena_[fresh + kBefore] = list_size(block);
        clear_directory(fresh);
        block = slot.head = fresh;
      }
    }
    const uint32_t word = arena_[block];
    if (has_directory(word)) {
      insert_by_directory(items_of(block), count_of(word), directory_of(block), posting);
    } else {
      insert(items_of(block), count_of(word), posting);
    }
    ++arena_[block];  // the count is the word's low bits
    ++postings_;
    return list_size(block);
  }

  // Hands the key's postings to take(posting), oldest first, frees its list and marks the key
  // split: from then on push() refuses it and head() returns kSplit. Lists of at most
  // kMaxCapacity postings only (one block).
  template <typename Take>
  void split(uint64_t key, Take&& take) {
    if (4 * (used_ + 1) > 3 * slots_.size()) grow();
    Slot& slot = slots_[find_slot(fingerprint(key))];
    const uint32_t block = slot.head;
    if (holds_list(block)) {
      const uint32_t word = arena_[block];
      if (!is_oldest(word)) throw std::logic_error("only single-block lists can be split");
      const Posting* items = items_of(block);
      for (uint32_t k = 0; k < count_of(word); ++k) take(items[k]);
      postings_ -= count_of(word);
      free_block(block);
    }
    if (slot.print == 0) {
      slot.print = fingerprint(key);
      ++used_;
    }
    slot.head = kSplit;
  }

  // Calls visit(postings, count) for each block of the list, newest block first: in a sorted
  // table only the run of postings whose sort field lies in [low, high], otherwise all of them.
  template <typename Visit>
  void scan_range(uint32_t head, uint32_t low, uint32_t high, Visit&& visit) const {
    for_each_block(head, [&](uint32_t block) {
      const Posting* items = items_of(block);
      uint32_t count = count_of(arena_[block]);
      if (order_ != Order::kInsertion) {
        // Walked, not searched: the run is read next anyway, and a search would touch lines
        // beyond it.
        uint32_t begin = 0;
        while (begin < count && key_of(items[begin]) < low) ++begin;
        uint32_t end = begin;
        while (end < count && key_of(items[end]) <= high) ++end;
        items += begin;
        count = end - begin;
      }
      visit(items, count);
    });
  }

  // Unlinks `posting` from the list of `key` (callers pop the newest entry's postings only, so
  // it lies in the list's newest block).
  void pop(uint64_t key, const Posting& posting) {
    Slot& slot = slots_[find_slot(fingerprint(key))];
    const uint32_t block = slot.head;
    if (!holds_list(block)) throw std::logic_error("pop of a key without a list");
    const uint32_t old_word = arena_[block];
    if (has_directory(old_word)) {
      erase_by_directory(items_of(block), count_of(old_word), directory_of(block), posting);
    } else if (order_ != Order::kInsertion) {
      erase(items_of(block), count_of(old_word), posting);
    }
    const uint32_t word = --arena_[block];
    if (count_of(word) == 0) {
      slot.head = is_oldest(word) ? kEnd : arena_[block + kNext];
      if (is_oldest(word)) free_block(block);
    }
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
  static constexpr uint32_t kCapacityClasses = 13;  // capacities 1, 2, 4, ..., kMaxCapacity
  static constexpr uint32_t kPrefetchedPostings = 64;
  // Long blocks of a position-sorted table keep a run directory after their postings: entry q
  // (16 bits) is how many of the block's postings have a position at most q. An insert then moves
  // one posting per run above its own without searching for where the runs start (each search
  // waited on a chain of cache misses). Scans still walk to their run's end: a directory before
  // the postings cost them a cache line (probe step 3% slower on one thread).
  static constexpr uint32_t kDirectoryKeys = 32, kDirectoryWords = kDirectoryKeys / 2;
  uint32_t directory_words(uint32_t capacity) const {
    return order_ == Order::kPosition && capacity > kShiftedInserts ? kDirectoryWords : 0;
  }
  bool has_directory(uint32_t word) const { return directory_words(capacity_of(word)) > 0; }
  uint32_t header_words(uint32_t word) const { return is_oldest(word) ? kOldestHeader : kHeader; }
  const Posting* items_of(uint32_t block) const {
    return reinterpret_cast<const Posting*>(arena_.data() + block + header_words(arena_[block]));
  }
  Posting* items_of(uint32_t block) { return const_cast<Posting*>(static_cast<const SignatureTable*>(this)->items_of(block)); }
  // After the block's postings, so that a scan's first lines hold postings.
  const uint16_t* directory_of(uint32_t block) const {
    return reinterpret_cast<const uint16_t*>(items_of(block) + capacity_of(arena_[block]));
  }
  uint16_t* directory_of(uint32_t block) {
    return const_cast<uint16_t*>(static_cast<const SignatureTable*>(this)->directory_of(block));
  }
  // Zeroes a fresh block's directory, where it has one (its header set).
  void clear_directory(uint32_t block) {
    if (has_directory(arena_[block])) std::fill_n(directory_of(block), kDirectoryKeys, uint16_t{0});
  }
  // Calls visit(block) for each block of the list starting at `head`, newest first.
  template <typename Visit>
  void for_each_block(uint32_t head, Visit&& visit) const {
    for (uint32_t block = head; holds_list(block);) {
      visit(block);
      block = is_oldest(arena_[block]) ? kEnd : arena_[block + kNext];
    }
  }
  // The directory of `count` position-sorted postings.
  static void index_runs(const Posting* items, uint32_t count, uint16_t* at_most) {
    uint32_t k = 0;
    for (uint32_t q = 0; q < kDirectoryKeys; ++q) {
      while (k < count && items[k].position <= q) ++k;
      at_most[q] = static_cast<uint16_t>(k);
    }
  }
  // Appends to a block with a directory, after the postings of its position: the first posting of
  // each run above moves to the end of its run, highest run first.
  static void insert_by_directory(Posting* items, uint32_t count, uint16_t* at_most, const Posting& posting) {
    const uint32_t key = posting.position;
    uint32_t hole = count;
    for (uint32_t q = kDirectoryKeys - 1; q > key; --q) {
      const uint32_t start = at_most[q - 1];  // run q is [start, hole)
      if (start < hole) {
        items[hole] = items[start];
        hole = start;
      }
    }
    items[hole] = posting;
    for (uint32_t q = key; q < kDirectoryKeys; ++q) ++at_most[q];
  }
  // The reverse: removes `posting` (found by entry in its run), leaving the block's last slot free.
  static void erase_by_directory(Posting* items, uint32_t count, uint16_t* at_most, const Posting& posting) {
    const uint32_t key = posting.position;
    uint32_t hole = key == 0 ? 0 : at_most[key - 1];
    while (hole < at_most[key] && items[hole].entry != posting.entry) ++hole;
    if (hole == at_most[key] || hole >= count) throw std::logic_error("pop of a posting not in its list");
    for (uint32_t q = key; q < kDirectoryKeys; ++q) {
      // The hole lies in run q or just before it (an empty run leaves it where it is).
      items[hole] = items[at_most[q] - 1];
      hole = --at_most[q];
    }
  }
  // Prefetches the cache lines after the one holding `first`, up to the one holding `last`.
  static void prefetch_lines_after(const void* first, const void* last) {
    const auto end = reinterpret_cast<uintptr_t>(last);
    for (uintptr_t line = (reinterpret_cast<uintptr_t>(first) | 63) + 1; line <= end; line += 64) {
      __builtin_prefetch(reinterpret_cast<const void*>(line));
    }
  }
  static uint32_t capacity_class(uint32_t capacity) { return 31 - static_cast<uint32_t>(__builtin_clz(capacity)); }
  // A list's oldest block of capacity 2^size_class: a vacated one of that size, or fresh arena.
  // The header is set and the count is zero.
  uint32_t allocate_oldest(uint32_t size_class) {
    const uint32_t capacity = 1u << size_class;
    uint32_t block = free_[size_class];
    if (block != kEnd) {
      free_[size_class] = arena_[block + kOldestHeader];
    } else {
      const uint32_t directory = directory_words(capacity);
      const size_t needed = arena_.size() + kOldestHeader + directory + 3 * size_t{capacity};
      if (needed >= kEnd) throw std::length_error("the pool index is full (2^32 posting slots)");
      block = static_cast<uint32_t>(arena_.size());
      arena_.resize(needed);
    }
    arena_[block] = (capacity << kCapacityShift) | kOldestFlag;
    clear_directory(block);
    return block;
  }
  // Vacated oldest blocks are kept in a list per size, linked through their first posting word.
  void free_block(uint32_t block) {
    const uint32_t size_class = capacity_class(capacity_of(arena_[block]));
    arena_[block + kOldestHeader] = free_[size_class];
    free_[size_class] = block;
  }
  uint32_t key_of(const Posting& posting) const { return order_ == Order::kPosition ? posting.position : posting.length; }
  // Appends to a block of `count` postings, after every posting whose sort field is at most the
  // new one's. Short blocks shift; in long ones the first posting of each run with a greater
  // field moves to the end of its run (one move per such run instead of one per posting).
  void insert(Posting* items, uint32_t count, const Posting& posting) const {
    const uint32_t key = key_of(posting);
    uint32_t hole = count;
    if (order_ == Order::kInsertion || count == 0 || key_of(items[count - 1]) <= key) {
      items[hole] = posting;
      return;
    }
    if (count <= kShiftedInserts) {
      while (hole > 0 && key_of(items[hole - 1]) > key) {
        items[hole] = items[hole - 1];
        --hole;
      }
    } else {
      while (hole > 0 && key_of(items[hole - 1]) > key) {
        const uint32_t run = key_of(items[hole - 1]);
        const uint32_t start = static_cast<uint32_t>(
            std::lower_bound(items, items + hole, run, [&](const Posting& p, uint32_t v) { return key_of(p) < v; }) - items);
        items[hole] = items[start];
        hole = start;
      }
    }
    items[hole] = posting;
  }
  // The reverse of insert: removes `posting` (found by entry among the postings of its sort
  // field) from a block of `count`, leaving the block's last slot free.
  void erase(Posting* items, uint32_t count, const Posting& posting) const {
    const auto below = [&](const Posting& p, uint32_t v) { return key_of(p) < v; };
    const auto above = [&](uint32_t v, const Posting& p) { return v < key_of(p); };
    uint32_t run = key_of(posting);
    auto hole = static_cast<uint32_t>(std::lower_bound(items, items + count, run, below) - items);
    while (hole < count && key_of(items[hole]) == run && items[hole].entry != posting.entry) ++hole;
    if (hole == count || items[hole].entry != posting.entry) throw std::logic_error("pop of a posting not in its list");
    for (;;) {
      // The last posting of the hole's run fills the hole; the hole moves to the run's end,
      // where the next run's last posting fills it in turn.
      const auto end = static_cast<uint32_t>(std::upper_bound(items + hole, items + count, run, above) - items);
      items[hole] = items[end - 1];
      hole = end - 1;
      if (end == count) return;
      run = key_of(items[end]);
    }
  }
  static uint32_t count_of(uint32_t word) { return word & 0xFFFFu; }
  static uint32_t capacity_of(uint32_t word) { return (word & ~kOldestFlag) >> kCapacityShift; }
  static bool is_oldest(uint32_t word) { return (word & kOldestFlag) != 0; }
  size_t find_slot(uint32_t print) const {
    size_t slot = print & (slots_.size() - 1);
    while (slots_[slot].print != 0 && slots_[slot].print != print) slot = (slot + 1) & (slots_.size() - 1);
    return slot;
  }
  void grow() {
    if (slots_.size() >= (size_t{1} << 32)) throw std::length_error("the pool index is full (2^32 signatures)");
    Slots slots(slots_.size() * 2);
    for (const Slot& old : slots_) {
      if (old.print == 0) continue;
      size_t slot = old.print & (slots.size() - 1);
      while (slots[slot].print != 0) slot = (slot + 1) & (slots.size() - 1);
      slots[slot] = old;
    }
    slots_.swap(slots);
  }

  using Slots = std::vector<Slot, HugePageAllocator<Slot>>;
  using Arena = HugeArray<uint32_t>;
  Slots slots_;
  size_t used_ = 0;
  Arena arena_;  // blocks: a header, then capacity postings
  std::array<uint32_t, kCapacityClasses> free_{};  // vacated oldest blocks by size class
  size_t postings_ = 0;
  Order order_ = Order::kInsertion;
  static constexpr uint32_t kShiftedInserts = 64;  // blocks up to this many postings shift to insert
};

}  // namespace selfinstruct::detail

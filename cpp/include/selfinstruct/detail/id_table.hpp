// Dense ids (0, 1, 2 ...) for the distinct keys seen since the last reset(), in first-seen order.
// Scoring one text pair interns a few hundred keys; reset() forgets them in O(1) by bumping a
// generation stamp instead of clearing the slots.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

namespace selfinstruct::detail {

template <typename Key>
class IdTable {
 public:
  void reset() {
    count_ = 0;
    if (++generation_ == 0) {  // stamp wrapped: stale slots would look current
      for (Slot& slot : slots_) slot.generation = 0;
      generation_ = 1;
    }
  }
  uint32_t size() const { return count_; }
  // The id of `key` (whose hash is `hash`), adding it if new.
  uint32_t intern(const Key& key, uint64_t hash) {
    if (2 * (static_cast<size_t>(count_) + 1) > slots_.size()) grow();
    size_t index = hash & mask_;
    while (true) {
      Slot& slot = slots_[index];
      if (slot.generation != generation_) {
        slot = Slot{hash, key, count_, generation_};
        return count_++;
      }
      if (slot.hash == hash && slot.key == key) return slot.id;
      index = (index + 1) & mask_;
    }
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    Key key{};
    uint32_t id = 0;
    uint32_t generation = 0;
  };
  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 256 : 2 * old.size(), Slot{});
    mask_ = slots_.size() - 1;
    for (const Slot& slot : old) {
      if (slot.generation != generation_) continue;
      size_t index = slot.hash & mask_;
      while (slots_[index].generation == generation_) index = (index + 1) & mask_;
      slots_[index] = slot;
    }
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  uint32_t count_ = 0;
  uint32_t generation_ = 1;
};

// Hash of an integer key (the n-gram tables key on two packed 32-bit ids): the multiply spreads
// every key bit into the high half, the shift folds it into the low bits the table indexes by.
inline uint64_t mix64(uint64_t key) {
  const uint64_t x = key * 0x9E3779B97F4A7C15ULL;
  return x ^ (x >> 32);
}

}  // namespace selfinstruct::detail

#include "selfinstruct/vocabulary.hpp"

#include <stdexcept>

namespace selfinstruct {

Vocabulary::Vocabulary() : slots_(1024, 0), mask_(1023) {}

uint64_t Vocabulary::hash(std::string_view token) {
  // FNV-1a with a final mix: tokens are short, this is fast and spreads well.
  uint64_t h = 1469598103934665603ULL;
  for (const char c : token) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 32;
  return h;
}

uint32_t Vocabulary::find(std::string_view token, uint64_t h) const {
  uint64_t slot = h & mask_;
  while (true) {
    const uint32_t entry = slots_[slot];
    if (entry == 0) return kMissing;
    const uint32_t id = entry - 1;
    if (token_hashes_[id] == h && tokens_[id] == token) return id;
    slot = (slot + 1) & mask_;
  }
}

uint32_t Vocabulary::intern(std::string_view token, uint64_t h) {
  uint64_t slot = h & mask_;
  while (true) {
    const uint32_t entry = slots_[slot];
    if (entry == 0) break;
    const uint32_t id = entry - 1;
    if (token_hashes_[id] == h && tokens_[id] == token) return id;
    slot = (slot + 1) & mask_;
  }
  // Ids stay below UINT32_MAX - 1: the top two values mean "missing" and "unknown to the pool".
  if (tokens_.size() >= kMaxTokens) throw std::length_error("more than 4,294,967,293 distinct tokens");
  const auto id = static_cast<uint32_t>(tokens_.size());
  tokens_.emplace_back(token);
  token_hashes_.push_back(h);
  slots_[slot] = id + 1;
  if (2 * tokens_.size() > slots_.size()) grow();
  return id;
}

void Vocabulary::grow() {
  std::vector<uint32_t> slots(slots_.size() * 2, 0);
  const uint64_t mask = slots.size() - 1;
  for (uint32_t id = 0; id < tokens_.size(); ++id) {
    uint64_t slot = token_hashes_[id] & mask;
    while (slots[slot] != 0) slot = (slot + 1) & mask;
    slots[slot] = id + 1;
  }
  slots_.swap(slots);
  mask_ = mask;
}

}  // namespace selfinstruct

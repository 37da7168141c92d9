// Token interning: every distinct token string gets a dense uint32 id.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace selfinstruct {

class Vocabulary {
 public:
  static constexpr uint32_t kMissing = UINT32_MAX;
  static constexpr size_t kMaxTokens = UINT32_MAX - 2;

  Vocabulary();
  static uint64_t hash(std::string_view token);
  // Read-only lookup, safe to call from many threads while nobody interns.
  uint32_t find(std::string_view token, uint64_t hash) const;
  // Returns the id of `token`, adding it if new. Not thread-safe.
  uint32_t intern(std::string_view token, uint64_t hash);
  size_t size() const { return tokens_.size(); }
  const std::string& token(uint32_t id) const { return tokens_[id]; }

 private:
  void grow();
  std::vector<std::string> tokens_;
  std::vector<uint64_t> token_hashes_;
  std::vector<uint32_t> slots_;  // id + 1, or 0 for an empty slot
  uint64_t mask_ = 0;
};

}  // namespace selfinstruct

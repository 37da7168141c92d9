// Token-id sequences of many texts, stored contiguously, sharing one vocabulary.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "selfinstruct/detail/huge_pages.hpp"
#include "selfinstruct/tokenizer.hpp"
#include "selfinstruct/vocabulary.hpp"

namespace selfinstruct {

class TokenSequences {
 public:
  TokenSequences() { offsets_.push_back(0); }
  size_t size() const { return offsets_.size() - 1; }
  const uint32_t* data(size_t i) const { return tokens_.data() + offsets_[i]; }
  uint32_t length(size_t i) const { return static_cast<uint32_t>(offsets_[i + 1] - offsets_[i]); }
  uint64_t offset(size_t i) const { return offsets_[i]; }
  void append(const uint32_t* tokens, size_t length) {
    tokens_.append(tokens, length);
    offsets_.push_back(tokens_.size());
  }
  void truncate(size_t count) {
    tokens_.resize(offsets_[count]);
    offsets_.resize(count + 1);
  }

 private:
  // A pool's sequences grow to hundreds of megabytes: grown without copying (see HugeArray).
  detail::HugeArray<uint32_t> tokens_;
  detail::HugeArray<uint64_t> offsets_;
};

// Tokenizes `texts` (in parallel) and interns their tokens into `vocabulary` (serially, in text
// order, so ids do not depend on the thread count). Appends one sequence per text to `out`.
void tokenize_and_intern(const std::vector<std::string_view>& texts, TokenizerMode mode, Vocabulary& vocabulary,
                         int threads, TokenSequences& out);

}  // namespace selfinstruct

// Match masks of one query of at most 64 tokens in a dense array indexed by token id: one load
// per text token and no branches. Several texts run interleaved so their dependency chains overlap.
#pragma once
#include <algorithm>
#include <cstdint>

#include "selfinstruct/detail/bits.hpp"
#include <vector>

namespace selfinstruct::detail {

class DenseMasks {
 public:
  static constexpr uint32_t kMaxQuery = 64;

  explicit DenseMasks(size_t vocabulary_size) : masks_(vocabulary_size, 0) {}

  // Tokens outside the vocabulary (unknown to the texts) match nothing and get no mask.
  void set(const uint32_t* query, uint32_t n) {
    for (uint32_t i = 0; i < n; ++i) {
      if (query[i] < masks_.size()) masks_[query[i]] |= uint64_t{1} << i;
    }
    used_ = n == 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
  }
  void clear(const uint32_t* query, uint32_t n) {
    for (uint32_t i = 0; i < n; ++i) {
      if (query[i] < masks_.size()) masks_[query[i]] = 0;
    }
  }

  uint32_t lcs(const uint32_t* text, uint32_t m) const {
    uint64_t v = ~uint64_t{0};
    for (uint32_t j = 0; j < m; ++j) step(v, text[j]);
    return count(v);
  }

  // LCS of the query with four texts at once.
  void lcs4(const uint32_t* const text[4], const uint32_t m[4], uint32_t out[4]) const {
    uint64_t v0 = ~uint64_t{0}, v1 = v0, v2 = v0, v3 = v0;
    const uint32_t common = std::min(std::min(m[0], m[1]), std::min(m[2], m[3]));
    for (uint32_t j = 0; j < common; ++j) {
      step(v0, text[0][j]);
      step(v1, text[1][j]);
      step(v2, text[2][j]);
      step(v3, text[3][j]);
    }
    for (uint32_t j = common; j < m[0]; ++j) step(v0, text[0][j]);
    for (uint32_t j = common; j < m[1]; ++j) step(v1, text[1][j]);
    for (uint32_t j = common; j < m[2]; ++j) step(v2, text[2][j]);
    for (uint32_t j = common; j < m[3]; ++j) step(v3, text[3][j]);
    out[0] = count(v0);
    out[1] = count(v1);
    out[2] = count(v2);
    out[3] = count(v3);
  }

 private:
  void step(uint64_t& v, uint32_t token) const {
    const uint64_t u = v & masks_[token];
    v = (v + u) | (v - u);
  }
  uint32_t count(uint64_t v) const { return detail::popcount64(~v & used_); }

  std::vector<uint64_t> masks_;
  uint64_t used_ = 0;
};

}  // namespace selfinstruct::detail

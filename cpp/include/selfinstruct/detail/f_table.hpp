// rouge_f(lcs, m, n) for one query length n and every choice length m <= 64, looked up instead of
// computed with three divisions per pair. The entries are rouge_f's own doubles, so scores stay
// bit-identical; rows taken in order of length refill the table only when n changes.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "selfinstruct/score.hpp"

namespace selfinstruct::detail {

class FTable {
 public:
  static constexpr uint32_t kMaxChoice = 64;

  FTable() : table_((kMaxChoice + 1) * (kMaxChoice + 1), 0.0) {}

  void set_query_length(uint32_t n) {
    if (filled_ && n == n_) return;
    n_ = n;
    filled_ = true;
    for (uint32_t m = 1; m <= kMaxChoice; ++m) {
      for (uint32_t lcs = 0; lcs <= std::min(m, n); ++lcs) table_[index(m, lcs)] = rouge_f(lcs, m, n);
    }
  }
  // F for a choice of m tokens (1..64) with an LCS of lcs <= min(m, n) tokens.
  static uint32_t index(uint32_t m, uint32_t lcs) { return m * (kMaxChoice + 1) + lcs; }
  double at(uint32_t m, uint32_t lcs) const { return table_[index(m, lcs)]; }
  const double* data() const { return table_.data(); }

 private:
  std::vector<double> table_;
  uint32_t n_ = 0;
  bool filled_ = false;
};

}  // namespace selfinstruct::detail

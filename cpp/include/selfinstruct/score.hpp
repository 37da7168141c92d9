// ROUGE-L F-measure exactly as rouge-score 0.1.2 computes it, and the length bounds derived from it.
#pragma once
#include <cstdint>

namespace selfinstruct {

// F of an LCS of length `lcs` between token lists of lengths m and n, evaluated with the same
// double operations in the same order as rouge_score.scoring.fmeasure: (2*p)*r / (p+r).
// Symmetric in (m, n) bit for bit. Not the same float as 2*lcs/(m+n) (the README's "Semantics": (7, 7, 13) gives 0.7000000000000001, (7, 10, 10) gives 0.7).
inline double rouge_f(uint64_t lcs, uint64_t m, uint64_t n) {
  if (lcs == 0 || m == 0 || n == 0) return 0.0;
  const double precision = static_cast<double>(lcs) / static_cast<double>(n);
  const double recall = static_cast<double>(lcs) / static_cast<double>(m);
  return 2 * precision * recall / (precision + recall);
}

}  // namespace selfinstruct

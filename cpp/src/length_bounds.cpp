#include "selfinstruct/detail/length_bounds.hpp"

#include <algorithm>
#include <cmath>

#include "selfinstruct/score.hpp"

namespace selfinstruct::detail {

LengthBounds::LengthBounds(double threshold) : threshold_(threshold) {
  cache_.resize(kCached);
  for (uint32_t n = 0; n < kCached; ++n) fill(n, cache_[n]);
}

bool LengthBounds::exceeds(uint32_t lcs, uint32_t m, uint32_t n) const { return rouge_f(lcs, m, n) > threshold_; }

uint32_t LengthBounds::min_lcs(uint32_t m, uint32_t n) const {
  const uint32_t shortest = std::min(m, n);
  if (shortest == 0 || !exceeds(shortest, m, n)) return kNone;
  // Start near the rational answer, then settle with the reference formula itself: F grows with
  // lcs, and only the float comparison decides.
  const double guess = std::floor(threshold_ * (static_cast<double>(m) + n) / 2.0) - 1.0;
  uint32_t lcs = guess < 1.0 ? 1u : static_cast<uint32_t>(std::min<double>(guess, shortest));
  while (lcs > 1 && exceeds(lcs - 1, m, n)) --lcs;
  while (!exceeds(lcs, m, n)) ++lcs;
  return lcs;
}

void LengthBounds::partner_range(uint32_t n, uint32_t& first, uint32_t& last) const {
  first = 1;
  last = 0;
  if (n == 0 || !exceeds(n, n, n)) return;
  // m <= n: F(m, m, n) grows with m; m >= n: F(n, m, n) shrinks with m. Start from the rational
  // answers and settle with the reference formula.
  const double t = threshold_;
  const double lo_guess = std::ceil(t * n / (2.0 - t));
  uint32_t lo = static_cast<uint32_t>(std::clamp(lo_guess, 1.0, static_cast<double>(n)));
  while (lo > 1 && exceeds(lo - 1, lo - 1, n)) --lo;
  while (!exceeds(lo, lo, n)) ++lo;
  uint32_t hi = UINT32_MAX;
  if (t > 0.0) {
    const double hi_guess = std::floor(n * (2.0 - t) / t);
    hi = static_cast<uint32_t>(std::clamp(hi_guess, static_cast<double>(n), static_cast<double>(UINT32_MAX - 1)));
    while (hi < UINT32_MAX - 1 && exceeds(n, hi + 1, n)) ++hi;
    while (!exceeds(n, hi, n)) --hi;
  }
  first = lo;
  last = hi;
}

void LengthBounds::fill(uint32_t n, QueryBounds& out) const {
  out.n = n;
  out.owner = this;
  out.table.clear();
  out.any_length_needs_one = false;
  out.overlap = kNone;
  partner_range(n, out.first, out.last);
  if (out.first > out.last) return;
  if (threshold_ <= 0.0) {
    // F > 0 exactly when one token is shared, whatever the lengths.
    out.any_length_needs_one = true;
    out.overlap = 1;
    return;
  }
  // Tabulate up to kTableSpan lengths past `first`, and at least through m = n.
  const uint64_t span = std::max<uint64_t>(kTableSpan, static_cast<uint64_t>(n) - out.first + 1);
  const uint32_t tabulated_last = static_cast<uint32_t>(std::min<uint64_t>(out.last, out.first + span - 1));
  out.table.resize(static_cast<size_t>(tabulated_last - out.first) + 1);
  for (uint32_t m = out.first; m <= tabulated_last; ++m) {
    const uint32_t need = min_lcs(m, n);
    out.table[m - out.first] = need;
    out.overlap = std::min(out.overlap, need);
  }
  if (tabulated_last < out.last) {
    // Longer partners (m > n here): exact F = 2 lcs / (m + n), so any lcs scoring above the
    // threshold is at least t (m + n) / 2 up to float rounding (relative error far below 1e-9);
    // that grows with m, so the first untabulated length bounds them all from below.
    const double m = static_cast<double>(tabulated_last) + 1.0;
    const double lower = std::floor(threshold_ * (m + n) / 2.0 * (1.0 - 1e-9));
    out.overlap = std::min<uint32_t>(out.overlap, static_cast<uint32_t>(std::max(1.0, std::min<double>(lower, n))));
  }
}

const LengthBounds::QueryBounds& LengthBounds::for_length(uint32_t n, QueryBounds& scratch) const {
  if (n < kCached) return cache_[n];
  if (scratch.n != n || scratch.table.empty()) fill(n, scratch);
  return scratch;
}

uint32_t LengthBounds::min_overlap(uint32_t n) const {
  QueryBounds scratch;
  return for_length(n, scratch).overlap;
}

}  // namespace selfinstruct::detail

// Exact length and overlap bounds for "F > threshold", derived from the reference float formula.
#pragma once
#include <cstdint>
#include <vector>

namespace selfinstruct::detail {

class LengthBounds {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  explicit LengthBounds(double threshold);
  LengthBounds(const LengthBounds&) = delete;  // its cached QueryBounds point back at it
  LengthBounds& operator=(const LengthBounds&) = delete;
  double threshold() const { return threshold_; }

  // Smallest lcs with rouge_f(lcs, m, n) > threshold, or kNone when even lcs = min(m, n) is not.
  uint32_t min_lcs(uint32_t m, uint32_t n) const;
  // Partner lengths m that can score above the threshold with a list of length n: [first, last];
  // empty (first > last) when none can.
  void partner_range(uint32_t n, uint32_t& first, uint32_t& last) const;
  // The least min_lcs(m, n) over every partner length m: the overlap any match must reach, which
  // sizes both the index prefix and the probe prefix. kNone when no partner exists.
  uint32_t min_overlap(uint32_t n) const;

  // Per-query view: min_lcs(m, n) for every partner m, tabulated once per query length for the
  // first kTableSpan partner lengths and computed on demand beyond (only low thresholds have
  // partner ranges that long; the pool caps them at its longest entry).
  struct QueryBounds {
    uint32_t n = 0, first = 1, last = 0, overlap = kNone;
    bool any_length_needs_one = false;  // threshold 0: one shared token is enough at any length
    std::vector<uint32_t> table;        // min_lcs(first + i, n)
    const LengthBounds* owner = nullptr;
    uint32_t need(uint32_t m) const {
      if (any_length_needs_one) return 1;
      const uint32_t offset = m - first;
      return offset < table.size() ? table[offset] : owner->min_lcs(m, n);
    }
    bool admissible(uint32_t m) const { return m >= first && m <= last; }
  };
  static constexpr uint32_t kTableSpan = 4096;
  const QueryBounds& for_length(uint32_t n, QueryBounds& scratch) const;

 private:
  bool exceeds(uint32_t lcs, uint32_t m, uint32_t n) const;
  void fill(uint32_t n, QueryBounds& out) const;
  double threshold_;
  std::vector<QueryBounds> cache_;  // for n below kCached
  static constexpr uint32_t kCached = 257;
};

}  // namespace selfinstruct::detail

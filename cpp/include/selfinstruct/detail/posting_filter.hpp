// The posting filters of a probe (see PrefixIndex::probe): which postings of a run may belong to
// an entry that scores above the threshold, judged from the posting alone. A scalar loop, and on
// x86-64 CPUs with AVX-512 (and its per-lane popcount) a copy that judges 16 postings at once,
// used where the CPU has it (see wide_posting_filter_enabled). Both keep exactly the same
// postings, in the same order.
#pragma once
#include <cstddef>
#include <cstdint>

#include "selfinstruct/detail/bits.hpp"
#include "selfinstruct/detail/signature_table.hpp"

namespace selfinstruct::detail {

// What a posting is judged against: the candidate's side of every bound.
struct PostingFilter {
  uint32_t first;           // the shortest partner length
  uint32_t span;            // the longest minus the shortest
  const uint32_t* need_of;  // [m - first]: the overlap a partner of length m needs
  uint64_t to;              // entries at or after `to` are not probed
  uint32_t probe_room;      // n + slack - the candidate's position of the signature
  uint32_t slack;           // 1 for pairs, 0 for single elements
  uint32_t n;               // the candidate's length
  uint32_t folded;          // the candidate's folded sketch
};

// Writes the entries of the postings in items[0, count) that pass to out (at most count) and
// returns how many; adds to `examined` the postings of entries before filter.to.
inline size_t filter_postings_scalar(const Posting* items, uint32_t count, const PostingFilter& filter, uint32_t* out,
                                     size_t& examined) {
  size_t kept = 0;
  for (uint32_t k = 0; k < count; ++k) {
    const Posting& posting = items[k];
    const uint32_t m = posting.length, offset = m - filter.first;
    const bool in_range = offset <= filter.span;
    const uint32_t need = filter.need_of[in_range ? offset : 0];
    const bool earlier = posting.entry < filter.to;
    examined += earlier;
    // Which postings pass is unpredictable: no branches, the entry is written out anyway and
    // kept only if it passes.
    const bool pass = in_range & earlier & (need <= filter.probe_room) & (posting.position + need <= m + filter.slack) &
                      (popcount64(filter.folded & ~posting.sketch) + need <= filter.n) &
                      (popcount64(posting.sketch & ~filter.folded) + need <= m);
    out[kept] = posting.entry;
    kept += pass;
  }
  return kept;
}

// As filter_postings_scalar, 16 postings at a time; only where wide_posting_filter_available().
size_t filter_postings_wide(const Posting* items, uint32_t count, const PostingFilter& filter, uint32_t* out,
                            size_t& examined);
// Whether this CPU runs filter_postings_wide (x86-64 with AVX-512 F, BW, VL and VPOPCNTDQ).
bool wide_posting_filter_available();
// Whether probes use filter_postings_wide: yes where available, unless turned off (the tests turn
// it off to run the scalar filter on the same machine). Returns the previous setting.
bool wide_posting_filter_enabled();
bool enable_wide_posting_filter(bool on);

}  // namespace selfinstruct::detail

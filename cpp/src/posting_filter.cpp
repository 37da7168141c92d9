#include "selfinstruct/detail/posting_filter.hpp"

#include <algorithm>
#include <atomic>
#include <stdexcept>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define SELFINSTRUCT_WIDE_FILTER 1
#endif

namespace selfinstruct::detail {

#ifdef SELFINSTRUCT_WIDE_FILTER
namespace {
// 16 postings are 48 words in three registers a, b, c; word 3k + f is field f of posting k (0: entry,
// 1: length and position, 2: sketch). A field's words below 32 are picked from a and b, then the
// rest from c.
alignas(64) constexpr int32_t kFromFirstTwo[3][16] = {
    {0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 0, 0, 0, 0, 0},
    {1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 0, 0, 0, 0, 0},
    {2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 0, 0, 0, 0, 0, 0}};
alignas(64) constexpr int32_t kWithThird[3][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 17, 20, 23, 26, 29},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 18, 21, 24, 27, 30},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 19, 22, 25, 28, 31}};

__attribute__((target("avx512f,avx512bw,avx512vl,avx512vpopcntdq"))) inline __m512i field_of(
    __m512i a, __m512i b, __m512i c, int f) {
  const __m512i two = _mm512_permutex2var_epi32(a, _mm512_load_si512(kFromFirstTwo[f]), b);
  return _mm512_permutex2var_epi32(two, _mm512_load_si512(kWithThird[f]), c);
}
}  // namespace

__attribute__((target("avx512f,avx512bw,avx512vl,avx512vpopcntdq"))) size_t filter_postings_wide(
    const Posting* items, uint32_t count, const PostingFilter& filter, uint32_t* out, size_t& examined) {
  static_assert(sizeof(Posting) == 12, "16 postings are 48 words");
  size_t kept = 0;
  const __m512i first = _mm512_set1_epi32(static_cast<int>(filter.first));
  const __m512i span = _mm512_set1_epi32(static_cast<int>(filter.span));
  const __m512i room = _mm512_set1_epi32(static_cast<int>(filter.probe_room));
  const __m512i slack = _mm512_set1_epi32(static_cast<int>(filter.slack));
  const __m512i n = _mm512_set1_epi32(static_cast<int>(filter.n));
  const __m512i folded = _mm512_set1_epi32(static_cast<int>(filter.folded));
  const __m512i low_half = _mm512_set1_epi32(0xFFFF);
  const bool all_earlier = filter.to > UINT32_MAX;
  const __m512i to = _mm512_set1_epi32(static_cast<int>(all_earlier ? 0 : static_cast<uint32_t>(filter.to)));
  const auto mask_of = [](uint32_t lanes) { return static_cast<__mmask16>(lanes >= 16 ? 0xFFFF : (1u << lanes) - 1); };
  // The need table in two registers when the partner lengths span at most 32, else a gather.
  const bool short_span = filter.span < 32;
  __m512i need_low = _mm512_setzero_si512(), need_high = _mm512_setzero_si512();
  if (short_span) {
    need_low = _mm512_maskz_loadu_epi32(mask_of(filter.span + 1), filter.need_of);
    if (filter.span >= 16) need_high = _mm512_maskz_loadu_epi32(mask_of(filter.span - 15), filter.need_of + 16);
  }
  for (uint32_t done = 0; done < count; done += 16) {
    const uint32_t here = std::min<uint32_t>(16, count - done);
    const uint32_t words = 3 * here;
    const auto* base = reinterpret_cast<const int32_t*>(items + done);
    const __m512i a = _mm512_maskz_loadu_epi32(mask_of(words), base);
    const __m512i b = _mm512_maskz_loadu_epi32(mask_of(words > 16 ? words - 16 : 0), base + 16);
    const __m512i c = _mm512_maskz_loadu_epi32(mask_of(words > 32 ? words - 32 : 0), base + 32);
    const __m512i entry = field_of(a, b, c, 0);
    const __m512i length_position = field_of(a, b, c, 1);
    const __m512i sketch = field_of(a, b, c, 2);
    const __mmask16 valid = mask_of(here);
    const __m512i m = _mm512_and_si512(length_position, low_half);
    const __m512i position = _mm512_srli_epi32(length_position, 16);
    const __m512i offset = _mm512_sub_epi32(m, first);
    const __mmask16 in_range = _mm512_mask_cmple_epu32_mask(valid, offset, span);
    const __m512i need = short_span ? _mm512_permutex2var_epi32(need_low, offset, need_high)
                                    : _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), in_range, offset,
                                                                  filter.need_of, 4);
    const __mmask16 earlier = all_earlier ? valid : _mm512_mask_cmplt_epu32_mask(valid, entry, to);
    examined += static_cast<size_t>(__builtin_popcount(earlier));
    __mmask16 pass = in_range & earlier;
    pass = _mm512_mask_cmple_epu32_mask(pass, need, room);
    pass = _mm512_mask_cmple_epu32_mask(pass, _mm512_add_epi32(position, need), _mm512_add_epi32(m, slack));
    const __m512i ours_only = _mm512_popcnt_epi32(_mm512_andnot_si512(sketch, folded));
    const __m512i theirs_only = _mm512_popcnt_epi32(_mm512_andnot_si512(folded, sketch));
    pass = _mm512_mask_cmple_epu32_mask(pass, _mm512_add_epi32(ours_only, need), n);
    pass = _mm512_mask_cmple_epu32_mask(pass, _mm512_add_epi32(theirs_only, need), m);
    // Compress in a register, then a masked store of the leading lanes: a compressing store to
    // memory is far slower on some CPUs (on AMD Zen 4 the whole admission ran 1.07x faster
    // without it; docs/admission_index.md).
    const uint32_t passed = static_cast<uint32_t>(__builtin_popcount(pass));
    _mm512_mask_storeu_epi32(out + kept, mask_of(passed), _mm512_maskz_compress_epi32(pass, entry));
    kept += passed;
  }
  return kept;
}

bool wide_posting_filter_available() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vpopcntdq");
}
#else
size_t filter_postings_wide(const Posting*, uint32_t, const PostingFilter&, uint32_t*, size_t&) {
  throw std::logic_error("this build has no wide posting filter");
}
bool wide_posting_filter_available() { return false; }
#endif

namespace {
std::atomic<bool>& wide_filter_switch() {
  static std::atomic<bool> on{wide_posting_filter_available()};
  return on;
}
}  // namespace

bool wide_posting_filter_enabled() { return wide_filter_switch().load(std::memory_order_relaxed); }

bool enable_wide_posting_filter(bool on) {
  return wide_filter_switch().exchange(on && wide_posting_filter_available());
}

}  // namespace selfinstruct::detail

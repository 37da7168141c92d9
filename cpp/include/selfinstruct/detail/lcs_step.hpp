// One column step of the bit-parallel LCS recurrence, shared by every multi-word kernel.
#pragma once
#include <cstdint>

namespace selfinstruct::detail {

// out = (v + u) | (v - u) with u = v & row, the sum carried across `words` words. Bits of matched
// pattern positions are 0. `out` may be `v` (each word is read before it is written).
inline void lcs_step(const uint64_t* v, const uint64_t* row, uint64_t* out, uint32_t words) {
  uint64_t carry = 0;
  for (uint32_t w = 0; w < words; ++w) {
    const uint64_t vw = v[w];
    const uint64_t u = vw & row[w];
    // (vw + u + carry) with carry out; vw - u never borrows because u is a subset of vw.
    const uint64_t sum1 = vw + u;
    const uint64_t carry1 = sum1 < vw;
    const uint64_t sum = sum1 + carry;
    carry = carry1 | (sum < sum1);
    out[w] = sum | (vw - u);
  }
}

}  // namespace selfinstruct::detail

// Bit counting that stays inline on every x86-64 build: without -mpopcnt, __builtin_popcountll
// becomes a call into libgcc, which dominated the sketch filters' time.
#pragma once
#include <cstdint>

// Marks a function to be compiled twice on x86-64 ELF builds whose target lacks POPCNT, once with
// it and once without, the copy chosen at load time from the CPU. Only for functions that no other
// file declares: with GCC, a file that sees only the declaration refers to the copies by name,
// which link-time optimisation makes local to the defining file (the module was left with them as
// undefined symbols); without the attribute there, the link warns of an ODR violation.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__POPCNT__) && defined(__ELF__)
#define SELFINSTRUCT_POPCNT_CLONES __attribute__((target_clones("popcnt", "default")))
#else
#define SELFINSTRUCT_POPCNT_CLONES
#endif

namespace selfinstruct::detail {

inline uint32_t popcount64(uint64_t x) {
#if defined(__POPCNT__) || !defined(__x86_64__)
  return static_cast<uint32_t>(__builtin_popcountll(x));
#else
  x = x - ((x >> 1) & 0x5555555555555555ULL);
  x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
  return static_cast<uint32_t>((x * 0x0101010101010101ULL) >> 56);
#endif
}

}  // namespace selfinstruct::detail

// A 32-byte vector of unsigned lanes (8, 16, 32 or 64 bits each) for the packed LCS kernel.
// GCC and Clang use their vector extensions: SSE2 on a baseline x86-64 build, AVX2 in a copy
// compiled for x86-64-v3 and picked at load time (SELFINSTRUCT_DISPATCH), NEON on ARM. Other
// compilers (or a build with SELFINSTRUCT_PORTABLE_LANES defined, to test it) get the same
// operations as loops over an array. Additions never carry across lanes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace selfinstruct::detail {

constexpr size_t kVectorBytes = 32;

// Marks a function to be compiled twice on x86-64 ELF builds with GCC, once for x86-64-v3 (AVX2,
// POPCNT) and once for the baseline, the copy chosen at load time from the CPU: the default build
// stays portable (no -march=native) and still uses 32-byte vectors where the CPU has them. GCC 12
// is the version this was built and tested with (function templates are cloned, "arch=x86-64-v3"
// needs 11+); other compilers and versions build the baseline copy only.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12 && defined(__ELF__) && \
    !defined(__AVX2__)
#define SELFINSTRUCT_DISPATCH __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SELFINSTRUCT_DISPATCH
#endif

// Storage for one vector inside std::vector (plain words: no over-aligned or attributed types in
// containers); loads and stores go through memcpy, which compiles to one unaligned move.
struct VectorBlock {
  uint64_t words[kVectorBytes / 8];
};

#if (defined(__GNUC__) || defined(__clang__)) && !defined(SELFINSTRUCT_PORTABLE_LANES)
#define SELFINSTRUCT_ALWAYS_INLINE inline __attribute__((always_inline))

template <typename Lane>
struct LaneVector {
  typedef Lane type __attribute__((vector_size(kVectorBytes)));
};
template <typename Lane>
using Lanes = typename LaneVector<Lane>::type;

#else
#define SELFINSTRUCT_ALWAYS_INLINE inline

// The portable fallback: element-wise loops (compilers that vectorize loops still do so here).
template <typename Lane>
struct Lanes {
  static constexpr size_t kCount = kVectorBytes / sizeof(Lane);
  Lane lane[kCount];
  Lane operator[](size_t k) const { return lane[k]; }
  Lane& operator[](size_t k) { return lane[k]; }
  template <typename Op>
  friend Lanes apply(const Lanes& a, const Lanes& b, Op op) {
    Lanes out;
    for (size_t k = 0; k < kCount; ++k) out.lane[k] = static_cast<Lane>(op(a.lane[k], b.lane[k]));
    return out;
  }
  static Lanes splat(Lane value) {
    Lanes out;
    for (size_t k = 0; k < kCount; ++k) out.lane[k] = value;
    return out;
  }
  friend Lanes operator&(const Lanes& a, const Lanes& b) { return apply(a, b, [](Lane x, Lane y) { return x & y; }); }
  friend Lanes operator|(const Lanes& a, const Lanes& b) { return apply(a, b, [](Lane x, Lane y) { return x | y; }); }
  friend Lanes operator+(const Lanes& a, const Lanes& b) { return apply(a, b, [](Lane x, Lane y) { return x + y; }); }
  friend Lanes operator-(const Lanes& a, const Lanes& b) { return apply(a, b, [](Lane x, Lane y) { return x - y; }); }
  friend Lanes operator&(const Lanes& a, Lane b) { return a & splat(b); }
  friend Lanes operator+(const Lanes& a, Lane b) { return a + splat(b); }
  friend Lanes operator~(const Lanes& a) { return apply(a, a, [](Lane x, Lane) { return ~x; }); }
  friend Lanes operator>>(const Lanes& a, int shift) { return apply(a, a, [shift](Lane x, Lane) { return x >> shift; }); }
};
#endif

// Every lane set to `value`.
template <typename Lane>
SELFINSTRUCT_ALWAYS_INLINE Lanes<Lane> splat(Lane value) {
  Lanes<Lane> out{};
  for (size_t k = 0; k < kVectorBytes / sizeof(Lane); ++k) out[k] = value;
  return out;
}

template <typename Lane>
SELFINSTRUCT_ALWAYS_INLINE Lanes<Lane> load(const VectorBlock& block) {
  Lanes<Lane> out;
  std::memcpy(&out, &block, kVectorBytes);
  return out;
}

template <typename Lane>
SELFINSTRUCT_ALWAYS_INLINE void store(VectorBlock& block, const Lanes<Lane>& value) {
  std::memcpy(&block, &value, kVectorBytes);
}

// The number of set bits of each lane, in that lane (bit tricks on the whole vector: no
// per-lane popcount instruction exists before AVX-512).
template <typename Lane>
SELFINSTRUCT_ALWAYS_INLINE Lanes<Lane> lane_popcount(const Lanes<Lane>& bits) {
  Lanes<Lane> x = bits - ((bits >> 1) & static_cast<Lane>(0x5555555555555555ULL));
  x = (x & static_cast<Lane>(0x3333333333333333ULL)) + ((x >> 2) & static_cast<Lane>(0x3333333333333333ULL));
  x = (x + (x >> 4)) & static_cast<Lane>(0x0F0F0F0F0F0F0F0FULL);
  for (unsigned shift = 8; shift < 8 * sizeof(Lane); shift *= 2) x = x + (x >> shift);
  return x & static_cast<Lane>(0x7F);  // at most 64
}

}  // namespace selfinstruct::detail

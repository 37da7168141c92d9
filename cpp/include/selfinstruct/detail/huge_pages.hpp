// An allocator for the index's large random-access arrays (signature slots, posting arenas). A
// probe touches ~100 unrelated places in them: with 4 KiB pages nearly each access also misses
// the TLB, with 2 MiB pages far fewer do. Blocks of at least 2 MiB are mapped 2 MiB-aligned and
// marked for transparent huge pages (Linux); smaller ones, and other systems, use operator new.
// Untouched pages still cost no memory.
#pragma once
#include <cstddef>
#include <cstdint>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace selfinstruct::detail {

template <typename T>
class HugePageAllocator {
 public:
  using value_type = T;
  HugePageAllocator() noexcept = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) noexcept {}  // NOLINT: rebinding is implicit

  T* allocate(size_t n) {
    if (n > (SIZE_MAX - 2 * kHugePage) / sizeof(T)) throw std::bad_array_new_length();
    const size_t bytes = n * sizeof(T);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes >= kHugePage) {
      // Map one huge page more than needed, then unmap the unaligned ends.
      const size_t mapped = round_up(bytes) + kHugePage;
      void* raw = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (raw == MAP_FAILED) throw std::bad_alloc();
      const auto start = reinterpret_cast<uintptr_t>(raw);
      const uintptr_t aligned = (start + kHugePage - 1) & ~(uintptr_t{kHugePage} - 1);
      if (aligned > start) munmap(raw, aligned - start);
      const uintptr_t end = start + mapped, used_end = aligned + round_up(bytes);
      if (end > used_end) munmap(reinterpret_cast<void*>(used_end), end - used_end);
      madvise(reinterpret_cast<void*>(aligned), round_up(bytes), MADV_HUGEPAGE);  // a hint: failure is harmless
      return reinterpret_cast<T*>(aligned);
    }
#endif
    return static_cast<T*>(::operator new(bytes));
  }
  void deallocate(T* pointer, size_t n) noexcept {
    const size_t bytes = n * sizeof(T);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes >= kHugePage) {
      munmap(pointer, round_up(bytes));
      return;
    }
#endif
    ::operator delete(pointer);
  }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const noexcept {
    return true;
  }
  template <typename U>
  bool operator!=(const HugePageAllocator<U>&) const noexcept {
    return false;
  }

 private:
  static constexpr size_t kHugePage = size_t{2} << 20;
  static size_t round_up(size_t bytes) { return (bytes + kHugePage - 1) & ~(kHugePage - 1); }
};

}  // namespace selfinstruct::detail

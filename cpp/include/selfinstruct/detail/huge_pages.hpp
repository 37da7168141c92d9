// Mappings for the index's large random-access arrays (signature slots, posting arenas). Blocks
// of at least 2 MiB are mapped 2 MiB-aligned (Linux); smaller ones, and other systems, use
// operator new. Untouched pages cost no memory.
//
// Transparent huge pages are opt-in (SELFINSTRUCT_HUGE_PAGES=1): a probe touches ~100 unrelated
// places in these arrays, and with 2 MiB pages fewer of them miss the TLB, but a fresh huge page
// can cost far more than the TLB saves. On a virtual machine that hands free memory back to its
// host (virtio-balloon free page reporting), every fresh huge page is a block the host must back
// again, while 4 KiB pages mostly come from memory the guest still holds: admission of the 1M
// stream measured 1.16x faster without them (docs/admission_index.md).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#if defined(__linux__) && defined(MADV_HUGEPAGE)
#define SELFINSTRUCT_HUGE_PAGES 1
#if defined(MREMAP_MAYMOVE) && defined(MREMAP_FIXED)
#define SELFINSTRUCT_MOVABLE_PAGES 1
#endif
#endif

namespace selfinstruct::detail {

constexpr size_t kHugePage = size_t{2} << 20;
inline size_t round_up_to_huge_page(size_t bytes) { return (bytes + kHugePage - 1) & ~(kHugePage - 1); }

#if defined(SELFINSTRUCT_HUGE_PAGES)
// Whether the environment asks for transparent huge pages (SELFINSTRUCT_HUGE_PAGES=1), read once.
inline bool huge_pages_requested() {
  static const bool requested = [] {
    const char* value = std::getenv("SELFINSTRUCT_HUGE_PAGES");
    return value != nullptr && (std::strcmp(value, "1") == 0 || std::strcmp(value, "true") == 0 ||
                                std::strcmp(value, "yes") == 0 || std::strcmp(value, "on") == 0);
  }();
  return requested;
}

// A 2 MiB-aligned anonymous mapping of `bytes` (a multiple of 2 MiB), marked for huge pages where
// requested: one huge page more is mapped, then the unaligned ends are unmapped.
inline void* map_huge_pages(size_t bytes) {
  const size_t mapped = bytes + kHugePage;
  void* raw = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kHugePage - 1) & ~(uintptr_t{kHugePage} - 1);
  if (aligned > start) munmap(raw, aligned - start);
  const uintptr_t end = start + mapped, used_end = aligned + bytes;
  if (end > used_end) munmap(reinterpret_cast<void*>(used_end), end - used_end);
  if (huge_pages_requested()) madvise(reinterpret_cast<void*>(aligned), bytes, MADV_HUGEPAGE);  // a hint: failure is harmless
  return reinterpret_cast<void*>(aligned);
}
#endif

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
#if defined(SELFINSTRUCT_HUGE_PAGES)
    if (bytes >= kHugePage) return static_cast<T*>(map_huge_pages(round_up_to_huge_page(bytes)));
#endif
    return static_cast<T*>(::operator new(bytes));
  }
  void deallocate(T* pointer, size_t n) noexcept {
    const size_t bytes = n * sizeof(T);
#if defined(SELFINSTRUCT_HUGE_PAGES)
    if (bytes >= kHugePage) {
      munmap(pointer, round_up_to_huge_page(bytes));
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
};

// A growable array of a trivially copyable type for the pool's arrays that grow by doubling from
// a few elements to hundreds of megabytes (posting arenas, token ids, elements, texts). Unlike
// std::vector, growing does not copy: on Linux the pages move to a larger 2 MiB-aligned mapping
// (mremap), so the contents are neither copied nor faulted in again (a fresh page costs the
// kernel a zeroing, and on a virtual machine often the host a fault too: growing std::vectors
// caused a quarter of the 1M admission's page faults, most of them in steps that run on one
// thread; bench/RESULTS.md, session 17). New elements are zero, as in std::vector, but memory a
// fresh mapping already holds as zero is not written again.
template <typename T>
class HugeArray {
  static_assert(std::is_trivially_copyable_v<T>, "HugeArray moves its contents as bytes");

 public:
  HugeArray() = default;
  HugeArray(const HugeArray&) = delete;
  HugeArray& operator=(const HugeArray&) = delete;
  HugeArray(HugeArray&& other) noexcept { take(other); }
  HugeArray& operator=(HugeArray&& other) noexcept {
    if (this != &other) {
      release();
      take(other);
    }
    return *this;
  }
  ~HugeArray() { release(); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t capacity() const { return capacity_; }
  T* data() { return data_; }
  const T* data() const { return data_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  const T& back() const { return data_[size_ - 1]; }
  void push_back(const T& value) {
    if (size_ == capacity_) grow(std::max<size_t>(16, 2 * capacity_));
    data_[size_++] = value;
    written_ = std::max(written_, size_);
  }
  void pop_back() { --size_; }
  // Appends `count` elements copied from `values`, which may lie in this array's own elements.
  void append(const T* values, size_t count) {
    if (count == 0) return;
    if (size_ + count > capacity_) {
      // Growing moves the elements: a source inside them is found again by its position.
      const bool inside = data_ != nullptr && values >= data_ && values < data_ + size_;
      const size_t at = inside ? static_cast<size_t>(values - data_) : 0;
      grow(std::max(size_ + count, 2 * capacity_));
      if (inside) values = data_ + at;
    }
    std::memmove(static_cast<void*>(data_ + size_), values, count * sizeof(T));
    size_ += count;
    written_ = std::max(written_, size_);
  }

  // Empties the array, keeping its memory.
  void clear() { size_ = 0; }
  // Empties the array and returns its memory.
  void release() {
    if (data_ != nullptr) {
      if (mapped_) {
        unmap(data_, capacity_ * sizeof(T));
      } else {
        ::operator delete(data_);
      }
    }
    data_ = nullptr;
    size_ = capacity_ = written_ = 0;
    mapped_ = false;
  }
  void reserve(size_t n) {
    if (n > capacity_) grow(n);
  }
  // Grows or shrinks to n elements; new elements are zero.
  void resize(size_t n) {
    if (n > capacity_) grow(std::max(n, 2 * capacity_));
    if (n > size_) {
      // Past `written_`, a mapping's memory is still the kernel's zero pages.
      const size_t dirty_end = std::min(n, written_);
      if (dirty_end > size_) std::memset(static_cast<void*>(data_ + size_), 0, (dirty_end - size_) * sizeof(T));
      written_ = std::max(written_, n);
    }
    size_ = n;
  }

 private:
  void take(HugeArray& other) {
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    written_ = std::exchange(other.written_, 0);
    mapped_ = std::exchange(other.mapped_, false);
  }

  void grow(size_t n) {
    if (n > (SIZE_MAX - 2 * kHugePage) / sizeof(T)) throw std::bad_array_new_length();
#if defined(SELFINSTRUCT_MOVABLE_PAGES)
    if (n * sizeof(T) >= kHugePage) {
      const size_t bytes = round_up_to_huge_page(n * sizeof(T));
      T* fresh = static_cast<T*>(map_huge_pages(bytes));
      if (mapped_) {
        // Move the pages over the start of the new mapping (both 2 MiB-aligned, so huge pages stay
        // huge); copy only if the kernel refuses.
        const size_t old_bytes = capacity_ * sizeof(T);
        if (mremap(data_, old_bytes, old_bytes, MREMAP_MAYMOVE | MREMAP_FIXED, fresh) == MAP_FAILED) {
          std::memcpy(static_cast<void*>(fresh), data_, size_ * sizeof(T));
          unmap(data_, old_bytes);
          written_ = size_;
        }
      } else if (data_ != nullptr) {
        std::memcpy(static_cast<void*>(fresh), data_, size_ * sizeof(T));
        ::operator delete(data_);
        written_ = size_;
      } else {
        written_ = 0;
      }
      data_ = fresh;
      capacity_ = bytes / sizeof(T);
      mapped_ = true;
      return;
    }
#endif
    // (Below 2 MiB, or without movable pages: a mapped array is never this small, so the old
    // storage is heap memory too.)
    T* fresh = static_cast<T*>(::operator new(n * sizeof(T)));
    if (data_ != nullptr) {
      std::memcpy(static_cast<void*>(fresh), data_, size_ * sizeof(T));
      ::operator delete(data_);
    }
    data_ = fresh;
    capacity_ = n;
    written_ = SIZE_MAX;  // heap memory: every new element is written
    mapped_ = false;
  }

#if defined(SELFINSTRUCT_MOVABLE_PAGES)
  static void unmap(void* pointer, size_t bytes) { munmap(pointer, bytes); }
#else
  static void unmap(void*, size_t) {}  // (nothing is mapped without movable pages)
#endif

  T* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
  size_t written_ = 0;  // elements [0, written_) may hold nonzero bytes (SIZE_MAX: all of them)
  bool mapped_ = false;
};

}  // namespace selfinstruct::detail

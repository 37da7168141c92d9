// A growable array whose append is a store and a compare, inlined by force: in a function as
// large as a probe, compilers keep std::vector's push_back (and a plain inline one) out of line,
// and a probe appends dozens of items.
#pragma once
#include <algorithm>
#include <cstddef>
#include <vector>

#if defined(__GNUC__)
#define SELFINSTRUCT_ALWAYS_INLINE inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define SELFINSTRUCT_ALWAYS_INLINE __forceinline
#else
#define SELFINSTRUCT_ALWAYS_INLINE inline
#endif

namespace selfinstruct::detail {

template <typename T>
class AppendBuffer {
 public:
  void clear() { size_ = 0; }
  SELFINSTRUCT_ALWAYS_INLINE void push_back(const T& item) {
    if (size_ == items_.size()) grow();
    items_[size_++] = item;
  }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](size_t k) { return items_[k]; }
  const T& operator[](size_t k) const { return items_[k]; }
  T& back() { return items_[size_ - 1]; }
  T* begin() { return items_.data(); }
  T* end() { return items_.data() + size_; }
  const T* begin() const { return items_.data(); }
  const T* end() const { return items_.data() + size_; }

 private:
  void grow() { items_.resize(std::max<size_t>(64, 2 * size_)); }
  std::vector<T> items_;  // [0, size_) in use; the rest kept for the next use
  size_t size_ = 0;
};

}  // namespace selfinstruct::detail

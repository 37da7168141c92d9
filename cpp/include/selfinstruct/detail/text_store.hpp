// The texts of a pool in one byte arena, so an index always names the text it was admitted as.
#pragma once
#include <cstddef>
#include <string_view>

#include "selfinstruct/detail/huge_pages.hpp"

namespace selfinstruct::detail {

class TextStore {
 public:
  size_t size() const { return ends_.size(); }
  void push_back(std::string_view text) {
    bytes_.append(text.data(), text.size());
    ends_.push_back(bytes_.size());
  }
  std::string_view operator[](size_t index) const {
    const size_t begin = index == 0 ? 0 : ends_[index - 1];
    return {bytes_.data() + begin, ends_[index] - begin};
  }
  void truncate(size_t count) {
    if (count >= ends_.size()) return;
    bytes_.resize(count == 0 ? 0 : ends_[count - 1]);
    ends_.resize(count);
  }

 private:
  // Grown without copying (see HugeArray): a pool's texts reach hundreds of megabytes.
  HugeArray<char> bytes_;
  HugeArray<size_t> ends_;
};

}  // namespace selfinstruct::detail

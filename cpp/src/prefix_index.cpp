#include "selfinstruct/detail/prefix_index.hpp"

#include <algorithm>
#include <numeric>

#include "selfinstruct/score.hpp"

namespace selfinstruct::detail {
namespace {
constexpr uint32_t kDead = UINT32_MAX;
constexpr size_t kFirstRebuild = 1024;
constexpr size_t kRebuildGrowth = 4;

// Size of the intersection of two sorted key lists, stopping once `need` is out of reach.
uint32_t overlap(const uint64_t* a, uint32_t n, const uint64_t* b, uint32_t m, uint32_t need) {
  uint32_t i = 0, j = 0, common = 0;
  while (i < n && j < m) {
    if (common + std::min(n - i, m - j) < need) return common;
    if (a[i] == b[j]) {
      ++common;
      ++i;
      ++j;
    } else if (a[i] < b[j]) {
      ++i;
    } else {
      ++j;
    }
  }
  return common;
}
}  // namespace

bool PrefixIndex::needs_rebuild(size_t entries, size_t incoming) const {
  if (!built_) return true;
  return entries + incoming >= std::max(kFirstRebuild, kRebuildGrowth * built_at_);
}

void PrefixIndex::rebuild(const TokenSequences& entries, const TokenSequences& sample, size_t vocabulary_size) {
  std::vector<uint32_t> frequency(vocabulary_size, 0);
  for (const TokenSequences* source : {&entries, &sample}) {
    for (size_t i = 0; i < source->size(); ++i) {
      const uint32_t* tokens = source->data(i);
      for (uint32_t k = 0; k < source->length(i); ++k) ++frequency[tokens[k]];
    }
  }
  std::vector<uint32_t> order(vocabulary_size);
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return frequency[a] < frequency[b]; });
  rank_.assign(vocabulary_size, 0);
  for (uint32_t position = 0; position < vocabulary_size; ++position) rank_[order[position]] = 0x80000000u + position;

  postings_.clear();
  elements_.clear();
  indexed_ = 0;
  for (size_t i = 0; i < entries.size(); ++i) add_next(entries);
  built_at_ = entries.size();
  built_ = true;
}

void PrefixIndex::elements_of(const uint32_t* tokens, uint32_t n, std::vector<uint64_t>& out) const {
  out.resize(n);
  for (uint32_t k = 0; k < n; ++k) out[k] = static_cast<uint64_t>(rank_of(tokens[k])) << 32;
  std::sort(out.begin(), out.end());
  for (uint32_t k = 1; k < n; ++k) {
    if ((out[k] >> 32) == (out[k - 1] >> 32)) out[k] = out[k - 1] + 1;
  }
}

uint32_t PrefixIndex::prefix_length(uint32_t n) const {
  const uint32_t need = bounds_.min_overlap(n);
  return need == LengthBounds::kNone || need > n ? 0 : n - need + 1;
}

void PrefixIndex::add_next(const TokenSequences& entries) {
  const size_t entry = indexed_;
  const uint32_t m = entries.length(entry);
  std::vector<uint64_t> keys;
  elements_of(entries.data(entry), m, keys);
  elements_.insert(elements_.end(), keys.begin(), keys.end());
  const uint32_t prefix = prefix_length(m);
  for (uint32_t j = 0; j < prefix; ++j) {
    postings_[keys[j]].push_back(Posting{static_cast<uint32_t>(entry), m, j});
  }
  ++indexed_;
}

void PrefixIndex::truncate(const TokenSequences& entries, size_t count) {
  while (indexed_ > count) {
    const size_t entry = indexed_ - 1;
    const uint64_t* keys = elements_.data() + entries.offset(entry);
    const uint32_t prefix = prefix_length(entries.length(entry));
    for (uint32_t j = 0; j < prefix; ++j) {
      auto found = postings_.find(keys[j]);
      found->second.pop_back();
      if (found->second.empty()) postings_.erase(found);
    }
    elements_.resize(entries.offset(entry));
    --indexed_;
  }
}

Match PrefixIndex::probe(const uint32_t* tokens, uint32_t n, const TokenSequences& entries, size_t first_entry,
                         bool tail_only, ProbeScratch& scratch) const {
  Match best;
  const LengthBounds::QueryBounds& bounds = bounds_.for_length(n, scratch.bounds);
  if (bounds.overlap == LengthBounds::kNone || bounds.overlap > n) return best;
  const uint32_t prefix = n - bounds.overlap + 1;
  elements_of(tokens, n, scratch.elements);
  if (scratch.count.size() < indexed_) scratch.count.resize(indexed_, 0);
  const uint64_t* keys = scratch.elements.data();

  for (uint32_t i = 0; i < prefix; ++i) {
    const auto found = postings_.find(keys[i]);
    if (found == postings_.end()) continue;
    const std::vector<Posting>& list = found->second;
    auto visit = [&](const Posting& posting) {
      if (!bounds.admissible(posting.length)) return;
      uint32_t& count = scratch.count[posting.entry];
      if (count == kDead) return;
      if (count == 0) scratch.touched.push_back(posting.entry);
      // Positional bound: everything shared before this element was already counted, and at
      // most min(remaining in either list) more can follow.
      const uint32_t remaining = std::min(n - 1 - i, posting.length - 1 - posting.position);
      count = count + 1 + remaining < bounds.need(posting.length) ? kDead : count + 1;
    };
    if (tail_only) {
      size_t k = list.size();
      while (k > 0 && list[k - 1].entry >= first_entry) visit(list[--k]);
      scratch.probed += list.size() - k;
    } else {
      for (const Posting& posting : list) visit(posting);
      scratch.probed += list.size();
    }
  }

  bool pattern_ready = false;
  for (const uint32_t entry : scratch.touched) {
    const uint32_t count = scratch.count[entry];
    scratch.count[entry] = 0;
    if (count == kDead) continue;
    const uint32_t m = entries.length(entry);
    const uint32_t need = bounds.need(m);
    ++scratch.verified;
    if (overlap(keys, n, elements_.data() + entries.offset(entry), m, need) < need) continue;
    if (!pattern_ready) {
      scratch.pattern.assign(tokens, n);
      pattern_ready = true;
    }
    ++scratch.lcs;
    const double score = rouge_f(scratch.pattern.lcs(entries.data(entry), m), m, n);
    if (score > bounds_.threshold() &&
        (score > best.score || (score == best.score && static_cast<int64_t>(entry) < best.index))) {
      best.score = score;
      best.index = static_cast<int64_t>(entry);
    }
  }
  scratch.touched.clear();
  return best;
}

}  // namespace selfinstruct::detail

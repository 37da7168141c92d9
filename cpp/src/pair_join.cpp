#include "selfinstruct/detail/pair_join.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

#include "selfinstruct/detail/parallel.hpp"
#include "selfinstruct/detail/prefix_index.hpp"
#include "selfinstruct/detail/signature_table.hpp"
#include "selfinstruct/detail/signatures.hpp"
#include "selfinstruct/score.hpp"

namespace selfinstruct::detail {
namespace {
constexpr uint32_t kShardBits = 4;
constexpr size_t kShards = size_t{1} << kShardBits;  // by the fingerprint's low bits
constexpr size_t kParallelFrom = 2048;  // fewer candidates than this are hashed on one thread
// Pair checks per task of step 3: a run of a frequent signature is quadratic in its length, so
// tasks are cut by cost, not by shard, or one shard holding such runs keeps one worker busy
// while the others wait.
constexpr size_t kPairTaskCost = size_t{1} << 14;
// A signature packed in one word, so that sorting the words groups each signature's candidates
// in chunk order: the key's fingerprint, the candidate, the pair's (last) position.
constexpr uint32_t kPositionBits = 5;
constexpr uint32_t kCandidateBits = 32 - kPositionBits;
static_assert(PrefixIndex::kMaxPairPrefix <= (1u << kPositionBits), "pair positions fit their bits");
inline uint64_t pack(uint32_t print, uint32_t candidate, uint32_t position) {
  return (uint64_t{print} << 32) | (uint64_t{candidate} << kPositionBits) | position;
}
inline uint32_t print_of(uint64_t word) { return static_cast<uint32_t>(word >> 32); }
inline uint32_t candidate_of(uint64_t word) { return static_cast<uint32_t>(word) >> kPositionBits; }
inline uint32_t position_of(uint64_t word) { return static_cast<uint32_t>(word) & ((1u << kPositionBits) - 1); }

// Groups words by fingerprint, keeping their order within a group: a stable radix sort on the
// fingerprint's bits above the shard's (a comparison sort of a chunk's signatures cost more
// than the rest of the join).
void sort_by_print(std::vector<uint64_t>& words, std::vector<uint64_t>& spare, uint32_t low_bits) {
  constexpr uint32_t kDigitBits = 10;
  std::array<uint32_t, (1u << kDigitBits) + 1> counts;
  spare.resize(words.size());
  for (uint32_t shift = 32 + low_bits; shift < 64; shift += kDigitBits) {
    counts.fill(0);
    const uint32_t mask = (1u << std::min(kDigitBits, 64 - shift)) - 1;
    for (const uint64_t word : words) ++counts[((word >> shift) & mask) + 1];
    for (size_t d = 1; d < counts.size(); ++d) counts[d] += counts[d - 1];
    for (const uint64_t word : words) spare[counts[(word >> shift) & mask]++] = word;
    words.swap(spare);
  }
}
// Cuts a shard's grouped words into tasks of about kPairTaskCost pair checks each (a word costs
// one check per earlier member of its run, plus one).
void cut_tasks(const std::vector<uint64_t>& words, uint32_t shard, std::vector<PairTask>& tasks) {
  tasks.clear();
  size_t run_first = 0, begin = 0, begin_run_first = 0, cost = 0;
  for (size_t k = 0; k < words.size(); ++k) {
    if (k == 0 || print_of(words[k]) != print_of(words[k - 1])) run_first = k;
    if (k == begin) begin_run_first = run_first;
    cost += k - run_first + 1;
    if (cost >= kPairTaskCost || k + 1 == words.size()) {
      tasks.push_back(PairTask{shard, static_cast<uint32_t>(begin_run_first), static_cast<uint32_t>(begin),
                               static_cast<uint32_t>(k + 1)});
      begin = k + 1;
      cost = 0;
    }
  }
}
// Sorts and deduplicates each worker's words (in parallel), then merges them into the first.
void sort_unique_merge(std::vector<std::vector<uint64_t>>& parts, int threads, std::vector<uint64_t>& spare) {
  parallel_for(parts.size(), threads, 1, [&](size_t begin, size_t end, int) {
    for (size_t w = begin; w < end; ++w) {
      std::sort(parts[w].begin(), parts[w].end());
      parts[w].erase(std::unique(parts[w].begin(), parts[w].end()), parts[w].end());
    }
  });
  std::vector<uint64_t>& all = parts[0];
  for (size_t w = 1; w < parts.size(); ++w) {
    spare.resize(all.size() + parts[w].size());
    spare.erase(std::set_union(all.begin(), all.end(), parts[w].begin(), parts[w].end(), spare.begin()), spare.end());
    all.swap(spare);
  }
}
// Calls visit(begin, end) for each run of words with one fingerprint, at least two long.
template <typename Visit>
void for_each_run(const std::vector<uint64_t>& words, Visit&& visit) {
  for (size_t begin = 0; begin < words.size();) {
    size_t end = begin + 1;
    while (end < words.size() && print_of(words[end]) == print_of(words[begin])) ++end;
    if (end - begin >= 2) visit(begin, end);
    begin = end;
  }
}
}  // namespace

void join_pairs(const PrefixIndex& index, const TokenSequences& chunk, const uint64_t* elements, const std::vector<uint8_t>& roles,
                size_t shared_budget, size_t verify_budget, int threads, PairJoinScratch& scratch,
                PairJoinResult& out) {
  const size_t count = chunk.size();
  if (count >= (size_t{1} << kCandidateBits)) throw std::length_error("a chunk too large to join");
  out.matches.clear();
  out.over_budget.assign(count, 0);
  out.probed = out.verified = out.lcs = 0;
  const auto workers = static_cast<size_t>(std::max(threads, 1));
  scratch.shared.resize(workers);
  scratch.found.resize(workers);
  scratch.matched.resize(workers);
  scratch.bounds.resize(workers);
  scratch.patterns.resize(workers);
  const auto paired = [&](size_t c) { return (roles[c] & kJoinPairIndexed) && (roles[c] & (kJoinPartner | kJoinProber)); };
  bool probers = false, partners = false;
  for (size_t c = 0; c < count; ++c) {
    probers = probers || (paired(c) && (roles[c] & kJoinProber));
    partners = partners || (paired(c) && (roles[c] & kJoinPartner));
  }
  if (!probers || !partners) return;
  scratch.sketches.assign(count, 0);

  // 1. Each pair-indexed candidate's sketch and pair signatures, hashed by contiguous parts of
  //    the chunk into one bucket per shard (so each bucket is in chunk order).
  const size_t parts = count < kParallelFrom ? 1 : std::min(workers, kShards);
  const size_t per_part = (count + parts - 1) / parts;
  scratch.buckets.resize(parts * kShards);
  parallel_for(parts, static_cast<int>(parts), 1, [&](size_t begin, size_t end, int) {
    for (size_t part = begin; part < end; ++part) {
      std::vector<uint64_t>* mine = scratch.buckets.data() + part * kShards;
      for (size_t shard = 0; shard < kShards; ++shard) mine[shard].clear();
      for (size_t c = part * per_part; c < std::min(count, (part + 1) * per_part); ++c) {
        if (!paired(c)) continue;
        const uint32_t n = chunk.length(c);
        const uint64_t* keys = elements + chunk.offset(c);
        scratch.sketches[c] = sketch_of(keys, n);
        const uint32_t prefix = index.pair_prefix(n);
        // As the index publishes. A rare element goes in at position i + 1, so that step 3's pair
        // bound (position + need <= length + 1) reads as a single's (i + need <= length).
        index.for_each_pair_signature(keys, prefix, [&](uint64_t key, uint32_t position, TableSet set) {
          const uint32_t print = SignatureTable::fingerprint(key);
          mine[print % kShards].push_back(pack(print, static_cast<uint32_t>(c), position + (set == kRareLists ? 1 : 0)));
        });
      }
    }
  });

  // 2. Per shard: grouped, so each signature's candidates form a run in chunk order; each prober
  //    counts the partners it shares a signature with (what a probe's lists would have held).
  scratch.shards.resize(kShards);
  scratch.tasks.resize(kShards);
  scratch.spare.resize(workers);
  for (auto& shared : scratch.shared) shared.assign(count, 0);
  parallel_for(kShards, threads, 1, [&](size_t begin, size_t end, int worker) {
    std::vector<uint32_t>& shared = scratch.shared[static_cast<size_t>(worker)];
    for (size_t shard = begin; shard < end; ++shard) {
      std::vector<uint64_t>& words = scratch.shards[shard];
      words.clear();
      for (size_t part = 0; part < parts; ++part) {
        const std::vector<uint64_t>& bucket = scratch.buckets[part * kShards + shard];
        words.insert(words.end(), bucket.begin(), bucket.end());
      }
      sort_by_print(words, scratch.spare[static_cast<size_t>(worker)], kShardBits);
      cut_tasks(words, static_cast<uint32_t>(shard), scratch.tasks[shard]);
      for_each_run(words, [&](size_t first, size_t last) {
        uint32_t run_partners = 0;
        for (size_t k = first; k < last; ++k) run_partners += (roles[candidate_of(words[k])] & kJoinPartner) != 0;
        if (run_partners == 0) return;
        for (size_t k = first; k < last; ++k) {
          if (roles[candidate_of(words[k])] & kJoinProber) shared[candidate_of(words[k])] += run_partners;
        }
      });
    }
  });
  scratch.cost.assign(count, 0);
  for (const auto& shared : scratch.shared) {
    for (size_t c = 0; c < count; ++c) scratch.cost[c] += shared[c];
  }
  for (size_t c = 0; c < count; ++c) out.over_budget[c] = scratch.cost[c] > shared_budget;

  // 3. Every (earlier partner, prober) of a run that passes the bounds a probe applies to a
  //    posting: partner length, both prefix positions, both sketches. In tasks of bounded cost.
  scratch.all_tasks.clear();
  for (const auto& tasks : scratch.tasks) scratch.all_tasks.insert(scratch.all_tasks.end(), tasks.begin(), tasks.end());
  for (auto& found : scratch.found) found.clear();
  std::vector<uint64_t> examined(workers, 0);
  parallel_for(scratch.all_tasks.size(), threads, 1, [&](size_t begin, size_t end, int worker) {
    const auto w = static_cast<size_t>(worker);
    std::vector<uint64_t>& found = scratch.found[w];
    uint64_t checked = 0;  // (a local count: the workers' counters share a cache line)
    for (size_t t = begin; t < end; ++t) {
      const PairTask& task = scratch.all_tasks[t];
      const std::vector<uint64_t>& words = scratch.shards[task.shard];
      size_t first = task.run_first;
      for (size_t k = task.begin; k < task.end; ++k) {
        if (k > task.begin && print_of(words[k]) != print_of(words[k - 1])) first = k;
        if (k == first) continue;  // no earlier member
        const uint32_t prober = candidate_of(words[k]);
        if (!(roles[prober] & kJoinProber) || out.over_budget[prober]) continue;
        const uint32_t n = chunk.length(prober), probe_position = position_of(words[k]);
        const LengthBounds::QueryBounds& bounds = index.bounds().for_length(n, scratch.bounds[w]);
        const uint64_t sketch = scratch.sketches[prober];
        for (size_t j = first; j < k; ++j) {
          const uint32_t partner = candidate_of(words[j]);
          if (!(roles[partner] & kJoinPartner) || partner == prober) continue;
          ++checked;
          const uint32_t m = chunk.length(partner);
          if (!bounds.admissible(m)) continue;
          const uint32_t need = bounds.need(m);
          if (probe_position + need > n + 1 || position_of(words[j]) + need > m + 1) continue;
          if (!sketches_allow(sketch, n, scratch.sketches[partner], m, need)) continue;
          found.push_back((uint64_t{prober} << 32) | partner);
        }
      }
    }
    examined[w] += checked;
  });
  for (const uint64_t e : examined) out.probed += e;

  // 4. Each prober's partners, once each, counted and scored (probers split among workers).
  sort_unique_merge(scratch.found, threads, scratch.spare[0]);
  const std::vector<uint64_t>& all = scratch.found[0];
  std::vector<size_t> starts;  // where each prober's partners begin in `all`
  for (size_t k = 0; k < all.size(); ++k) {
    if (k == 0 || (all[k] >> 32) != (all[k - 1] >> 32)) starts.push_back(k);
  }
  starts.push_back(all.size());
  std::vector<uint64_t> verified(workers, 0), scored(workers, 0);
  for (auto& matched : scratch.matched) matched.clear();
  const double threshold = index.bounds().threshold();
  parallel_for(starts.size() - 1, threads, 64, [&](size_t begin, size_t end, int worker) {
    const auto w = static_cast<size_t>(worker);
    uint64_t counts = 0, scores = 0;  // (local counts, as in step 3)
    for (size_t group = begin; group < end; ++group) {
      const auto prober = static_cast<uint32_t>(all[starts[group]] >> 32);
      const uint32_t n = chunk.length(prober);
      const LengthBounds::QueryBounds& bounds = index.bounds().for_length(n, scratch.bounds[w]);
      const uint64_t* keys = elements + chunk.offset(prober);
      const size_t kept = scratch.matched[w].size();
      bool pattern_ready = false;
      size_t counted = 0;
      for (size_t k = starts[group]; k < starts[group + 1]; ++k) {
        const auto partner = static_cast<uint32_t>(all[k]);
        const uint32_t m = chunk.length(partner), need = bounds.need(m);
        if (++counted > verify_budget) {
          out.over_budget[prober] = 1;
          scratch.matched[w].resize(kept);
          break;
        }
        ++counts;
        if (overlap(keys, n, elements + chunk.offset(partner), m, need) < need) continue;
        if (!pattern_ready) {
          scratch.patterns[w].assign(chunk.data(prober), n);
          pattern_ready = true;
        }
        ++scores;
        const double score = rouge_f(scratch.patterns[w].lcs(chunk.data(partner), m), m, n);
        if (score > threshold) scratch.matched[w].push_back(JoinMatch{prober, partner, score});
      }
    }
    verified[w] += counts;
    scored[w] += scores;
  });
  for (size_t w = 0; w < workers; ++w) {
    out.verified += verified[w];
    out.lcs += scored[w];
    out.matches.insert(out.matches.end(), scratch.matched[w].begin(), scratch.matched[w].end());
  }
  std::sort(out.matches.begin(), out.matches.end(), [](const JoinMatch& a, const JoinMatch& b) {
    return a.candidate != b.candidate ? a.candidate < b.candidate : a.earlier < b.earlier;
  });
}

}  // namespace selfinstruct::detail

#include "selfinstruct/corpus.hpp"

#include <algorithm>
#include <string>

#include "selfinstruct/detail/parallel.hpp"

namespace selfinstruct {

namespace {
// Texts are tokenized in runs of this many, each run's ids back to back in one buffer: a vector
// per text cost an allocation and a free per text, more than looking its tokens up.
constexpr size_t kRun = 256;
struct PendingToken {
  size_t position;  // index into the run's ids
  std::string token;
  uint64_t hash;
};
struct TokenRun {
  std::vector<uint32_t> ids;      // the run's texts, back to back
  std::vector<uint32_t> lengths;  // per text
  std::vector<PendingToken> pending;  // tokens not in the vocabulary yet, in text order
};
}  // namespace

void tokenize_and_intern(const std::vector<std::string_view>& texts, TokenizerMode mode, Vocabulary& vocabulary,
                         int threads, TokenSequences& out) {
  std::vector<TokenRun> runs((texts.size() + kRun - 1) / kRun);
  // Lookups only read the vocabulary, so they run in parallel; new tokens wait for the serial pass.
  detail::parallel_for(runs.size(), threads, 1, [&](size_t begin, size_t end, int) {
    TokenSpans spans;
    for (size_t r = begin; r < end; ++r) {
      TokenRun& run = runs[r];
      for (size_t t = r * kRun; t < std::min(texts.size(), (r + 1) * kRun); ++t) {
        tokenize(texts[t], mode, spans);
        run.lengths.push_back(static_cast<uint32_t>(spans.size()));
        for (size_t k = 0; k < spans.size(); ++k) {
          const std::string_view token = spans.token(k);
          const uint64_t h = Vocabulary::hash(token);
          const uint32_t id = vocabulary.find(token, h);
          if (id == Vocabulary::kMissing) run.pending.push_back({run.ids.size(), std::string(token), h});
          run.ids.push_back(id);
        }
      }
    }
  });
  for (TokenRun& run : runs) {
    for (const PendingToken& miss : run.pending) run.ids[miss.position] = vocabulary.intern(miss.token, miss.hash);
    const uint32_t* ids = run.ids.data();
    for (const uint32_t length : run.lengths) {
      out.append(ids, length);
      ids += length;
    }
  }
}

}  // namespace selfinstruct

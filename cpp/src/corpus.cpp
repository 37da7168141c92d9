#include "selfinstruct/corpus.hpp"

#include "selfinstruct/detail/parallel.hpp"

namespace selfinstruct {

namespace {
struct PendingToken {
  uint32_t position;  // index into the text's id vector
  std::string token;
  uint64_t hash;
};
}  // namespace

void tokenize_and_intern(const std::vector<std::string_view>& texts, TokenizerMode mode, Vocabulary& vocabulary,
                         int threads, TokenSequences& out) {
  std::vector<std::vector<uint32_t>> ids(texts.size());
  std::vector<std::vector<PendingToken>> pending(texts.size());
  // Lookups only read the vocabulary, so they run in parallel; new tokens wait for the serial pass.
  detail::parallel_for(texts.size(), threads, 256, [&](size_t begin, size_t end, int) {
    TokenSpans spans;
    for (size_t t = begin; t < end; ++t) {
      tokenize(texts[t], mode, spans);
      auto& row = ids[t];
      row.resize(spans.size());
      for (size_t k = 0; k < spans.size(); ++k) {
        const std::string_view token = spans.token(k);
        const uint64_t h = Vocabulary::hash(token);
        const uint32_t id = vocabulary.find(token, h);
        row[k] = id;
        if (id == Vocabulary::kMissing) pending[t].push_back({static_cast<uint32_t>(k), std::string(token), h});
      }
    }
  });
  for (size_t t = 0; t < texts.size(); ++t) {
    for (const auto& miss : pending[t]) ids[t][miss.position] = vocabulary.intern(miss.token, miss.hash);
    out.append(ids[t].data(), ids[t].size());
  }
}

}  // namespace selfinstruct

#include "selfinstruct/porter_stemmer.hpp"

#include <array>
#include <utility>

namespace selfinstruct {
namespace {

bool is_vowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

// 'y' is a consonant at the start of a word and after a vowel, a vowel after a consonant: along a
// run of y's the role alternates, starting from the letter before the run.
bool is_consonant(const std::string& w, size_t i) {
  if (is_vowel(w[i])) return false;
  if (w[i] != 'y') return true;
  bool flip = false;
  while (i > 0 && w[i] == 'y') {
    flip = !flip;
    --i;
  }
  return !is_vowel(w[i]) != flip;
}

// Calls f(i, consonant) along the first `length` letters in one pass ('y' takes the opposite role
// of the letter before it, and is a consonant first): linear even for long runs of y.
template <typename F>
void for_each_letter(const std::string& w, size_t length, F&& f) {
  bool previous_consonant = false;
  for (size_t i = 0; i < length; ++i) {
    const bool consonant = w[i] == 'y' ? (i == 0 || !previous_consonant) : !is_vowel(w[i]);
    f(consonant);
    previous_consonant = consonant;
  }
}

// m in [C](VC)^m[V] for the first `length` letters of w.
int measure(const std::string& w, size_t length) {
  int m = 0;
  bool previous_vowel = false;
  for_each_letter(w, length, [&](bool consonant) {
    if (consonant && previous_vowel) ++m;
    previous_vowel = !consonant;
  });
  return m;
}

bool has_vowel(const std::string& w, size_t length) {
  bool found = false;
  for_each_letter(w, length, [&](bool consonant) { found = found || !consonant; });
  return found;
}

bool ends_with(const std::string& w, std::string_view suffix) {
  return w.size() >= suffix.size() && w.compare(w.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// *o: consonant-vowel-consonant at the end, the last not w, x or y; NLTK also counts a
// two-letter vowel-consonant word.
bool ends_cvc(const std::string& w, size_t length) {
  if (length >= 3) {
    return is_consonant(w, length - 3) && !is_consonant(w, length - 2) && is_consonant(w, length - 1) &&
           w[length - 1] != 'w' && w[length - 1] != 'x' && w[length - 1] != 'y';
  }
  return length == 2 && !is_consonant(w, 0) && is_consonant(w, 1);
}

bool ends_double_consonant(const std::string& w) {
  const size_t n = w.size();
  return n >= 2 && w[n - 1] == w[n - 2] && is_consonant(w, n - 1);
}

void replace_end(std::string& w, size_t suffix_length, std::string_view replacement) {
  w.resize(w.size() - suffix_length);
  w += replacement;
}

struct Rule {
  std::string_view suffix, replacement;
};

// The first rule whose suffix ends the word decides: it applies if the stem's measure exceeds
// `min_measure`, else the word stays as it is.
template <size_t N>
void apply_first(std::string& w, const std::array<Rule, N>& rules, int min_measure) {
  for (const Rule& rule : rules) {
    if (!ends_with(w, rule.suffix)) continue;
    if (measure(w, w.size() - rule.suffix.size()) > min_measure) replace_end(w, rule.suffix.size(), rule.replacement);
    return;
  }
}

void step1a(std::string& w) {
  if (ends_with(w, "ies") && w.size() == 4) {
    replace_end(w, 3, "ie");
  } else if (ends_with(w, "sses")) {
    replace_end(w, 4, "ss");
  } else if (ends_with(w, "ies")) {
    replace_end(w, 3, "i");
  } else if (!ends_with(w, "ss") && ends_with(w, "s")) {
    w.pop_back();
  }
}

void step1b(std::string& w) {
  if (ends_with(w, "ied")) {
    replace_end(w, 3, w.size() == 4 ? "ie" : "i");
    return;
  }
  if (ends_with(w, "eed")) {
    if (measure(w, w.size() - 3) > 0) w.pop_back();
    return;
  }
  size_t cut = 0;
  if (ends_with(w, "ed")) cut = 2;
  else if (ends_with(w, "ing")) cut = 3;
  if (cut == 0 || !has_vowel(w, w.size() - cut)) return;
  w.resize(w.size() - cut);
  if (ends_with(w, "at") || ends_with(w, "bl") || ends_with(w, "iz")) {
    w += 'e';
  } else if (ends_double_consonant(w)) {
    const char last = w.back();
    if (last != 'l' && last != 's' && last != 'z') w.pop_back();
  } else if (measure(w, w.size()) == 1 && ends_cvc(w, w.size())) {
    w += 'e';
  }
}

void step1c(std::string& w) {
  if (ends_with(w, "y") && w.size() - 1 > 1 && is_consonant(w, w.size() - 2)) w.back() = 'i';
}

void step2(std::string& w) {
  if (ends_with(w, "alli") && measure(w, w.size() - 4) > 0) {
    replace_end(w, 4, "al");
    step2(w);
    return;
  }
  static constexpr std::array<Rule, 22> rules{{
      {"ational", "ate"}, {"tional", "tion"}, {"enci", "ence"},   {"anci", "ance"},   {"izer", "ize"},
      {"bli", "ble"},     {"alli", "al"},     {"entli", "ent"},   {"eli", "e"},       {"ousli", "ous"},
      {"ization", "ize"}, {"ation", "ate"},   {"ator", "ate"},    {"alism", "al"},    {"iveness", "ive"},
      {"fulness", "ful"}, {"ousness", "ous"}, {"aliti", "al"},    {"iviti", "ive"},   {"biliti", "ble"},
      {"fulli", "ful"},   {"logi", "log"},
  }};
  for (const Rule& rule : rules) {
    if (!ends_with(w, rule.suffix)) continue;
    // NLTK measures "logi" words with the "l" kept: m(stem + "l").
    const size_t measured = w.size() - rule.suffix.size() + (rule.suffix == "logi" ? 1 : 0);
    if (measure(w, measured) > 0) replace_end(w, rule.suffix.size(), rule.replacement);
    return;
  }
}

void step3(std::string& w) {
  static constexpr std::array<Rule, 7> rules{{
      {"icate", "ic"}, {"ative", ""}, {"alize", "al"}, {"iciti", "ic"}, {"ical", "ic"}, {"ful", ""}, {"ness", ""},
  }};
  apply_first(w, rules, 0);
}

void step4(std::string& w) {
  static constexpr std::array<Rule, 19> rules{{
      {"al", ""},   {"ance", ""}, {"ence", ""}, {"er", ""},  {"ic", ""},  {"able", ""}, {"ible", ""},
      {"ant", ""},  {"ement", ""}, {"ment", ""}, {"ent", ""}, {"ion", ""}, {"ou", ""},   {"ism", ""},
      {"ate", ""},  {"iti", ""},  {"ous", ""},  {"ive", ""}, {"ize", ""},
  }};
  for (const Rule& rule : rules) {
    if (!ends_with(w, rule.suffix)) continue;
    const size_t stem = w.size() - rule.suffix.size();
    bool applies = measure(w, stem) > 1;
    if (applies && rule.suffix == "ion") applies = w[stem - 1] == 's' || w[stem - 1] == 't';
    if (applies) w.resize(stem);
    return;
  }
}

void step5(std::string& w) {
  if (ends_with(w, "e")) {
    const size_t stem = w.size() - 1;
    const int m = measure(w, stem);
    if (m > 1 || (m == 1 && !ends_cvc(w, stem))) w.pop_back();
  }
  if (ends_with(w, "ll") && measure(w, w.size() - 1) > 1) w.pop_back();
}

// NLTK's irregular forms, returned as they are listed.
const std::string* irregular(std::string_view word) {
  static const std::array<std::pair<std::string_view, std::string>, 16> forms{{
      {"sky", "sky"},         {"skies", "sky"},       {"dying", "die"},         {"lying", "lie"},
      {"tying", "tie"},       {"news", "news"},       {"innings", "inning"},    {"inning", "inning"},
      {"outings", "outing"},  {"outing", "outing"},   {"cannings", "canning"},  {"canning", "canning"},
      {"howe", "howe"},       {"proceed", "proceed"}, {"exceed", "exceed"},     {"succeed", "succeed"},
  }};
  for (const auto& form : forms) {
    if (form.first == word) return &form.second;
  }
  return nullptr;
}

}  // namespace

std::string porter_stem(std::string_view word) {
  if (const std::string* form = irregular(word)) return *form;
  std::string w(word);
  if (w.size() <= 2) return w;
  step1a(w);
  step1b(w);
  step1c(w);
  step2(w);
  step3(w);
  step4(w);
  step5(w);
  return w;
}

}  // namespace selfinstruct

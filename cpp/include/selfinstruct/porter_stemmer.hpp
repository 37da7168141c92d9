// The Porter stemmer, computing what NLTK's PorterStemmer() (its default NLTK_EXTENSIONS mode)
// returns for lower-case ASCII words, the tokens of rouge-score's tokenizer. The Python layer
// checks it against the installed NLTK before using it and calls NLTK itself otherwise.
#pragma once
#include <string>
#include <string_view>

namespace selfinstruct {

std::string porter_stem(std::string_view word);

}  // namespace selfinstruct

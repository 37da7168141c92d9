// Python bindings of the ROUGE family scorer: argument checking, the stemmer (compiled Porter or
// a Python callable such as NLTK's) and GIL handling; the scoring lives in rouge_family.cpp.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "selfinstruct/detail/summary_lcs.hpp"
#include "selfinstruct/porter_stemmer.hpp"
#include "selfinstruct/rouge_family.hpp"

namespace py = pybind11;
using selfinstruct::RougeFamilyScorer;
using selfinstruct::RougeKind;
using selfinstruct::TextInput;

namespace {

std::string class_name(py::handle object) { return py::str(py::type::of(object).attr("__name__")); }

std::string_view utf8_view(py::handle item, const std::string& what) {
  if (!PyUnicode_Check(item.ptr())) throw py::type_error(what + " must be str, not " + class_name(item));
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(item.ptr(), &size);  // cached in the str object
  if (data == nullptr) {
    PyErr_Clear();
    throw py::value_error(what + " is not valid Unicode (it contains a lone surrogate) and cannot be tokenized");
  }
  // Token offsets are 32-bit.
  if (static_cast<uint64_t>(size) >= (uint64_t{1} << 32)) throw py::value_error(what + " is too long (4 GiB or more)");
  return {data, static_cast<size_t>(size)};
}

// A tuple of the items of `sequence` (a str or bytes is refused: it would iterate characters).
// A tuple, not the list itself: another thread may change the list while the GIL is released,
// and the tuple keeps every str, whose UTF-8 buffer we read, alive.
py::object as_sequence(py::handle sequence, const std::string& name) {
  if (PyUnicode_Check(sequence.ptr()) || PyBytes_Check(sequence.ptr())) {
    throw py::type_error(name + " must be a sequence of str, not a single " + class_name(sequence));
  }
  PyObject* items = PySequence_Tuple(sequence.ptr());
  if (items == nullptr) {
    if (!PyErr_ExceptionMatches(PyExc_TypeError)) throw py::error_already_set();
    PyErr_Clear();
    throw py::type_error(name + " must be a sequence of str, not " + class_name(sequence));
  }
  return py::reinterpret_steal<py::object>(items);
}

// Texts (and optional sentence lists) as views into the Python strings, which `alive` holds.
struct TextBatch {
  std::vector<py::object> alive;
  std::vector<std::vector<std::string_view>> sentences;
  std::vector<TextInput> inputs;

  TextBatch(py::handle texts, py::handle sentence_lists, const std::string& name) {
    py::object items = as_sequence(texts, name);
    alive.push_back(items);
    const Py_ssize_t count = PyTuple_GET_SIZE(items.ptr());
    inputs.resize(static_cast<size_t>(count));
    for (Py_ssize_t i = 0; i < count; ++i) {
      inputs[i].text = utf8_view(PyTuple_GET_ITEM(items.ptr(), i), name + "[" + std::to_string(i) + "]");
    }
    if (sentence_lists.is_none()) return;
    const std::string lists_name = name + " sentences";
    py::object lists = as_sequence(sentence_lists, lists_name);
    alive.push_back(lists);
    if (PyTuple_GET_SIZE(lists.ptr()) != count) throw py::value_error(lists_name + ": one list per text expected");
    sentences.resize(static_cast<size_t>(count));
    for (Py_ssize_t i = 0; i < count; ++i) {
      const std::string where = lists_name + "[" + std::to_string(i) + "]";
      py::object list = as_sequence(PyTuple_GET_ITEM(lists.ptr(), i), where);
      alive.push_back(list);
      const Py_ssize_t size = PyTuple_GET_SIZE(list.ptr());
      for (Py_ssize_t k = 0; k < size; ++k) {
        sentences[i].push_back(utf8_view(PyTuple_GET_ITEM(list.ptr(), k), where + "[" + std::to_string(k) + "]"));
      }
      inputs[i].sentences = &sentences[i];
    }
  }
  size_t size() const { return inputs.size(); }
};

struct PyRougeFamily {
  RougeFamilyScorer scorer;
  py::object stemmer;  // None, "porter" (the compiled stemmer) or a callable: list[str] -> list[str]
  bool compiled_porter;

  static std::vector<RougeKind> kinds_of(const std::vector<std::string>& names) {
    std::vector<RougeKind> kinds;
    for (const std::string& name : names) {
      try {
        kinds.push_back(selfinstruct::parse_rouge_kind(name));
      } catch (const std::invalid_argument& error) {
        throw py::value_error(error.what());
      }
    }
    return kinds;
  }

  PyRougeFamily(const std::vector<std::string>& names, int mode, py::object stem)
      : scorer(kinds_of(names), static_cast<selfinstruct::TokenizerMode>(check_mode(mode)), !stem.is_none()),
        stemmer(std::move(stem)),
        compiled_porter(py::isinstance<py::str>(stemmer) && stemmer.cast<std::string>() == "porter") {
    if (!stemmer.is_none() && !compiled_porter && !PyCallable_Check(stemmer.ptr())) {
      throw py::type_error("stemmer must be None, 'porter' or a callable");
    }
  }

  static int check_mode(int mode) {
    if (mode != 0 && mode != 1) throw py::value_error("tokenizer mode must be 0 (rouge) or 1 (split)");
    return mode;
  }

  // Stems `tokens` (the Python stemmer runs with the GIL held) and adds them to the cache.
  void add_stems(const std::vector<std::string>& tokens) {
    if (compiled_porter) {
      py::gil_scoped_release release;
      std::vector<std::string> stems;
      stems.reserve(tokens.size());
      for (const std::string& token : tokens) stems.push_back(selfinstruct::porter_stem(token));
      scorer.stems().insert(tokens, stems);
      return;
    }
    py::object result = stemmer(py::cast(tokens));
    py::object stems = as_sequence(result, "stemmer result");
    if (static_cast<size_t>(PyTuple_GET_SIZE(stems.ptr())) != tokens.size()) {
      throw py::value_error("the stemmer must return one stem per token");
    }
    std::vector<std::string> texts;
    texts.reserve(tokens.size());
    for (size_t k = 0; k < tokens.size(); ++k) {
      texts.emplace_back(utf8_view(PyTuple_GET_ITEM(stems.ptr(), static_cast<Py_ssize_t>(k)),
                                   "stem of '" + tokens[k] + "'"));
    }
    py::gil_scoped_release release;  // the write lock waits for scoring threads, which never take the GIL
    scorer.stems().insert(tokens, texts);
  }

  // Scores every pair into out (layout of RougeFamilyScorer::score_pairs), stemming unseen tokens
  // between passes; checks for Ctrl-C between blocks of pairs.
  void run(const TextBatch& targets, const TextBatch& predictions, int threads, bool release_gil, double* out) {
    const size_t count = targets.size();
    constexpr size_t kBlock = 1 << 14;
    for (size_t start = 0; start < count; start += kBlock) {
      std::vector<size_t> todo(std::min(kBlock, count - start));
      std::iota(todo.begin(), todo.end(), start);
      for (int pass = 0; !todo.empty(); ++pass) {
        // A second pass only sees tokens stemmed after the first: a third would be a bug.
        if (pass == 3) throw std::logic_error("stems still missing after stemming them");
        RougeFamilyScorer::Pending pending;
        if (release_gil) {
          py::gil_scoped_release release;
          pending = scorer.score_pairs(targets.inputs.data(), predictions.inputs.data(), todo.data(), todo.size(),
                                       threads, out, count);
        } else {
          pending = scorer.score_pairs(targets.inputs.data(), predictions.inputs.data(), todo.data(), todo.size(),
                                       threads, out, count);
        }
        if (!pending.tokens.empty()) add_stems(pending.tokens);
        todo.swap(pending.pairs);
      }
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    }
  }
};

}  // namespace

void bind_scorer(py::module_& m) {
  py::class_<PyRougeFamily>(m, "RougeFamily")
      .def(py::init<const std::vector<std::string>&, int, py::object>(), py::arg("rouge_types"), py::arg("mode") = 0,
           py::arg("stemmer") = py::none())
      .def(
          "score",
          [](PyRougeFamily& self, py::handle target, py::handle prediction, py::handle target_sentences,
             py::handle prediction_sentences) {
            const py::tuple one_target = py::make_tuple(target), one_prediction = py::make_tuple(prediction);
            const py::object t_lists = target_sentences.is_none() ? py::object(py::none()) : py::object(py::make_tuple(target_sentences));
            const py::object p_lists = prediction_sentences.is_none() ? py::object(py::none()) : py::object(py::make_tuple(prediction_sentences));
            const TextBatch targets(one_target, t_lists, "target"), predictions(one_prediction, p_lists, "prediction");
            std::vector<double> out(3 * self.scorer.kinds().size());
            self.run(targets, predictions, 1, false, out.data());
            py::list result;
            for (size_t k = 0; k < self.scorer.kinds().size(); ++k) {
              result.append(py::make_tuple(out[3 * k], out[3 * k + 1], out[3 * k + 2]));
            }
            return result;
          },
          py::arg("target"), py::arg("prediction"), py::arg("target_sentences") = py::none(),
          py::arg("prediction_sentences") = py::none(),
          "[(precision, recall, F)] per rouge type for one pair, on the calling thread.")
      .def(
          "score_pairs",
          [](PyRougeFamily& self, py::handle targets, py::handle predictions, int threads,
             py::handle target_sentences, py::handle prediction_sentences) {
            const TextBatch t(targets, target_sentences, "targets"), p(predictions, prediction_sentences, "predictions");
            if (t.size() != p.size()) {
              throw py::value_error("targets and predictions differ in length (" + std::to_string(t.size()) + " vs " +
                                    std::to_string(p.size()) + ")");
            }
            const size_t kinds = self.scorer.kinds().size();
            py::array_t<double> out({kinds, size_t{3}, t.size()});
            self.run(t, p, threads, true, out.mutable_data());
            return out;
          },
          py::arg("targets"), py::arg("predictions"), py::arg("threads") = 0, py::arg("target_sentences") = py::none(),
          py::arg("prediction_sentences") = py::none(),
          "Scores of pairs as an array [type, (precision, recall, F), pair]; GIL released while scoring.")
      .def_property_readonly("cached_stems", [](PyRougeFamily& self) { return self.scorer.stems().size(); });

  m.def("porter_stem", [](const std::string& word) { return selfinstruct::porter_stem(word); }, py::arg("word"),
        "The compiled Porter stemmer (NLTK's default mode) of one lower-case ASCII word.");

  // For the tests: rougeLsum hits of sentences given as id lists, with a column memory limit.
  m.def("_summary_hits", [](const std::vector<std::vector<uint32_t>>& reference,
                            const std::vector<std::vector<uint32_t>>& candidate, size_t max_column_words) {
    std::vector<uint32_t> ids[2], ends[2];
    uint32_t id_count = 0;
    for (int side = 0; side < 2; ++side) {
      for (const auto& sentence : side == 0 ? reference : candidate) {
        for (const uint32_t id : sentence) id_count = std::max(id_count, id + 1);
        ids[side].insert(ids[side].end(), sentence.begin(), sentence.end());
        ends[side].push_back(static_cast<uint32_t>(ids[side].size()));
      }
    }
    selfinstruct::detail::SummaryLcs summary(max_column_words);
    return summary.hits({ids[0].data(), ends[0].data(), ends[0].size()}, {ids[1].data(), ends[1].data(), ends[1].size()},
                        id_count);
  });
}

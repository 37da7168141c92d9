// Python bindings: argument checking and GIL handling only; the work lives in the library.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <tuple>

#include "selfinstruct/corpus.hpp"
#include "selfinstruct/detail/length_bounds.hpp"
#include "selfinstruct/detail/parallel.hpp"
#include "selfinstruct/detail/posting_filter.hpp"
#include "selfinstruct/detail/text_store.hpp"
#include "selfinstruct/lcs.hpp"
#include "selfinstruct/pool.hpp"
#include "selfinstruct/score.hpp"
#include "selfinstruct/scoring.hpp"
#include "selfinstruct/similarity_fields.hpp"
#include "selfinstruct/tokenizer.hpp"

namespace py = pybind11;
using namespace selfinstruct;

void bind_scorer(py::module_& m);      // bindings_scorer.cpp
void bind_json_lines(py::module_& m);  // bindings_json.cpp

namespace {

// UTF-8 views of a sequence of Python str. `items` is a tuple snapshot taken with the GIL held:
// it owns a reference to every string, so another thread replacing list items while the GIL is
// released cannot free a string (or change what is decided) under the views.
struct Utf8Texts {
  py::object items;
  std::vector<std::string_view> views;
};

// The position a pool index names, counting negative ones from the end as Python does; false
// when it is out of range.
bool pool_position(int64_t index, size_t size, size_t& position) {
  const auto count = static_cast<int64_t>(size);
  const int64_t at = index < 0 ? index + count : index;
  if (at < 0 || at >= count) return false;
  position = static_cast<size_t>(at);
  return true;
}

std::string type_name(py::handle object) { return py::str(py::type::of(object).attr("__name__")); }

std::string_view utf8_of(py::handle item, const std::string& what) {
  if (!PyUnicode_Check(item.ptr())) throw py::type_error(what + " must be str, not " + type_name(item));
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(item.ptr(), &size);
  if (data == nullptr) {
    PyErr_Clear();
    throw py::value_error(what + " is not valid Unicode (it contains a lone surrogate) and cannot be tokenized");
  }
  return {data, static_cast<size_t>(size)};
}

Utf8Texts utf8_texts(py::handle texts, const char* name) {
  if (PyUnicode_Check(texts.ptr()) || PyBytes_Check(texts.ptr())) {
    throw py::type_error(std::string(name) + " must be a sequence of str, not a single " + type_name(texts));
  }
  PyObject* snapshot = PySequence_Tuple(texts.ptr());
  if (snapshot == nullptr) {
    PyErr_Clear();
    throw py::type_error(std::string(name) + " must be a sequence of str, not " + type_name(texts));
  }
  Utf8Texts out{py::reinterpret_steal<py::object>(snapshot), {}};
  const Py_ssize_t count = PyTuple_GET_SIZE(snapshot);
  out.views.reserve(static_cast<size_t>(count));
  for (Py_ssize_t i = 0; i < count; ++i) {
    out.views.push_back(utf8_of(PyTuple_GET_ITEM(snapshot, i), std::string(name) + "[" + std::to_string(i) + "]"));
  }
  return out;
}

TokenizerMode to_mode(int mode) {
  if (mode != 0 && mode != 1) throw py::value_error("tokenizer mode must be 0 (rouge) or 1 (split)");
  return static_cast<TokenizerMode>(mode);
}

void check_signals() {
  py::gil_scoped_acquire acquire;
  if (PyErr_CheckSignals() != 0) throw py::error_already_set();
}

// Two lists tokenized into one shared vocabulary.
struct PairCorpus {
  Vocabulary vocabulary;
  TokenSequences queries, choices;
};

void tokenize_pair(const Utf8Texts& queries, const Utf8Texts& choices, TokenizerMode mode, int threads,
                   PairCorpus& corpus) {
  tokenize_and_intern(queries.views, mode, corpus.vocabulary, threads, corpus.queries);
  // cdist(x, x) and the like: the same strings again intern to the same ids, so copy them.
  const auto same = [](std::string_view a, std::string_view b) { return a.data() == b.data() && a.size() == b.size(); };
  if (std::equal(queries.views.begin(), queries.views.end(), choices.views.begin(), choices.views.end(), same)) {
    for (size_t i = 0; i < corpus.queries.size(); ++i) corpus.choices.append(corpus.queries.data(i), corpus.queries.length(i));
    return;
  }
  tokenize_and_intern(choices.views, mode, corpus.vocabulary, threads, corpus.choices);
}

// Rows per slice so one slice is about this many pairs: signals are checked between slices.
size_t rows_per_slice(size_t width) { return std::max<size_t>(1, (size_t{1} << 24) / std::max<size_t>(width, 1)); }

// Tokenizes both lists into one vocabulary, then calls work(corpus, begin, end) over slices of
// the query rows with the GIL released, checking for Ctrl-C between slices.
template <typename Work>
void over_row_slices(const Utf8Texts& queries, const Utf8Texts& choices, int mode, int threads, Work&& work) {
  const TokenizerMode tokenizer = to_mode(mode);
  py::gil_scoped_release release;
  PairCorpus corpus;
  tokenize_pair(queries, choices, tokenizer, threads, corpus);
  const size_t rows = queries.views.size();
  const size_t step = rows_per_slice(choices.views.size());
  for (size_t row = 0; row < rows; row += step) {
    work(corpus, row, std::min(rows, row + step));
    check_signals();
  }
}

// The Python face of a Pool. Every method may be called from any thread: reads (len, texts,
// scores, most_similar, stats) share the lock, writes (add, admit, truncate, threads) hold it
// alone. The lock is only ever taken with the GIL released (admit re-acquires the GIL to check
// for Ctrl-C while holding it), so the two locks are always taken in the same order.
struct PyPool {
 private:
  std::unique_ptr<Pool> owned_pool;
  std::unique_ptr<detail::TextStore> owned_texts;

 public:
  Pool& pool;
  detail::TextStore& texts;  // the original texts, in pool order, changed under the same lock as `pool`
  mutable std::shared_mutex mutex;
  PyPool(double threshold, int mode, int threads)
      : owned_pool(std::make_unique<Pool>(threshold, to_mode(mode), threads)),
        owned_texts(std::make_unique<detail::TextStore>()),
        pool(*owned_pool),
        texts(*owned_texts) {}
  PyPool(const PyPool&) = delete;
  PyPool& operator=(const PyPool&) = delete;
  // Freeing a large pool unmaps hundreds of megabytes (tens of milliseconds): other Python threads
  // run meanwhile. (Nothing here is a Python object.)
  ~PyPool() {
    py::gil_scoped_release release;
    owned_pool.reset();
    owned_texts.reset();
  }

  template <typename Work>
  auto read(Work&& work) const {
    py::gil_scoped_release release;
    std::shared_lock<std::shared_mutex> lock(mutex);
    return work();
  }
  template <typename Work>
  auto write(Work&& work) {
    py::gil_scoped_release release;
    std::unique_lock<std::shared_mutex> lock(mutex);
    return work();
  }
};

// Bounds objects for the test helpers, one per threshold (called with the GIL held).
const detail::LengthBounds& bounds_for(double threshold) {
  static std::map<double, std::unique_ptr<detail::LengthBounds>> cache;
  auto& slot = cache[threshold];
  if (!slot) slot = std::make_unique<detail::LengthBounds>(threshold);
  return *slot;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "selfinstruct's compiled core: exact ROUGE-L (rouge-score 0.1.2 semantics) and pool admission.";
  bind_scorer(m);
  bind_json_lines(m);

  m.def(
      "tokenize",
      [](py::handle text, int mode) {
        const std::string_view view = utf8_of(text, "text");
        TokenSpans spans;
        tokenize(view, to_mode(mode), spans);
        py::list out;
        for (size_t k = 0; k < spans.size(); ++k) out.append(py::str(spans.token(k).data(), spans.token(k).size()));
        return out;
      },
      py::arg("text"), py::arg("mode") = 0);

  m.def(
      "score",
      [](py::handle a, py::handle b, int mode) {
        const std::string_view first = utf8_of(a, "a"), second = utf8_of(b, "b");
        const TokenizerMode tokenizer = to_mode(mode);
        Vocabulary vocabulary;
        TokenSequences sequences;
        tokenize_and_intern({first, second}, tokenizer, vocabulary, 1, sequences);
        const uint32_t n = sequences.length(0), length_b = sequences.length(1);
        // LCS is symmetric: the shorter side becomes the pattern (smaller masks, fewer words).
        const size_t shorter = length_b < n ? 1 : 0;
        py::gil_scoped_release release;
        const LcsPattern pattern(sequences.data(shorter), sequences.length(shorter));
        return rouge_f(pattern.lcs(sequences.data(1 - shorter), sequences.length(1 - shorter)), length_b, n);
      },
      py::arg("a"), py::arg("b"), py::arg("mode") = 0);

  m.def(
      "cdist",
      [](py::handle queries, py::handle choices, int mode, int threads) {
        threads = detail::resolve_threads(threads);  // 0: all cores
        const Utf8Texts q = utf8_texts(queries, "queries"), c = utf8_texts(choices, "choices");
        py::array_t<double> out({q.views.size(), c.views.size()});
        double* data = out.mutable_data();
        over_row_slices(q, c, mode, threads, [&](const PairCorpus& corpus, size_t begin, size_t end) {
          score_matrix(corpus.queries, begin, end, corpus.choices, corpus.vocabulary.size(), threads, data);
        });
        return out;
      },
      py::arg("queries"), py::arg("choices"), py::arg("mode") = 0, py::arg("threads") = 0);

  m.def(
      "max_scores",
      [](py::handle queries, py::handle choices, int mode, int threads) {
        threads = detail::resolve_threads(threads);  // 0: all cores
        const Utf8Texts q = utf8_texts(queries, "queries"), c = utf8_texts(choices, "choices");
        py::array_t<double> scores(q.views.size());
        py::array_t<int64_t> indices(q.views.size());
        double* score_data = scores.mutable_data();
        int64_t* index_data = indices.mutable_data();
        over_row_slices(q, c, mode, threads, [&](const PairCorpus& corpus, size_t begin, size_t end) {
          best_matches(corpus.queries, begin, end, corpus.choices, corpus.vocabulary.size(), threads, score_data,
                       index_data);
        });
        return py::make_tuple(scores, indices);
      },
      py::arg("queries"), py::arg("choices"), py::arg("mode") = 0, py::arg("threads") = 0);

  m.def(
      "top_k",
      [](py::handle queries, py::handle choices, size_t k, int mode, int threads) {
        threads = detail::resolve_threads(threads);  // 0: all cores
        const Utf8Texts q = utf8_texts(queries, "queries"), c = utf8_texts(choices, "choices");
        std::vector<std::vector<ScoredIndex>> results(q.views.size());
        over_row_slices(q, c, mode, threads, [&](const PairCorpus& corpus, size_t begin, size_t end) {
          detail::parallel_for(end - begin, threads, 1, [&](size_t first, size_t last, int) {
            for (size_t row = begin + first; row < begin + last; ++row) {
              results[row] = top_k(corpus.queries.data(row), corpus.queries.length(row), corpus.choices, k);
            }
          });
        });
        return results;
      },
      py::arg("queries"), py::arg("choices"), py::arg("k"), py::arg("mode") = 0, py::arg("threads") = 0);

  py::class_<PyPool>(m, "Pool")
      .def(py::init<double, int, int>(), py::arg("threshold"), py::arg("mode") = 0, py::arg("threads") = 0)
      .def("__len__", [](const PyPool& self) { return self.read([&] { return self.pool.size(); }); })
      .def_property_readonly("threshold", [](const PyPool& self) { return self.read([&] { return self.pool.threshold(); }); })
      .def_property("threads", [](const PyPool& self) { return self.read([&] { return self.pool.threads(); }); },
                    [](PyPool& self, int threads) { self.write([&] { self.pool.set_threads(threads); }); })
      .def(
          "text",
          [](const PyPool& self, int64_t index) {
            std::string copy;
            const bool found = self.read([&] {
              size_t position = 0;
              if (!pool_position(index, self.texts.size(), position)) return false;
              copy = std::string(self.texts[position]);
              return true;
            });
            if (!found) throw py::index_error("pool index out of range");
            return py::str(copy);
          },
          py::arg("index"))
      .def(
          "texts_at",
          [](const PyPool& self, const py::array_t<int64_t, py::array::c_style | py::array::forcecast>& indices) {
            if (indices.ndim() != 1) throw py::value_error("indices must be one-dimensional");
            const auto index = indices.unchecked<1>();
            std::vector<std::string> copies;
            int64_t missing = 0;
            const bool found = self.read([&] {
              copies.reserve(static_cast<size_t>(index.shape(0)));
              for (py::ssize_t k = 0; k < index.shape(0); ++k) {
                size_t position = 0;
                if (!pool_position(index(k), self.texts.size(), position)) {
                  missing = index(k);
                  return false;
                }
                copies.emplace_back(self.texts[position]);
              }
              return true;
            });
            if (!found) throw py::index_error("pool index " + std::to_string(missing) + " out of range");
            py::list out(copies.size());
            for (size_t i = 0; i < copies.size(); ++i) out[i] = py::str(copies[i]);
            return out;
          },
          py::arg("indices"))
      .def("texts", [](const PyPool& self) {
        std::vector<std::string> copies = self.read([&] {
          std::vector<std::string> out;
          out.reserve(self.texts.size());
          for (size_t i = 0; i < self.texts.size(); ++i) out.emplace_back(self.texts[i]);
          return out;
        });
        py::list out(copies.size());
        for (size_t i = 0; i < copies.size(); ++i) out[i] = py::str(copies[i]);
        return out;
      })
      .def(
          "add",
          [](PyPool& self, py::handle texts, py::handle originals) {
            const Utf8Texts t = utf8_texts(texts, "texts");
            const Utf8Texts o = originals.is_none() ? Utf8Texts{} : utf8_texts(originals, "texts");
            if (!originals.is_none() && o.views.size() != t.views.size()) throw py::value_error("originals must match texts");
            const std::vector<std::string_view>& shown = originals.is_none() ? t.views : o.views;
            self.write([&] {
              const size_t before = self.pool.size();
              try {
                self.pool.add(t.views);
                for (std::string_view text : shown) self.texts.push_back(text);
              } catch (...) {
                self.pool.truncate(before);
                self.texts.truncate(before);
                throw;
              }
            });
          },
          py::arg("texts"), py::arg("originals") = py::none())
      .def(
          "admit",
          [](PyPool& self, py::handle texts, py::handle originals) {
            const Utf8Texts t = utf8_texts(texts, "candidates");
            const Utf8Texts o = originals.is_none() ? Utf8Texts{} : utf8_texts(originals, "candidates");
            if (!originals.is_none() && o.views.size() != t.views.size()) throw py::value_error("originals must match candidates");
            const std::vector<std::string_view>& shown = originals.is_none() ? t.views : o.views;
            const std::vector<Decision> decisions = self.write([&] {
              const size_t before = self.pool.size();
              std::vector<Decision> out;
              try {
                out = self.pool.admit(t.views, check_signals);
                for (size_t k = 0; k < out.size(); ++k) {
                  if (out[k].index >= 0) self.texts.push_back(shown[k]);
                }
              } catch (...) {
                self.pool.truncate(before);
                self.texts.truncate(before);
                throw;
              }
              return out;
            });
            const size_t count = decisions.size();
            py::array_t<int64_t> index(count), best_index(count);
            py::array_t<double> best_score(count);
            auto i = index.mutable_unchecked<1>();
            auto b = best_index.mutable_unchecked<1>();
            auto s = best_score.mutable_unchecked<1>();
            for (size_t k = 0; k < count; ++k) {
              i(k) = decisions[k].index;
              b(k) = decisions[k].best_index;
              s(k) = decisions[k].best_score;
            }
            return py::make_tuple(index, best_index, best_score);
          },
          py::arg("candidates"), py::arg("originals") = py::none())
      .def(
          "truncate",
          [](PyPool& self, size_t count) {
            self.write([&] {
              self.pool.truncate(count);
              self.texts.truncate(count);
            });
          },
          py::arg("count"))
      .def(
          "most_similar",
          [](const PyPool& self, py::handle text, size_t k) {
            const std::string_view view = utf8_of(text, "text");  // the caller's argument keeps it alive
            return self.read([&] { return self.pool.most_similar(view, k); });
          },
          py::arg("text"), py::arg("k") = 10)
      .def(
          "scores",
          [](const PyPool& self, py::handle text, py::handle limit) {
            const std::string_view view = utf8_of(text, "text");
            const bool all = limit.is_none();
            const size_t wanted = all ? 0 : limit.cast<size_t>();
            // Sized under the lock: the pool may grow between calls.
            std::vector<double> values = self.read([&] {
              std::vector<double> out;
              self.pool.scores(view, all ? self.pool.size() : std::min(wanted, self.pool.size()), out);
              return out;
            });
            return py::array_t<double>(values.size(), values.data());
          },
          py::arg("text"), py::arg("limit") = py::none())
      .def(
          "similarity_fields",
          [](const PyPool& self, int64_t first, int64_t last, int64_t k, int threads, size_t sum_buffer, int kernel) {
            const int64_t size = self.read([&] { return static_cast<int64_t>(self.pool.size()); });
            if (first < 0 || first > last || last > size) {
              throw py::value_error("first and last must satisfy 0 <= first <= last <= len(pool) = " +
                                    std::to_string(size) + ", got first=" + std::to_string(first) +
                                    ", last=" + std::to_string(last));
            }
            if (k < 0) throw py::value_error("k must be a non-negative int, got " + std::to_string(k));
            if (kernel < 0 || kernel > 2) {
              throw py::value_error("kernel must be 0 (automatic), 1 (row) or 2 (packed), got " + std::to_string(kernel));
            }
            const size_t n = static_cast<size_t>(last - first), width = static_cast<size_t>(k);
            py::array_t<int64_t> top_index({n, width});
            py::array_t<double> top_f({n, width});
            py::array_t<double> mean(n);
            const SimilarityFieldsOut out{top_index.mutable_data(), top_f.mutable_data(), mean.mutable_data(),
                                          sum_buffer, static_cast<FieldsKernel>(kernel)};
            // The pool may have shrunk since it was sized: the library checks the range again under the lock.
            self.read([&] {
              self.pool.similarity_fields(static_cast<size_t>(first), static_cast<size_t>(last), width, threads, out,
                                          check_signals);
            });
            return py::make_tuple(top_index, top_f, mean);
          },
          py::arg("first"), py::arg("last"), py::arg("k") = 10, py::arg("threads") = 0, py::arg("sum_buffer") = 0,
          py::arg("kernel") = 0)
      .def("stats", [](const PyPool& self) {
        const PoolStats s = self.read([&] { return self.pool.stats(); });
        py::dict out;
        out["candidates"] = s.candidates;
        out["pairs_probed"] = s.pairs_probed;
        out["pairs_verified"] = s.pairs_verified;
        out["pairs_lcs"] = s.pairs_lcs;
        out["index_builds"] = s.index_builds;
        out["dense_candidates"] = s.dense_candidates;
        return out;
      })
      .def("timings", [](const PyPool& self) {
        const PoolTimings t = self.read([&] { return self.pool.timings(); });
        py::dict out;
        out["tokenize"] = t.tokenize;
        out["index"] = t.index;
        out["pool_probe"] = t.pool_probe;
        out["within_chunk"] = t.within_chunk;
        out["decide"] = t.decide;
        return out;
      });

  // Internals exposed for the tests.
  m.def("_lcs", [](const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
    const LcsPattern pattern(a.data(), static_cast<uint32_t>(a.size()));
    return pattern.lcs(b.data(), static_cast<uint32_t>(b.size()));
  });
  m.def("_lcs_reference", [](const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
    return lcs_reference(a.data(), static_cast<uint32_t>(a.size()), b.data(), static_cast<uint32_t>(b.size()));
  });
  m.def("_rouge_f", [](uint64_t lcs, uint64_t m, uint64_t n) { return rouge_f(lcs, m, n); });
  // The probe's posting filters: postings as (entry, length, position, sketch) tuples; returns the
  // entries kept, in the filter's order, and how many postings were of entries before `to`.
  m.def(
      "_filter_postings",
      [](const std::vector<std::tuple<uint32_t, uint16_t, uint16_t, uint32_t>>& postings, uint32_t first,
         const std::vector<uint32_t>& need_of, uint64_t to, uint32_t probe_room, uint32_t slack, uint32_t n,
         uint32_t folded, bool wide) {
        if (need_of.empty()) throw py::value_error("need_of must hold the need of every partner length");
        if (wide && !detail::wide_posting_filter_available()) throw py::value_error("no wide posting filter on this CPU");
        std::vector<detail::Posting> items;
        for (const auto& [entry, length, position, sketch] : postings) items.push_back({entry, length, position, sketch});
        const detail::PostingFilter filter{first, static_cast<uint32_t>(need_of.size() - 1), need_of.data(), to,
                                           probe_room, slack, n, folded};
        std::vector<uint32_t> out(items.size());
        size_t examined = 0;
        const auto count = static_cast<uint32_t>(items.size());
        const size_t kept = wide ? detail::filter_postings_wide(items.data(), count, filter, out.data(), examined)
                                 : detail::filter_postings_scalar(items.data(), count, filter, out.data(), examined);
        out.resize(kept);
        return py::make_tuple(out, examined);
      },
      py::arg("postings"), py::arg("first"), py::arg("need_of"), py::arg("to"), py::arg("probe_room"),
      py::arg("slack"), py::arg("n"), py::arg("folded"), py::arg("wide"));
  m.def("_wide_posting_filter_available", &detail::wide_posting_filter_available);
  m.def("_enable_wide_posting_filter", &detail::enable_wide_posting_filter, py::arg("on"),
        "Turns the probes' wide posting filter on (where the CPU has it) or off; returns the previous setting.");
  m.def(
      "_numpy_sum",
      [](const py::array_t<double, py::array::c_style | py::array::forcecast>& values, size_t buffer) {
        return numpy_sum(values.data(), static_cast<size_t>(values.size()), buffer);
      },
      py::arg("values"), py::arg("buffer") = 0);
  m.def("_min_lcs", [](double t, uint32_t m, uint32_t n) {
    const detail::LengthBounds& bounds = bounds_for(t);
    const uint32_t v = bounds.min_lcs(m, n);
    return v == detail::LengthBounds::kNone ? py::object(py::none()) : py::object(py::int_(v));
  });
  m.def("_bounds", [](double t, uint32_t n) {
    const detail::LengthBounds& bounds = bounds_for(t);
    uint32_t first = 0, last = 0;
    bounds.partner_range(n, first, last);
    const uint32_t overlap = bounds.min_overlap(n);
    return py::make_tuple(first, last, overlap == detail::LengthBounds::kNone ? py::object(py::none()) : py::object(py::int_(overlap)));
  });
}

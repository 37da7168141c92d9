// The `dedup` command's hot paths: the field of each JSONL line, and the rejects file's lines.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <charconv>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "selfinstruct/json_lines.hpp"

namespace py = pybind11;

namespace {

// The UTF-8 of a str: its own buffer when it is ASCII, else a temporary bytes object kept in
// `hold` (so that the str does not cache a UTF-8 copy for the rest of its life).
std::string_view utf8_of(py::handle text, py::object& hold) {
  if (!PyUnicode_Check(text.ptr())) throw py::type_error("expected str, got " + std::string(py::str(py::type::of(text))));
  if (PyUnicode_IS_COMPACT_ASCII(text.ptr())) {
    return {static_cast<const char*>(PyUnicode_DATA(text.ptr())), static_cast<size_t>(PyUnicode_GET_LENGTH(text.ptr()))};
  }
  hold = py::reinterpret_steal<py::object>(PyUnicode_AsUTF8String(text.ptr()));
  if (!hold) throw py::error_already_set();
  return {PyBytes_AS_STRING(hold.ptr()), static_cast<size_t>(PyBytes_GET_SIZE(hold.ptr()))};
}

void append_integer(std::string& out, int64_t value) {
  char digits[24];
  const auto written = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, written.ptr);
}

template <typename T>
py::array_t<T, py::array::c_style> checked(const py::array_t<T, py::array::c_style>& array, size_t size, const char* name) {
  if (array.ndim() != 1 || static_cast<size_t>(array.shape(0)) != size) {
    throw py::value_error(std::string(name) + " must be a 1-d array of " + std::to_string(size) + " items");
  }
  return array;
}

}  // namespace

void bind_json_lines(py::module_& m) {
  m.def(
      "_jsonl_string_fields",
      [](const py::bytes& block, const py::str& field, bool line_ends) -> py::object {
        Py_ssize_t field_size = 0;
        const char* field_utf8 = PyUnicode_AsUTF8AndSize(field.ptr(), &field_size);
        if (field_utf8 == nullptr) {  // (a field name no JSON key can decode to here)
          PyErr_Clear();
          return py::none();
        }
        const std::string field_name(field_utf8, static_cast<size_t>(field_size));
        // `block` is immutable and referenced by the caller for the whole call.
        const std::string_view data(PyBytes_AS_STRING(block.ptr()), static_cast<size_t>(PyBytes_GET_SIZE(block.ptr())));
        selfinstruct::JsonLineFields fields;
        bool accepted = false;
        {
          py::gil_scoped_release release;
          accepted = selfinstruct::string_fields_of_lines(data, field_name, fields);
        }
        if (!accepted) return py::none();
        py::list texts(fields.ends.size());
        size_t start = 0;
        for (size_t i = 0; i < fields.ends.size(); ++i) {
          PyObject* text = PyUnicode_DecodeUTF8(fields.text.data() + start, static_cast<Py_ssize_t>(fields.ends[i] - start), "strict");
          if (text == nullptr) {  // (the block was not UTF-8: the slow path words the error)
            PyErr_Clear();
            return py::none();
          }
          PyList_SET_ITEM(texts.ptr(), static_cast<Py_ssize_t>(i), text);
          start = fields.ends[i];
        }
        if (!line_ends) return std::move(texts);
        py::array_t<int64_t> ends(static_cast<py::ssize_t>(fields.line_ends.size()));
        std::copy(fields.line_ends.begin(), fields.line_ends.end(), ends.mutable_data());
        return py::make_tuple(std::move(texts), std::move(ends));
      },
      py::arg("block"), py::arg("field"), py::arg("line_ends") = false,
      "The string `field` of every line of a UTF-8 JSONL block, or None where any line is not one JSON object "
      "with that field a string (then parse the block with json). The same values json.loads gives. With "
      "line_ends, (values, where each line ends: the offset of its newline or of the block's end).");

  m.def(
      "_join_slices",
      [](const py::list& blocks, const py::array_t<int64_t, py::array::c_style>& which,
         const py::array_t<int64_t, py::array::c_style>& starts, const py::array_t<int64_t, py::array::c_style>& ends,
         const py::bytes& separator, const py::bytes& prefix, const py::bytes& suffix) {
        const auto count = static_cast<size_t>(which.size());
        const auto block_of = checked(which, count, "which").unchecked<1>();
        const auto start = checked(starts, count, "starts").unchecked<1>();
        const auto end = checked(ends, count, "ends").unchecked<1>();
        const auto view = [](const py::bytes& data) {
          return std::string_view(PyBytes_AS_STRING(data.ptr()), static_cast<size_t>(PyBytes_GET_SIZE(data.ptr())));
        };
        const std::string_view sep = view(separator), head = view(prefix), tail = view(suffix);
        std::vector<std::string_view> pieces(count);
        size_t total = head.size() + tail.size() + (count > 0 ? (count - 1) * sep.size() : 0);
        for (size_t k = 0; k < count; ++k) {
          const auto i = static_cast<py::ssize_t>(k);
          if (block_of(i) < 0 || static_cast<size_t>(block_of(i)) >= blocks.size()) throw py::index_error("block out of range");
          PyObject* block = PyList_GET_ITEM(blocks.ptr(), block_of(i));
          if (!PyBytes_Check(block)) throw py::type_error("blocks must be bytes");
          const auto size = static_cast<int64_t>(PyBytes_GET_SIZE(block));
          if (start(i) < 0 || start(i) > end(i) || end(i) > size) throw py::index_error("slice out of its block");
          pieces[k] = {PyBytes_AS_STRING(block) + start(i), static_cast<size_t>(end(i) - start(i))};
          total += pieces[k].size();
        }
        PyObject* joined = PyBytes_FromStringAndSize(nullptr, static_cast<py::ssize_t>(total));
        if (joined == nullptr) throw py::error_already_set();
        char* out = PyBytes_AS_STRING(joined);
        const auto put = [&](std::string_view piece) {
          std::memcpy(out, piece.data(), piece.size());
          out += piece.size();
        };
        put(head);
        for (size_t k = 0; k < count; ++k) {
          if (k > 0) put(sep);
          put(pieces[k]);
        }
        put(tail);
        return py::reinterpret_steal<py::bytes>(joined);
      },
      py::arg("blocks"), py::arg("which"), py::arg("starts"), py::arg("ends"), py::arg("separator"),
      py::arg("prefix") = py::bytes(), py::arg("suffix") = py::bytes(),
      "prefix + separator.join(blocks[w][s:e] for w, s, e in zip(which, starts, ends)) + suffix, without a "
      "bytes object per slice (the dedup writer's kept records, cut from the blocks they were read in).");

  m.def(
      "_pick",
      [](const py::list& items, const py::array_t<int64_t, py::array::c_style>& positions, const py::list& others) {
        const auto at = checked(positions, static_cast<size_t>(positions.size()), "positions").unchecked<1>();
        const auto count = static_cast<py::ssize_t>(positions.size());
        const auto size = static_cast<int64_t>(items.size()), other_size = static_cast<int64_t>(others.size());
        py::list out(count);
        for (py::ssize_t k = 0; k < count; ++k) {
          const int64_t p = at(k);
          if (p >= size || p < -other_size) throw py::index_error("position " + std::to_string(p) + " out of range");
          PyObject* item = p >= 0 ? PyList_GET_ITEM(items.ptr(), p) : PyList_GET_ITEM(others.ptr(), -p - 1);
          Py_INCREF(item);
          PyList_SET_ITEM(out.ptr(), k, item);
        }
        return out;
      },
      py::arg("items"), py::arg("positions"), py::arg("others"),
      "[items[p] if p >= 0 else others[-p - 1] for p in positions], without a Python loop (the dedup "
      "writer picks each batch's kept records and its rejects' texts).");

  m.def(
      "_json_float", [](double value) {
        std::string out;
        selfinstruct::append_json_float(out, value);
        return out;
      },
      py::arg("value"), "A float as json.dumps writes it (for the tests).");

  m.def(
      "_reject_lines",
      [](const py::array_t<int64_t, py::array::c_style>& lines, const py::array_t<int64_t, py::array::c_style>& indices,
         const py::list& texts, const py::list& similar_texts, const py::array_t<bool, py::array::c_style>& similar_is_seed,
         const py::array_t<int64_t, py::array::c_style>& similar_lines, const py::array_t<double, py::array::c_style>& scores) {
        const size_t count = texts.size();
        if (similar_texts.size() != count) throw py::value_error("texts and similar_texts differ in length");
        const auto line = checked(lines, count, "lines").unchecked<1>();
        const auto index = checked(indices, count, "indices").unchecked<1>();
        const auto seed = checked(similar_is_seed, count, "similar_is_seed").unchecked<1>();
        const auto similar_line = checked(similar_lines, count, "similar_lines").unchecked<1>();
        const auto score = checked(scores, count, "scores").unchecked<1>();
        std::string out;
        py::object hold;
        // Reserved once (the texts' code points times their width, plus the keys and numbers):
        // growing by doubling copied the lines written so far at every step and faulted in
        // fresh pages.
        const auto width = [](py::handle text) -> size_t {
          return PyUnicode_Check(text.ptr()) ? static_cast<size_t>(PyUnicode_GET_LENGTH(text.ptr())) * PyUnicode_KIND(text.ptr()) : 0;
        };
        size_t estimate = 0;
        for (size_t r = 0; r < count; ++r) estimate += width(texts[r]) + width(similar_texts[r]) + 160;
        out.reserve(estimate);
        for (size_t r = 0; r < count; ++r) {
          const auto i = static_cast<py::ssize_t>(r);
          out += "{\"line\": ";
          append_integer(out, line(i));
          out += ", \"index\": ";
          append_integer(out, index(i));
          out += ", \"text\": ";
          selfinstruct::append_json_string(out, utf8_of(texts[r], hold));
          out += ", \"most_similar\": ";
          selfinstruct::append_json_string(out, utf8_of(similar_texts[r], hold));
          out += seed(i) ? ", \"most_similar_source\": \"seed\", \"most_similar_line\": "
                         : ", \"most_similar_source\": \"input\", \"most_similar_line\": ";
          append_integer(out, similar_line(i));
          out += ", \"score\": ";
          selfinstruct::append_json_float(out, score(i));
          out += "}\n";
        }
        return py::bytes(out);
      },
      py::arg("lines"), py::arg("indices"), py::arg("texts"), py::arg("similar_texts"), py::arg("similar_is_seed"),
      py::arg("similar_lines"), py::arg("scores"),
      "The rejects file's JSON lines for these rejects, as UTF-8: each the text json.dumps gives for "
      "{line, index, text, most_similar, most_similar_source, most_similar_line, score}.");
}

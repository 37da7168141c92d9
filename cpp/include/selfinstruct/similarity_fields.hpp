// The similarity fields of pool entries, batched: each entry's k most similar earlier entries and
// its mean ROUGE-L F over all of them, exactly as the pipeline's per-entry numpy code computes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>

#include "selfinstruct/corpus.hpp"

namespace selfinstruct {

// Which pair kernel scores the rows (the values are the same doubles with each): the one-row
// path (score_row), the packed kernel over the prefix [0, last) packed once per call, or the one
// a cost model says is faster for the call. Forcing one is for tests and benchmarks.
enum class FieldsKernel { automatic = 0, row = 1, packed = 2 };

// Where the fields of entries [first, last) go: row r describes entry first + r.
struct SimilarityFieldsOut {
  int64_t* top_index;  // [n, k]: best first, ties by lower index; -1 past the entry's index
  double* top_f;       // [n, k]: their F; NaN where top_index is -1
  double* mean;        // [n]: numpy's mean of the F row; NaN for entry 0 (no earlier entry)
  size_t sum_buffer;   // numpy_sum's `buffer`: how the installed numpy sums (see below)
  FieldsKernel kernel = FieldsKernel::automatic;
};

// For each entry i in [first, last) of `sequences`: F against entries [0, i), its k best and its
// mean. When the call has enough rows to pay for it, entries [0, last) are packed once for the
// packed kernel (O(their tokens) memory) and every row is scored against them, its columns >= i
// ignored; the values are the same doubles either way. Parallel over entries on up to `threads`
// threads, each with one row buffer (O(threads * last) memory); `between_slices` runs on the
// calling thread after packing and between slices of about 2^24 one-row pairs or 2^26 packed
// pairs (signal checks) and may throw to stop. Requires first <= last <= sequences.size().
void similarity_fields(const TokenSequences& sequences, size_t vocabulary_size, size_t first, size_t last, size_t k,
                       int threads, const SimilarityFieldsOut& out, const std::function<void()>& between_slices);

// numpy's float64 sum of a contiguous array, so sum / n is bit-identical to np.mean: pairwise
// (8 accumulators, blocks of 128 values, halves rounded down to multiples of 8) over the whole array
// (`buffer` 0: numpy 2.3 and later), or over consecutive pieces of `buffer` values added up in order
// (earlier numpy sums through its 8192-value ufunc buffer).
double numpy_sum(const double* values, size_t n, size_t buffer = 0);

}  // namespace selfinstruct

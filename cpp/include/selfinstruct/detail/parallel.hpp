// A minimal parallel-for over an index range: dynamic chunks, first exception rethrown.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace selfinstruct::detail {

inline int resolve_threads(int requested) {
  if (requested > 0) return requested;
  const unsigned hardware = std::thread::hardware_concurrency();
  return hardware == 0 ? 1 : static_cast<int>(hardware);
}

// Calls body(begin, end, worker) over [0, count) in chunks of `grain`, on up to `threads` threads
// (the calling thread is one of them). Stops handing out chunks after the first exception.
template <typename Body>
void parallel_for(size_t count, int threads, size_t grain, Body&& body) {
  if (count == 0) return;
  grain = std::max<size_t>(grain, 1);
  const size_t chunks = (count + grain - 1) / grain;
  const int workers = static_cast<int>(std::min<size_t>(static_cast<size_t>(std::max(threads, 1)), chunks));
  if (workers <= 1) {
    body(size_t{0}, count, 0);
    return;
  }
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto run = [&](int worker) {
    while (!failed.load(std::memory_order_relaxed)) {
      const size_t chunk = next.fetch_add(1, std::memory_order_relaxed);
      if (chunk >= chunks) return;
      const size_t begin = chunk * grain;
      try {
        body(begin, std::min(count, begin + grain), worker);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
  };
  // Joins every started thread on any exit path, so a failed start never leaves one joinable.
  struct Workers {
    std::vector<std::thread> threads;
    ~Workers() {
      for (auto& thread : threads) thread.join();
    }
  } started;
  try {
    started.threads.reserve(static_cast<size_t>(workers - 1));
    for (int w = 1; w < workers; ++w) started.threads.emplace_back(run, w);
  } catch (const std::exception& failure) {
    // Out of threads or memory: stop the ones running and report it instead of terminating.
    failed = true;
    for (auto& thread : started.threads) thread.join();
    started.threads.clear();
    throw std::runtime_error("could not start " + std::to_string(workers) + " worker threads (" + failure.what() +
                             "); use fewer threads");
  }
  run(0);
  for (auto& thread : started.threads) thread.join();
  started.threads.clear();
  if (error) std::rethrow_exception(error);
}

}  // namespace selfinstruct::detail

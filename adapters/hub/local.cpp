// Greenlet-local storage (docs/semantics.md H10).
//
// Each local keeps its values in a map from greenlet id to value, under a
// mutex (a local may be used by greenlets of several threads). Greenlet ids
// are never reused, so a value can never be seen by a later greenlet that
// happens to get the same address. Each thread keeps an index from its
// greenlets' ids to the locals they have values in, so that a greenlet's
// death (a spawned task finishing) or the thread's exit can release them.

#include "green/hub/local.hpp"

#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "green/greenlet.hpp"

namespace green::detail {

struct local_core {
  std::mutex mtx;
  std::unordered_map<std::uint64_t, std::shared_ptr<void>> values;
};

namespace {

struct local_index {
  std::unordered_map<std::uint64_t, std::vector<std::weak_ptr<local_core>>> by_greenlet;
  ~local_index();
};

// The index is reached through a plain pointer, which stays readable during
// thread teardown: a hub destroyed by a later thread_local destructor still
// calls release_greenlet_locals(), which then finds no index.
thread_local local_index* tls_index = nullptr;
thread_local bool tls_index_gone = false;

local_index* index_for_thread() {
  if (tls_index == nullptr && !tls_index_gone) {
    thread_local local_index holder;
    tls_index = &holder;
  }
  return tls_index;
}

void release_from(local_core& c, std::uint64_t gid) noexcept {
  std::shared_ptr<void> doomed;
  {
    std::lock_guard<std::mutex> g(c.mtx);
    auto it = c.values.find(gid);
    if (it == c.values.end()) return;
    doomed = std::move(it->second);
    c.values.erase(it);
  }
  // T's destructor runs outside the lock: it may use this local again.
}

void release_all(std::vector<std::weak_ptr<local_core>>& locals, std::uint64_t gid) noexcept {
  for (auto& w : locals)
    if (auto c = w.lock()) release_from(*c, gid);
}

local_index::~local_index() {
  // Thread exit: the main greenlet's values, and those of any greenlet that
  // had not died through the hub (H10.2).
  auto all = std::move(by_greenlet);
  for (auto& [gid, locals] : all) release_all(locals, gid);
  tls_index = nullptr;
  tls_index_gone = true;
}

std::uint64_t current_id() { return greenlet::current().id(); }

}  // namespace

std::shared_ptr<local_core> make_local_core() { return std::make_shared<local_core>(); }

void* local_find(local_core& c) {
  const std::uint64_t gid = current_id();
  std::lock_guard<std::mutex> g(c.mtx);
  auto it = c.values.find(gid);
  return it == c.values.end() ? nullptr : it->second.get();
}

void* local_store(const std::shared_ptr<local_core>& c, std::shared_ptr<void> v) {
  const std::uint64_t gid = current_id();
  void* p = v.get();
  std::shared_ptr<void> replaced;
  {
    std::lock_guard<std::mutex> g(c->mtx);
    auto [it, fresh] = c->values.try_emplace(gid);
    replaced = std::exchange(it->second, std::move(v));
    if (!fresh) return p;  // already indexed
  }
  if (local_index* idx = index_for_thread()) {
    auto& locals = idx->by_greenlet[gid];
    // Drop the entries of destroyed locals, so a long-lived greenlet that
    // uses many short-lived locals does not grow its list without bound.
    std::erase_if(locals, [](const std::weak_ptr<local_core>& w) { return w.expired(); });
    locals.push_back(c);
  }
  return p;
}

bool local_erase(local_core& c) {
  const std::uint64_t gid = current_id();
  std::shared_ptr<void> doomed;
  {
    std::lock_guard<std::mutex> g(c.mtx);
    auto it = c.values.find(gid);
    if (it == c.values.end()) return false;
    doomed = std::move(it->second);
    c.values.erase(it);
  }
  return true;
}

void local_clear(local_core& c) noexcept {
  std::unordered_map<std::uint64_t, std::shared_ptr<void>> doomed;
  {
    std::lock_guard<std::mutex> g(c.mtx);
    doomed.swap(c.values);
  }
}

// Called by the hub when a spawned task's function has ended, on its own
// stack, before its links run (H10.2).
void release_greenlet_locals(std::uint64_t gid) noexcept {
  local_index* idx = tls_index;
  if (idx == nullptr) return;
  auto it = idx->by_greenlet.find(gid);
  if (it == idx->by_greenlet.end()) return;
  auto locals = std::move(it->second);
  idx->by_greenlet.erase(it);
  release_all(locals, gid);
}

}  // namespace green::detail

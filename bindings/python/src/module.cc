// sprawl._sprawl: the native half of the Python package, over the C ABI
// through sprawl.hpp. Blocking calls, destructors included, release the GIL.
// Core threads do not run Python: they queue publish outcomes, which a
// Python thread runs (Completions). Errors surface as NativeError(name, code,
// message, retriable), which the Python half turns into typed exceptions.
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "deliveries.h"
#include "log_bridge.h"
#include "native_message.h"
#include "sprawl/sprawl.hpp"

namespace py = pybind11;

namespace {

using HeaderList = std::vector<std::pair<std::string, py::bytes>>;
using sprawl_py::Deliveries;
using sprawl_py::NativeMessage;

// The NativeError class, set at import; the module keeps it alive.
PyObject* g_native_error = nullptr;

py::object NativeError(const sprawl::Error& e) {
  return py::reinterpret_borrow<py::object>(g_native_error)(e.name(), static_cast<int>(e.code()),
                                                            e.message(), e.retriable());
}

// Python classes the native side builds instances of, set at import by the
// package (register_types); the module keeps them alive.
struct PythonTypes {
  PyTypeObject* publish_ack = nullptr;  // sprawl.PublishAck
  PyTypeObject* message = nullptr;      // sprawl.Message
  PyObject* convert = nullptr;          // NativeError -> the typed SprawlError
  PyObject* headers = nullptr;          // a headers mapping -> [(str, bytes)]
};
PythonTypes g_types;

// Attribute names, interned once.
struct Names {
  py::str topic{"topic"}, partition{"partition"}, offset{"offset"};
  py::str native{"_native"}, subscription{"_subscription"};
};
Names* g_names = nullptr;

// A new instance of a plain Python class with its attributes set, without
// running its __init__: what dataclass and __slots__ constructors do, at a
// fraction of the cost (the per-message paths build one per message).
py::object NewInstance(PyTypeObject* type,
                       std::initializer_list<std::pair<const py::str*, PyObject*>> attrs) {
  py::tuple empty;
  py::object obj =
      py::reinterpret_steal<py::object>(PyBaseObject_Type.tp_new(type, empty.ptr(), nullptr));
  if (!obj) throw py::error_already_set();
  for (const auto& [name, value] : attrs) {
    if (PyObject_GenericSetAttr(obj.ptr(), name->ptr(), value) != 0) {
      throw py::error_already_set();
    }
  }
  return obj;
}

// The SprawlError subclass for an error of the core.
py::object TypedError(const sprawl::Error& e) {
  return py::reinterpret_borrow<py::object>(g_types.convert)(NativeError(e));
}

// Owns a new reference; throws the Python error when it is null.
py::object Steal(PyObject* obj) {
  if (obj == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(obj);
}

// Sets the Python error for the exception being handled (call it in a
// catch (...) block of a function CPython calls directly): a core error
// becomes Sprawl's typed exception.
void SetPythonError() {
  try {
    throw;
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (py::builtin_exception& e) {
    e.set_error();
  } catch (const sprawl::Error& e) {
    try {
      py::object error = TypedError(e);
      PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(error.ptr())), error.ptr());
    } catch (py::error_already_set& inner) {
      inner.restore();
    }
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
}

// A builtin function of `def` whose self is a capsule of `native`, the C++
// half of `owner`; the capsule holds a reference to owner, which keeps
// native alive. For the per-message paths, which pybind11's dispatcher
// (type lookups, argument vectors) would cost as much as the work itself.
py::object BoundBuiltin(PyMethodDef* def, void* native, const py::object& owner) {
  py::object capsule = Steal(PyCapsule_New(native, nullptr, [](PyObject* c) {
    Py_XDECREF(static_cast<PyObject*>(PyCapsule_GetContext(c)));
  }));
  if (PyCapsule_SetContext(capsule.ptr(), owner.inc_ref().ptr()) != 0) {
    owner.dec_ref();
    throw py::error_already_set();
  }
  return Steal(PyCFunction_New(def, capsule.ptr()));
}

template <typename T>
T* FromCapsule(PyObject* capsule) {
  return static_cast<T*>(PyCapsule_GetPointer(capsule, nullptr));
}

// A fastcall function as CPython stores it in a PyMethodDef.
template <typename Fn>
PyCFunction AsMethod(Fn* fn) {
  return reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(fn));
}

// The bytes of a Python buffer (bytes, bytearray, memoryview), held while a
// call runs without the GIL.
struct Bytes {
  explicit Bytes(const py::buffer& buffer) : info(buffer.request()) {
    if (info.ndim != 1 || info.itemsize != 1) {
      throw py::type_error("expected bytes-like data with one byte per item");
    }
  }
  std::string_view view() const {
    return std::string_view(static_cast<const char*>(info.ptr), static_cast<size_t>(info.size));
  }
  py::buffer_info info;
};

// The bytes of a bytes-like object, or with allow_str the UTF-8 of a str,
// without a copy; held while a call runs without the GIL. Built and
// destroyed with the GIL held. Cheaper than Bytes for the per-message
// paths: no shape vectors, and bytes are read directly.
class View {
 public:
  View(PyObject* obj, bool allow_str) {
    if (PyBytes_CheckExact(obj)) {
      data_ = PyBytes_AS_STRING(obj);
      size_ = static_cast<size_t>(PyBytes_GET_SIZE(obj));
      return;
    }
    if (allow_str && PyUnicode_Check(obj)) {
      Py_ssize_t n = 0;
      data_ = PyUnicode_AsUTF8AndSize(obj, &n);
      if (data_ == nullptr) throw py::error_already_set();
      size_ = static_cast<size_t>(n);
      return;
    }
    if (PyObject_GetBuffer(obj, &buffer_, PyBUF_SIMPLE) != 0) throw py::error_already_set();
    held_ = true;
    data_ = buffer_.buf;
    size_ = static_cast<size_t>(buffer_.len);
  }
  View(const View&) = delete;
  View& operator=(const View&) = delete;
  ~View() {
    if (held_) PyBuffer_Release(&buffer_);
  }
  const void* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const void* data_ = nullptr;
  size_t size_ = 0;
  Py_buffer buffer_{};
  bool held_ = false;
};

// A record's key and headers as owned strings (they are small).
struct Extras {
  Extras(const std::optional<py::bytes>& k, const HeaderList& h) {
    if (k) key = std::string(*k);
    for (const auto& [name, value] : h) headers.emplace_back(name, std::string(value));
  }
  void Fill(sprawl::Record* r) const {
    if (key) r->key = std::string_view(*key);
    for (const auto& [name, value] : headers) r->headers.emplace_back(name, value);
  }
  std::optional<std::string> key;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Whether this thread holds the GIL of a running interpreter: Python's
// collector destroys native objects with it held.
bool HoldsGil() { return Py_IsInitialized() && PyGILState_Check(); }

bool Finalizing() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing();
#else
  return _Py_IsFinalizing();
#endif
}

// Runs fn (which must not touch Python) with the GIL released and returns
// what it returns. Not an RAII guard on purpose: at interpreter exit Python
// ends a daemon thread that takes the GIL back by unwinding its stack, and
// that unwinding must not start inside a destructor (noexcept: it would
// call std::terminate).
template <typename Fn>
auto WithoutGil(Fn&& fn) -> decltype(fn()) {
  using Result = decltype(fn());
  std::exception_ptr error;
  PyThreadState* state = PyEval_SaveThread();
  if constexpr (std::is_void_v<Result>) {
    try {
      fn();
    } catch (...) {
      error = std::current_exception();
    }
    PyEval_RestoreThread(state);
    if (error) std::rethrow_exception(error);
  } else {
    std::optional<Result> result;
    try {
      result.emplace(fn());
    } catch (...) {
      error = std::current_exception();
    }
    PyEval_RestoreThread(state);
    if (error) std::rethrow_exception(error);
    return std::move(*result);
  }
}

// For destructors, which block (a client flushes, a consumer leaves its
// group, a node stops): releases the GIL if this thread holds it, so other
// Python threads run meanwhile.
template <typename Fn>
void WithoutGilIfHeld(Fn&& fn) {
  if (HoldsGil()) {
    WithoutGil(std::forward<Fn>(fn));
  } else {
    fn();
  }
}

// Completions of publish_async. Core threads queue them without the GIL;
// Drain() runs them on a Python thread with the GIL taken once per call
// (taking it per message from a core thread would wait out the
// interpreter's switch interval each time).
class Completions {
 public:
  struct Done {
    PyObject* fn = nullptr;  // a strong reference, released under the GIL
    std::optional<sprawl::Error> error;
    uint32_t partition = 0;
    uint64_t offset = 0;
  };

  Completions() = default;
  Completions(const Completions&) = delete;
  Completions& operator=(const Completions&) = delete;

  // Drops the callbacks that never ran. The last owner is Python (the client
  // or the completer thread) once the core has released its callbacks.
  ~Completions() {
    if (queue_.empty()) return;
    if (HoldsGil()) {
      Discard();
    } else if (Py_IsInitialized() && !Finalizing()) {
      py::gil_scoped_acquire gil;
      Discard();
    }  // else the interpreter is gone and its objects with it
  }

  // Queues an outcome. Any thread, without the GIL.
  void Push(Done done) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(done));
    }
    cv_.notify_all();
  }

  // Marks the client closed: a waiting Drain() wakes up, and Drain() returns
  // -1 once nothing is left. Any thread.
  void Close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }

  // Runs what has completed, first waiting up to timeout_ms for something.
  // Returns how many callbacks ran, or -1 if the client is closed and none
  // is left. Called with the GIL held; a callback may drain again (a
  // future's done-callback that flushes), which continues the same queue.
  long Drain(int timeout_ms) {
    std::unique_lock<std::recursive_mutex> draining = WithoutGil([&] {
      {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(std::max(timeout_ms, 0)),
                     [&] { return !queue_.empty() || closed_; });
      }
      // One drainer at a time: a flush that drains after its wait returns
      // only once every completion queued before it has run.
      return std::unique_lock(drain_mu_);
    });
    long ran = 0;
    for (;;) {
      Done d;
      {
        std::lock_guard lock(mu_);
        if (queue_.empty()) {
          if (ran == 0 && closed_) return -1;
          break;
        }
        d = std::move(queue_.front());
        queue_.pop_front();
      }
      py::object fn = py::reinterpret_steal<py::object>(d.fn);
      try {
        fn(d.error ? NativeError(*d.error) : py::none(), d.partition, d.offset);
      } catch (py::error_already_set& e) {
        e.discard_as_unraisable("sprawl delivery callback");
      }
      ++ran;
    }
    return ran;
  }

  // Releases the queued callbacks without running them (the interpreter is
  // shutting down). GIL held.
  void Discard() {
    std::deque<Done> dropped;
    {
      std::lock_guard lock(mu_);
      dropped.swap(queue_);
    }
    for (Done& d : dropped) Py_DECREF(d.fn);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Done> queue_;  // guarded by mu_
  bool closed_ = false;     // guarded by mu_
  // Recursive: a callback run by Drain() may drain again on the same thread.
  std::recursive_mutex drain_mu_;
};

class PyNode {
 public:
  explicit PyNode(const sprawl::Settings& settings)
      : node_(WithoutGil([&] { return std::make_unique<sprawl::Node>(settings); })) {}
  // Stops the node if stop() was not called.
  ~PyNode() {
    WithoutGilIfHeld([&] { node_.reset(); });
  }
  std::string client_address() const { return node_->client_address(); }
  std::string http_address() const { return node_->http_address(); }
  std::string peer_address() const { return node_->peer_address(); }
  void stop() {
    WithoutGil([&] { node_->Stop(); });
  }

 private:
  std::unique_ptr<sprawl::Node> node_;
};

class PyClient {
 public:
  explicit PyClient(const sprawl::Settings& settings)
      : client_(WithoutGil([&] { return std::make_unique<sprawl::Client>(settings); })) {}
  // A client collected without close(): closing flushes (up to the delivery
  // timeout) and fails the rest, then the futures of what it settled
  // complete here (or are released if the interpreter is shutting down).
  ~PyClient() {
    WithoutGilIfHeld([&] { client_.reset(); });
    completions_->Close();
    deliveries_.Close();
    // Outcomes of produce() never polled: their callbacks do not run from a
    // collector (as with confluent-kafka, poll or flush before dropping).
    if (HoldsGil()) {
      deliveries_.Discard();
    } else if (Py_IsInitialized() && !Finalizing()) {
      py::gil_scoped_acquire gil;
      deliveries_.Discard();
    }                         // else the interpreter is gone and its objects with it
    if (!HoldsGil()) return;  // ~Completions releases what is left
    if (Finalizing()) {
      completions_->Discard();
      return;
    }
    try {
      completions_->Drain(0);
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable("sprawl.Client destructor");
    }
  }

  template <typename Fn>
  auto Blocking(Fn fn) {
    return WithoutGil([&] { return fn(*client_); });
  }

  std::pair<uint32_t, uint64_t> publish(const std::string& topic, const py::buffer& value,
                                        const std::optional<py::bytes>& key,
                                        const HeaderList& headers, int32_t partition,
                                        int timeout_ms) {
    Bytes bytes(value);
    Extras extras(key, headers);
    sprawl::Record r{topic, bytes.view(), std::nullopt, {}, partition};
    extras.Fill(&r);
    sprawl::PublishAck ack = WithoutGil([&] { return client_->Publish(r, timeout_ms); });
    return {ack.partition, ack.offset};
  }

  void publish_async(const std::string& topic, const py::buffer& value,
                     const std::optional<py::bytes>& key, const HeaderList& headers,
                     int32_t partition, py::function done) {
    Bytes bytes(value);
    Extras extras(key, headers);
    sprawl::Record r{topic, bytes.view(), std::nullopt, {}, partition};
    extras.Fill(&r);
    PyObject* fn = done.release().ptr();
    std::shared_ptr<Completions> completions = completions_;
    try {
      WithoutGil([&] {
        client_->PublishAsync(
            r, [completions, fn](const sprawl::Error* error, sprawl::PublishAck ack) {
              std::optional<sprawl::Error> e;
              if (error != nullptr) e = *error;
              completions->Push({fn, std::move(e), ack.partition, ack.offset});
            });
      });
    } catch (...) {
      Py_DECREF(fn);  // not queued: the callback never runs
      throw;
    }
  }

  long drain(int timeout_ms) { return completions_->Drain(timeout_ms); }

  // Queues one message; on_delivery (None: no callback, flush() reports a
  // failure) runs from poll() or flush() with (error, ack). key is None,
  // str or bytes-like; headers None or a list of (str, bytes). Holds the
  // GIL except around the C call, which waits only while the buffer is
  // full. Errors known at once (a bad argument, a closed client) raise;
  // the rest reach on_delivery.
  void produce(py::handle topic, py::handle value, py::handle key, py::handle headers,
               int32_t partition, py::handle on_delivery) {
    if (!PyUnicode_Check(topic.ptr())) throw py::type_error("the topic is a str");
    const char* topic_name = PyUnicode_AsUTF8(topic.ptr());
    if (topic_name == nullptr) throw py::error_already_set();
    View bytes(value.ptr(), /*allow_str=*/false);
    std::optional<View> key_bytes;
    if (!key.is_none()) key_bytes.emplace(key.ptr(), /*allow_str=*/true);
    std::vector<const char*> names;
    std::vector<const void*> values;
    std::vector<size_t> lengths;
    if (!headers.is_none()) {
      for (py::handle item : headers) {
        auto pair = py::reinterpret_borrow<py::tuple>(item);
        names.push_back(PyUnicode_AsUTF8(pair[0].ptr()));
        if (names.back() == nullptr) throw py::error_already_set();
        if (!PyBytes_Check(pair[1].ptr())) throw py::type_error("header values are bytes");
        values.push_back(PyBytes_AS_STRING(pair[1].ptr()));
        lengths.push_back(static_cast<size_t>(PyBytes_GET_SIZE(pair[1].ptr())));
      }
    }
    Deliveries::Pending* pending = nullptr;
    if (!on_delivery.is_none()) {
      if (!PyCallable_Check(on_delivery.ptr())) throw py::type_error("on_delivery is not callable");
      pending =
          new Deliveries::Pending{&deliveries_, on_delivery.inc_ref().ptr(), topic.inc_ref().ptr()};
    }
    // Empty keys are keys: a non-NULL pointer.
    const void* key_data = key_bytes ? (key_bytes->size() ? key_bytes->data() : "") : nullptr;
    sprawl_error_t* err = nullptr;
    PyThreadState* state = PyEval_SaveThread();
    const sprawl_status_t status = sprawl_publish_async(
        client_->get(), topic_name, partition, key_data, key_bytes ? key_bytes->size() : 0,
        bytes.data(), bytes.size(), names.data(), values.data(), lengths.data(), names.size(),
        pending ? &Deliveries::OnDelivery : nullptr, pending, nullptr, &err);
    PyEval_RestoreThread(state);
    if (status != SPRAWL_OK) {
      if (pending != nullptr) Deliveries::Free(pending);  // not queued: it never runs
      sprawl::detail::Check(status, err);
    }
  }

  // Runs the on_delivery callbacks of produce() that are due, first waiting
  // up to timeout_ms (>= 0) for one; returns how many ran. A callback that
  // raises ends the run: its exception propagates and the outcomes after it
  // stay queued for the next poll.
  long poll(int timeout_ms) {
    std::deque<Deliveries::Done> due = deliveries_.Take(0);
    if (due.empty() && timeout_ms > 0) {
      due = WithoutGil([&] { return deliveries_.Take(timeout_ms); });
    }
    struct Rest {  // what a raising callback leaves, back in the queue
      Deliveries& queue;
      std::deque<Deliveries::Done>& due;
      ~Rest() {
        if (!due.empty()) queue.PutBack(&due);
      }
    } rest{deliveries_, due};
    long ran = 0;
    while (!due.empty()) {
      Deliveries::Done d = std::move(due.front());
      due.pop_front();
      std::unique_ptr<Deliveries::Pending, void (*)(Deliveries::Pending*)> pending(
          d.pending, &Deliveries::Free);
      py::object error = py::none();
      py::object ack = py::none();
      if (d.error) {
        error = TypedError(*d.error);
      } else {
        py::int_ partition(d.partition);
        py::object offset = py::none();
        if (d.offset != SPRAWL_OFFSET_UNKNOWN) offset = py::int_(d.offset);
        ack = NewInstance(g_types.publish_ack, {{&g_names->topic, pending->topic},
                                                {&g_names->partition, partition.ptr()},
                                                {&g_names->offset, offset.ptr()}});
      }
      PyObject* args[2] = {error.ptr(), ack.ptr()};
      ++ran;
      PyObject* result = PyObject_Vectorcall(pending->fn, args, 2, nullptr);
      if (result == nullptr) throw py::error_already_set();
      Py_DECREF(result);
    }
    return ran;
  }

  // The outcome queue alone, for the thread that completes futures: holding
  // it instead of the client lets an unclosed client be collected.
  std::shared_ptr<Completions> completions() const { return completions_; }

  // Closes the client (flushing up to timeout_ms; < 0 = the delivery
  // timeout); the completion queue ends after what the close settled.
  void close(int timeout_ms) {
    struct CloseQueue {
      Completions& c;
      Deliveries& d;
      ~CloseQueue() {
        c.Close();
        d.Close();
      }
    } close_queue{*completions_, deliveries_};
    WithoutGil([&] { client_->Close(timeout_ms); });
  }

  // Queues every value (no callbacks: flush() reports the first failure).
  size_t publish_many(const std::string& topic, const py::list& values,
                      const std::optional<py::bytes>& key) {
    std::vector<Bytes> held;
    held.reserve(values.size());
    for (const py::handle& v : values) held.emplace_back(py::reinterpret_borrow<py::buffer>(v));
    Extras extras(key, {});
    WithoutGil([&] {
      sprawl::Record r{topic, {}, std::nullopt, {}, -1};
      extras.Fill(&r);
      for (const Bytes& b : held) {
        r.value = b.view();
        client_->PublishAsync(r);
      }
    });
    return held.size();
  }

  sprawl::Client& client() { return *client_; }

 private:
  // Before client_: the core's callbacks reach it until client_ is gone.
  Deliveries deliveries_;
  std::unique_ptr<sprawl::Client> client_;
  std::shared_ptr<Completions> completions_ = std::make_shared<Completions>();
};

// Client.produce(topic, value, key=None, headers=None, partition=None,
// on_delivery=None) as a METH_FASTCALL builtin bound to one native client.
// pybind11's dispatcher (type lookups, argument vectors) cost about as much
// as the rest of a produce, a per-message path. Its self is a capsule of
// the PyClient whose context is a reference to the client's Python object.
// Errors raise Sprawl's typed exceptions directly.
PyObject* ProduceFast(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  static const char* const kNames[] = {"topic",   "value",     "key",
                                       "headers", "partition", "on_delivery"};
  constexpr Py_ssize_t kCount = 6;
  PyObject* a[kCount] = {};
  if (nargs > kCount) {
    PyErr_Format(PyExc_TypeError, "produce() takes at most %d arguments", int{kCount});
    return nullptr;
  }
  for (Py_ssize_t i = 0; i < nargs; ++i) a[i] = args[i];
  const Py_ssize_t nkw = kwnames == nullptr ? 0 : PyTuple_GET_SIZE(kwnames);
  for (Py_ssize_t k = 0; k < nkw; ++k) {
    PyObject* name = PyTuple_GET_ITEM(kwnames, k);
    Py_ssize_t j = 0;
    while (j < kCount && PyUnicode_CompareWithASCIIString(name, kNames[j]) != 0) ++j;
    if (j == kCount) {
      PyErr_Format(PyExc_TypeError, "produce() got an unexpected keyword argument '%U'", name);
      return nullptr;
    }
    if (a[j] != nullptr) {
      PyErr_Format(PyExc_TypeError, "produce() got multiple values for argument '%s'", kNames[j]);
      return nullptr;
    }
    a[j] = args[nargs + k];
  }
  if (a[0] == nullptr || a[1] == nullptr) {
    PyErr_SetString(PyExc_TypeError, "produce() needs a topic and a value");
    return nullptr;
  }
  for (PyObject*& optional : a) {
    if (optional == nullptr) optional = Py_None;
  }
  try {
    int32_t partition = -1;
    if (a[4] != Py_None) {
      const long p = PyLong_AsLong(a[4]);
      if (p == -1 && PyErr_Occurred()) return nullptr;
      if (p < 0 || p > INT32_MAX) throw py::value_error("partition must be None or >= 0");
      partition = static_cast<int32_t>(p);
    }
    py::object headers = py::none();
    if (a[3] != Py_None && PyObject_IsTrue(a[3]) == 1) {
      headers = py::reinterpret_borrow<py::object>(g_types.headers)(py::handle(a[3]));
    }
    FromCapsule<PyClient>(self)->produce(a[0], a[1], a[2], headers, partition, a[5]);
  } catch (...) {
    SetPythonError();
    return nullptr;
  }
  Py_RETURN_NONE;
}

// The produce builtin of one native client.
py::object ProduceFunction(py::object client) {
  static PyMethodDef def = {"produce", AsMethod(&ProduceFast), METH_FASTCALL | METH_KEYWORDS,
                            "produce(topic, value, key=None, headers=None, partition=None, "
                            "on_delivery=None): see sprawl.Client.produce"};
  return BoundBuiltin(&def, &client.cast<PyClient&>(), client);
}

class PyConsumer {
 public:
  PyConsumer(PyClient& client, const sprawl::Settings& settings)
      : consumer_(WithoutGil(
            [&] { return std::make_unique<sprawl::Consumer>(client.client(), settings); })) {}
  // Leaves the group (a request to the node) if close() was not called.
  ~PyConsumer() {
    WithoutGilIfHeld([&] { consumer_.reset(); });
  }
  // A native message (NativeMessage), or None after timeout_ms.
  py::object receive(int timeout_ms) {
    std::optional<sprawl::Message> m = WithoutGil([&] { return consumer_->Receive(timeout_ms); });
    if (!m) return py::none();
    return Steal(NativeMessage::New(std::move(*m)));
  }
  // Up to max messages in one release of the GIL: the first waits up to
  // timeout_ms, the rest are those already received (zero-timeout
  // receives). Returns them as sprawl.Message objects of `subscription`.
  // An error after the first message (a close from another thread) ends
  // the batch early and shows on the next call instead.
  py::list receive_many(size_t max, int timeout_ms, py::handle subscription) {
    std::vector<sprawl::Message> got;
    got.reserve(std::min<size_t>(max, 1024));
    WithoutGil([&] {
      std::optional<sprawl::Message> m = consumer_->Receive(timeout_ms);
      while (m) {
        got.push_back(std::move(*m));
        if (got.size() >= max) break;
        try {
          m = consumer_->Receive(0);
        } catch (const sprawl::Error&) {
          break;  // the next call raises it
        }
      }
    });
    py::list out(got.size());
    for (size_t i = 0; i < got.size(); ++i) {
      py::object native = Steal(NativeMessage::New(std::move(got[i])));
      py::object msg = NewInstance(g_types.message, {{&g_names->native, native.ptr()},
                                                     {&g_names->subscription, subscription.ptr()}});
      PyList_SET_ITEM(out.ptr(), static_cast<py::ssize_t>(i), msg.release().ptr());
    }
    return out;
  }
  // Settle one native message; the core batches what is sent. Raise
  // Sprawl's typed exceptions (they are the per-message path: see
  // SettleFunctions).
  void ack(PyObject* m) { consumer_->Ack(Native(m)->message()); }
  void nack(PyObject* m, int delay_ms) { consumer_->Nack(Native(m)->message(), delay_ms); }
  // Settles every sprawl.Message of `messages` (an iterable) in one release
  // of the GIL: acks them, or with nack nacks them with delay_ms. Checks
  // every item's type first; stops at the first the core refuses (a
  // message of another consumer, a closed consumer), those before it
  // settled.
  void settle_many(const py::iterable& messages, bool nack, int delay_ms) {
    std::vector<NativeMessage*> held;
    std::vector<py::object> keep;  // the messages, alive while the GIL is released
    for (py::handle item : messages) {
      PyObject* native = PyObject_GetAttr(item.ptr(), g_names->native.ptr());
      if (native == nullptr) {
        PyErr_Clear();
        throw py::type_error("ack_many and nack_many take sprawl.Message objects");
      }
      keep.push_back(py::reinterpret_steal<py::object>(native));
      held.push_back(Native(native));
    }
    WithoutGil([&] {
      for (NativeMessage* m : held) {
        if (nack) {
          consumer_->Nack(m->message(), delay_ms);
        } else {
          consumer_->Ack(m->message());
        }
      }
    });
  }
  void commit() {
    WithoutGil([&] { consumer_->Commit(); });
  }
  void close() {
    WithoutGil([&] { consumer_->Close(); });
  }

 private:
  static NativeMessage* Native(PyObject* obj) {
    NativeMessage* m = NativeMessage::From(obj);
    if (m == nullptr) throw py::error_already_set();
    return m;
  }

 private:
  std::unique_ptr<sprawl::Consumer> consumer_;
};

// ack(message) and nack(message, delay_ms) of one native consumer, as
// builtins (msg.ack() is a per-message path). They raise Sprawl's typed
// exceptions.
PyObject* AckFast(PyObject* self, PyObject* message) {
  try {
    FromCapsule<PyConsumer>(self)->ack(message);
  } catch (...) {
    SetPythonError();
    return nullptr;
  }
  Py_RETURN_NONE;
}

PyObject* NackFast(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 2) {
    PyErr_SetString(PyExc_TypeError, "nack(message, delay_ms)");
    return nullptr;
  }
  const long delay_ms = PyLong_AsLong(args[1]);
  if (delay_ms == -1 && PyErr_Occurred()) return nullptr;
  if (delay_ms < INT_MIN || delay_ms > INT_MAX) {
    PyErr_SetString(PyExc_OverflowError, "the delay is out of range");
    return nullptr;
  }
  try {
    FromCapsule<PyConsumer>(self)->nack(args[0], static_cast<int>(delay_ms));
  } catch (...) {
    SetPythonError();
    return nullptr;
  }
  Py_RETURN_NONE;
}

py::tuple SettleFunctions(py::object consumer) {
  static PyMethodDef ack = {"ack", reinterpret_cast<PyCFunction>(&AckFast), METH_O,
                            "ack(message): settles a native message"};
  static PyMethodDef nack = {"nack", AsMethod(&NackFast), METH_FASTCALL,
                             "nack(message, delay_ms): hands a native message back"};
  PyConsumer* native = &consumer.cast<PyConsumer&>();
  return py::make_tuple(BoundBuiltin(&ack, native, consumer),
                        BoundBuiltin(&nack, native, consumer));
}

}  // namespace

PYBIND11_MODULE(_sprawl, m) {
  m.doc() = "Native half of the sprawl package (over libsprawl's C ABI).";
  m.def("version", &sprawl::Version);

  // Logging (the Python half, sprawl/_logging.py, wires these to `logging`).
  m.def("log_install", &sprawl_py::LogBridge::Install);
  m.def("log_uninstall", &sprawl_py::LogBridge::Uninstall);
  m.def("log_crossed", &sprawl_py::LogBridge::Crossed);
  m.def("log_set_level", [](int level) {
    sprawl_error_t* err = nullptr;
    if (sprawl_log_set_level(static_cast<sprawl_log_level_t>(level), &err) != SPRAWL_OK) {
      std::string message = sprawl_error_message(err);
      sprawl_error_destroy(&err);
      throw py::value_error(message);
    }
  });
  m.def("log_get_level", [] { return static_cast<int>(sprawl_log_get_level()); });
  m.def("log_dropped", [] { return sprawl_log_dropped(); });
  m.def("log_set_queue_capacity", [](size_t capacity) {
    if (sprawl_log_set_queue_capacity(capacity, nullptr) != SPRAWL_OK) {
      throw py::value_error("the log queue's capacity must be at least 1");
    }
  });
  m.def("log_write", [](int level, const std::string& component, const std::string& message) {
    sprawl_error_t* err = nullptr;
    const sprawl_status_t status = sprawl_log_write(static_cast<sprawl_log_level_t>(level),
                                                    component.c_str(), message.c_str(), &err);
    if (status != SPRAWL_OK) {
      std::string text = sprawl_error_message(err);
      sprawl_error_destroy(&err);
      throw py::value_error(text);
    }
  });

  g_names = new Names();  // lives as long as the process: the module is never unloaded
  m.def("register_types",
        [](py::type publish_ack, py::type message, py::function convert, py::function headers) {
          g_types.publish_ack = reinterpret_cast<PyTypeObject*>(publish_ack.release().ptr());
          g_types.message = reinterpret_cast<PyTypeObject*>(message.release().ptr());
          g_types.convert = convert.release().ptr();
          g_types.headers = headers.release().ptr();
        });
  m.def("produce_function", &ProduceFunction);

  static py::exception<sprawl::Error> native_error(m, "NativeError");
  g_native_error = native_error.ptr();
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const sprawl::Error& e) {
      PyErr_SetObject(
          native_error.ptr(),
          py::make_tuple(e.name(), static_cast<int>(e.code()), e.message(), e.retriable()).ptr());
    }
  });

  py::class_<PyNode>(m, "Node")
      .def(py::init<const sprawl::Settings&>())
      .def_property_readonly("client_address", &PyNode::client_address)
      .def_property_readonly("http_address", &PyNode::http_address)
      .def_property_readonly("peer_address", &PyNode::peer_address)
      .def("stop", &PyNode::stop);

  py::class_<PyClient>(m, "Client")
      .def(py::init<const sprawl::Settings&>())
      .def("create_topic",
           [](PyClient& c, const std::string& name, const sprawl::Settings& s) {
             return c.Blocking([&](sprawl::Client& cl) { return cl.CreateTopic(name, s); });
           })
      .def("alter_topic",
           [](PyClient& c, const std::string& name, const sprawl::Settings& s) {
             return c.Blocking([&](sprawl::Client& cl) { return cl.AlterTopic(name, s); });
           })
      .def("describe_topic",
           [](PyClient& c, const std::string& name) {
             return c.Blocking([&](sprawl::Client& cl) { return cl.DescribeTopic(name); });
           })
      .def("list_topics",
           [](PyClient& c) {
             return c.Blocking([](sprawl::Client& cl) { return cl.ListTopics(); });
           })
      .def("delete_topic",
           [](PyClient& c, const std::string& name) {
             c.Blocking([&](sprawl::Client& cl) {
               cl.DeleteTopic(name);
               return 0;
             });
           })
      .def("list_groups",
           [](PyClient& c, const std::string& topic) {
             return c.Blocking([&](sprawl::Client& cl) { return cl.ListGroups(topic); });
           })
      .def("describe_group",
           [](PyClient& c, const std::string& topic, const std::string& group) {
             return c.Blocking([&](sprawl::Client& cl) { return cl.DescribeGroup(topic, group); });
           })
      .def("publish", &PyClient::publish)
      .def("publish_async", &PyClient::publish_async)
      .def("publish_many", &PyClient::publish_many)
      .def("drain", &PyClient::drain)
      .def("produce", &PyClient::produce)
      .def("poll", &PyClient::poll)
      .def("completions", &PyClient::completions)
      .def("flush",
           [](PyClient& c, int timeout_ms) {
             c.Blocking([&](sprawl::Client& cl) {
               cl.Flush(timeout_ms);
               return 0;
             });
           })
      .def("close", &PyClient::close);

  py::class_<Completions, std::shared_ptr<Completions>>(m, "Completions")
      .def("drain", &Completions::Drain);

  if (!NativeMessage::Register(m.ptr())) throw py::error_already_set();
  m.def("settle_functions", &SettleFunctions);

  py::class_<PyConsumer>(m, "Consumer")
      .def(py::init<PyClient&, const sprawl::Settings&>(), py::keep_alive<1, 2>())
      .def("receive", &PyConsumer::receive)
      .def("receive_many", &PyConsumer::receive_many)
      .def("settle_many", &PyConsumer::settle_many)
      .def("commit", &PyConsumer::commit)
      .def("close", &PyConsumer::close);
}

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

#include "log_bridge.h"
#include "sprawl/sprawl.hpp"

namespace py = pybind11;

namespace {

using HeaderList = std::vector<std::pair<std::string, py::bytes>>;

// The NativeError class, set at import; the module keeps it alive.
PyObject* g_native_error = nullptr;

py::object NativeError(const sprawl::Error& e) {
  return py::reinterpret_borrow<py::object>(g_native_error)(e.name(), static_cast<int>(e.code()),
                                                            e.message(), e.retriable());
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

  // The outcome queue alone, for the thread that completes futures: holding
  // it instead of the client lets an unclosed client be collected.
  std::shared_ptr<Completions> completions() const { return completions_; }

  // Closes the client (flushing up to timeout_ms; < 0 = the delivery
  // timeout); the completion queue ends after what the close settled.
  void close(int timeout_ms) {
    struct CloseQueue {
      Completions& c;
      ~CloseQueue() { c.Close(); }
    } close_queue{*completions_};
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
  std::unique_ptr<sprawl::Client> client_;
  std::shared_ptr<Completions> completions_ = std::make_shared<Completions>();
};

class PyMessage {
 public:
  explicit PyMessage(sprawl::Message m) : m_(std::move(m)) {}
  const sprawl::Message& message() const { return m_; }

 private:
  sprawl::Message m_;
};

class PyConsumer {
 public:
  PyConsumer(PyClient& client, const sprawl::Settings& settings)
      : consumer_(WithoutGil(
            [&] { return std::make_unique<sprawl::Consumer>(client.client(), settings); })) {}
  // Leaves the group (a request to the node) if close() was not called.
  ~PyConsumer() {
    WithoutGilIfHeld([&] { consumer_.reset(); });
  }
  std::optional<PyMessage> receive(int timeout_ms) {
    std::optional<sprawl::Message> m = WithoutGil([&] { return consumer_->Receive(timeout_ms); });
    if (!m) return std::nullopt;
    return PyMessage(std::move(*m));
  }
  void ack(const PyMessage& m) { consumer_->Ack(m.message()); }
  void nack(const PyMessage& m, int delay_ms) { consumer_->Nack(m.message(), delay_ms); }
  void commit() {
    WithoutGil([&] { consumer_->Commit(); });
  }
  void close() {
    WithoutGil([&] { consumer_->Close(); });
  }

 private:
  std::unique_ptr<sprawl::Consumer> consumer_;
};

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

  py::class_<PyMessage>(m, "Message", py::buffer_protocol())
      .def_buffer([](PyMessage& msg) {
        std::string_view v = msg.message().value();
        return py::buffer_info(const_cast<char*>(v.data()), 1,
                               py::format_descriptor<uint8_t>::format(), 1,
                               {static_cast<py::ssize_t>(v.size())}, {1}, /*readonly=*/true);
      })
      .def_property_readonly(
          "topic", [](const PyMessage& msg) { return std::string(msg.message().topic()); })
      .def_property_readonly("partition",
                             [](const PyMessage& msg) { return msg.message().partition(); })
      .def_property_readonly("offset", [](const PyMessage& msg) { return msg.message().offset(); })
      .def_property_readonly("timestamp_ms",
                             [](const PyMessage& msg) { return msg.message().timestamp_ms(); })
      .def_property_readonly("delivery_count",
                             [](const PyMessage& msg) { return msg.message().delivery_count(); })
      .def_property_readonly("key",
                             [](const PyMessage& msg) -> std::optional<py::bytes> {
                               auto k = msg.message().key();
                               if (!k) return std::nullopt;
                               return py::bytes(k->data(), k->size());
                             })
      .def_property_readonly("headers", [](const PyMessage& msg) {
        py::list out;
        for (const auto& [name, value] : msg.message().headers()) {
          out.append(py::make_tuple(py::str(name.data(), name.size()),
                                    py::bytes(value.data(), value.size())));
        }
        return out;
      });

  py::class_<PyConsumer>(m, "Consumer")
      .def(py::init<PyClient&, const sprawl::Settings&>(), py::keep_alive<1, 2>())
      .def("receive", &PyConsumer::receive)
      .def("ack", &PyConsumer::ack)
      .def("nack", &PyConsumer::nack)
      .def("commit", &PyConsumer::commit)
      .def("close", &PyConsumer::close);
}

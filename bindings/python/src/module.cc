// sprawl._sprawl: the native half of the Python package, over the C ABI
// through sprawl.hpp. Blocking calls release the GIL; callbacks from core
// threads take it. Errors surface as NativeError(name, code, message,
// retriable), which the Python half turns into typed exceptions.
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

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

// Completions of publish_async. Core threads queue them without the GIL;
// drain() runs them in batches with the GIL taken once per batch (taking it
// per message from a core thread would wait out the interpreter's switch
// interval each time).
class Completions {
 public:
  struct Done {
    PyObject* fn;  // a strong reference, released by drain under the GIL
    std::optional<sprawl::Error> error;
    uint32_t partition;
    uint64_t offset;
  };

  void Push(Done done) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(done));
    }
    cv_.notify_one();
  }

  // Runs what has completed, first waiting up to timeout_ms for something.
  // Returns how many callbacks ran. Called with the GIL held.
  size_t Drain(int timeout_ms) {
    std::vector<Done> batch;
    std::unique_lock<std::mutex> draining;
    {
      py::gil_scoped_release nogil;
      {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(std::max(timeout_ms, 0)),
                     [&] { return !queue_.empty(); });
      }
      // One drainer at a time: a flush that drains after its wait returns
      // only once every completion queued before it has run.
      draining = std::unique_lock(drain_mu_);
      std::lock_guard lock(mu_);
      batch.swap(queue_);
    }
    for (Done& d : batch) {
      py::object fn = py::reinterpret_steal<py::object>(d.fn);
      try {
        fn(d.error ? NativeError(*d.error) : py::none(), d.partition, d.offset);
      } catch (py::error_already_set& e) {
        e.discard_as_unraisable("sprawl delivery callback");
      }
    }
    return batch.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Done> queue_;
  std::mutex drain_mu_;
};

class PyNode {
 public:
  explicit PyNode(const sprawl::Settings& settings) {
    py::gil_scoped_release nogil;
    node_ = std::make_unique<sprawl::Node>(settings);
  }
  std::string client_address() const { return node_->client_address(); }
  std::string http_address() const { return node_->http_address(); }
  std::string peer_address() const { return node_->peer_address(); }
  void stop() {
    py::gil_scoped_release nogil;
    node_->Stop();
  }

 private:
  std::unique_ptr<sprawl::Node> node_;
};

class PyClient {
 public:
  explicit PyClient(const sprawl::Settings& settings) {
    py::gil_scoped_release nogil;
    client_ = std::make_unique<sprawl::Client>(settings);
  }

  template <typename Fn>
  auto Blocking(Fn fn) {
    py::gil_scoped_release nogil;
    return fn(*client_);
  }

  std::pair<uint32_t, uint64_t> publish(const std::string& topic, const py::buffer& value,
                                        const std::optional<py::bytes>& key,
                                        const HeaderList& headers, int32_t partition,
                                        int timeout_ms) {
    Bytes bytes(value);
    Extras extras(key, headers);
    sprawl::Record r{topic, bytes.view(), std::nullopt, {}, partition};
    extras.Fill(&r);
    py::gil_scoped_release nogil;
    sprawl::PublishAck ack = client_->Publish(r, timeout_ms);
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
      py::gil_scoped_release nogil;
      client_->PublishAsync(r,
                            [completions, fn](const sprawl::Error* error, sprawl::PublishAck ack) {
                              std::optional<sprawl::Error> e;
                              if (error != nullptr) e = *error;
                              completions->Push({fn, std::move(e), ack.partition, ack.offset});
                            });
    } catch (...) {
      Py_DECREF(fn);  // not queued: the callback never runs
      throw;
    }
  }

  size_t drain(int timeout_ms) { return completions_->Drain(timeout_ms); }

  // Queues every value (no callbacks: flush() reports the first failure).
  size_t publish_many(const std::string& topic, const py::list& values,
                      const std::optional<py::bytes>& key) {
    std::vector<Bytes> held;
    held.reserve(values.size());
    for (const py::handle& v : values) held.emplace_back(py::reinterpret_borrow<py::buffer>(v));
    Extras extras(key, {});
    py::gil_scoped_release nogil;
    sprawl::Record r{topic, {}, std::nullopt, {}, -1};
    extras.Fill(&r);
    for (const Bytes& b : held) {
      r.value = b.view();
      client_->PublishAsync(r);
    }
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
  PyConsumer(PyClient& client, const sprawl::Settings& settings) {
    py::gil_scoped_release nogil;
    consumer_ = std::make_unique<sprawl::Consumer>(client.client(), settings);
  }
  std::optional<PyMessage> receive(int timeout_ms) {
    std::optional<sprawl::Message> m;
    {
      py::gil_scoped_release nogil;
      m = consumer_->Receive(timeout_ms);
    }
    if (!m) return std::nullopt;
    return PyMessage(std::move(*m));
  }
  void ack(const PyMessage& m) { consumer_->Ack(m.message()); }
  void nack(const PyMessage& m, int delay_ms) { consumer_->Nack(m.message(), delay_ms); }
  void commit() {
    py::gil_scoped_release nogil;
    consumer_->Commit();
  }
  void close() {
    py::gil_scoped_release nogil;
    consumer_->Close();
  }

 private:
  std::unique_ptr<sprawl::Consumer> consumer_;
};

}  // namespace

PYBIND11_MODULE(_sprawl, m) {
  m.doc() = "Native half of the sprawl package (over libsprawl's C ABI).";
  m.def("version", &sprawl::Version);

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
      .def("flush",
           [](PyClient& c, int timeout_ms) {
             c.Blocking([&](sprawl::Client& cl) {
               cl.Flush(timeout_ms);
               return 0;
             });
           })
      .def("close", [](PyClient& c, int timeout_ms) {
        c.Blocking([&](sprawl::Client& cl) {
          cl.Close(timeout_ms);
          return 0;
        });
      });

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

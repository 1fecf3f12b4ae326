// sprawl._sprawl.Message: one received message as a plain CPython type. A
// consumer builds one per message, so it skips the binding layer's
// per-instance bookkeeping (a registry insert and erase, a heap-held
// holder): an allocation from Python's small-object pool and a move. It is
// a read-only buffer over the value (memoryview(message), no copy) and has
// getters for the rest; the sprawl.Message class wraps it.
#ifndef SPRAWL_PYTHON_NATIVE_MESSAGE_H
#define SPRAWL_PYTHON_NATIVE_MESSAGE_H

#include <Python.h>

#include <new>
#include <string_view>
#include <utility>

#include "sprawl/sprawl.hpp"

namespace sprawl_py {

struct NativeMessage {
  PyObject_HEAD alignas(sprawl::Message) unsigned char storage[sizeof(sprawl::Message)];

  sprawl::Message& message() { return *std::launder(reinterpret_cast<sprawl::Message*>(storage)); }

  // The type, created by Register; null before.
  static inline PyTypeObject* type = nullptr;

  // A new reference to a message object that owns `m`, or null with a
  // Python error set.
  static PyObject* New(sprawl::Message m) {
    PyObject* obj = type->tp_alloc(type, 0);
    if (obj == nullptr) return nullptr;
    new (reinterpret_cast<NativeMessage*>(obj)->storage) sprawl::Message(std::move(m));
    return obj;
  }

  // The message of obj, or null (with a TypeError set) when obj is not one.
  static NativeMessage* From(PyObject* obj) {
    if (Py_TYPE(obj) != type) {
      PyErr_Format(PyExc_TypeError, "expected a received message, not %.100s",
                   Py_TYPE(obj)->tp_name);
      return nullptr;
    }
    return reinterpret_cast<NativeMessage*>(obj);
  }

  // Creates the type and adds it to `module` as "Message". Returns false
  // with a Python error set on failure.
  static bool Register(PyObject* module) {
    static PyGetSetDef getset[] = {
        {"topic", &Topic, nullptr, "the topic's name", nullptr},
        {"partition", &Partition, nullptr, "the partition it was stored in", nullptr},
        {"offset", &Offset, nullptr, "its offset within the partition", nullptr},
        {"timestamp_ms", &TimestampMs, nullptr, "the producer's timestamp", nullptr},
        {"delivery_count", &DeliveryCount, nullptr, "1 on a first group delivery", nullptr},
        {"key", &Key, nullptr, "bytes, or None without a key", nullptr},
        {"headers", &Headers, nullptr, "a list of (str, bytes)", nullptr},
        {nullptr, nullptr, nullptr, nullptr, nullptr},
    };
    static PyType_Slot slots[] = {
        {Py_tp_dealloc, reinterpret_cast<void*>(&Dealloc)},
        {Py_tp_getset, getset},
        {Py_bf_getbuffer, reinterpret_cast<void*>(&GetBuffer)},
        {Py_tp_doc, const_cast<char*>("A received message; a read-only buffer over its value.")},
        {0, nullptr},
    };
    static PyType_Spec spec = {"sprawl._sprawl.Message", sizeof(NativeMessage), 0,
                               Py_TPFLAGS_DEFAULT, slots};
    PyObject* t = PyType_FromSpec(&spec);
    if (t == nullptr) return false;
    type = reinterpret_cast<PyTypeObject*>(t);
    Py_INCREF(t);  // the module's reference; `type` keeps its own
    if (PyModule_AddObject(module, "Message", t) != 0) {
      Py_DECREF(t);
      return false;
    }
    return true;
  }

 private:
  static NativeMessage* Self(PyObject* obj) { return reinterpret_cast<NativeMessage*>(obj); }

  static void Dealloc(PyObject* obj) {
    PyTypeObject* t = Py_TYPE(obj);
    Self(obj)->message().~Message();
    t->tp_free(obj);
    Py_DECREF(t);  // instances of a heap type hold a reference to it
  }

  static int GetBuffer(PyObject* obj, Py_buffer* view, int flags) {
    std::string_view v = Self(obj)->message().value();
    return PyBuffer_FillInfo(view, obj, const_cast<char*>(v.data()),
                             static_cast<Py_ssize_t>(v.size()), /*readonly=*/1, flags);
  }

  static PyObject* Bytes(std::string_view v) {
    return PyBytes_FromStringAndSize(v.data(), static_cast<Py_ssize_t>(v.size()));
  }

  static PyObject* Topic(PyObject* obj, void*) {
    std::string_view t = Self(obj)->message().topic();
    return PyUnicode_FromStringAndSize(t.data(), static_cast<Py_ssize_t>(t.size()));
  }
  static PyObject* Partition(PyObject* obj, void*) {
    return PyLong_FromUnsignedLong(Self(obj)->message().partition());
  }
  static PyObject* Offset(PyObject* obj, void*) {
    return PyLong_FromUnsignedLongLong(Self(obj)->message().offset());
  }
  static PyObject* TimestampMs(PyObject* obj, void*) {
    return PyLong_FromLongLong(Self(obj)->message().timestamp_ms());
  }
  static PyObject* DeliveryCount(PyObject* obj, void*) {
    return PyLong_FromUnsignedLong(Self(obj)->message().delivery_count());
  }
  static PyObject* Key(PyObject* obj, void*) {
    auto key = Self(obj)->message().key();
    if (!key) Py_RETURN_NONE;
    return Bytes(*key);
  }
  static PyObject* Headers(PyObject* obj, void*) {
    PyObject* out = PyList_New(0);
    if (out == nullptr) return nullptr;
    try {
      for (const auto& [name, value] : Self(obj)->message().headers()) {
        PyObject* n =
            PyUnicode_FromStringAndSize(name.data(), static_cast<Py_ssize_t>(name.size()));
        PyObject* v = n == nullptr ? nullptr : Bytes(value);
        PyObject* pair = v == nullptr ? nullptr : PyTuple_Pack(2, n, v);
        Py_XDECREF(n);
        Py_XDECREF(v);
        if (pair == nullptr || PyList_Append(out, pair) != 0) {
          Py_XDECREF(pair);
          Py_DECREF(out);
          return nullptr;
        }
        Py_DECREF(pair);
      }
    } catch (const std::bad_alloc&) {
      Py_DECREF(out);
      return PyErr_NoMemory();
    }
    return out;
  }
};

}  // namespace sprawl_py

#endif  // SPRAWL_PYTHON_NATIVE_MESSAGE_H

// The bridge from the library's log callback to Python's `logging`: records
// at or above the core's level (which the Python half keeps at the `sprawl`
// loggers' effective level) reach a Python function on the library's log
// delivery thread, never on a core thread. Records below it are dropped by
// the core where they are written and never take the GIL.
#pragma once

#include <pybind11/pybind11.h>

#include <array>
#include <atomic>
#include <string>

#include "sprawl/sprawl.h"

namespace sprawl_py {

namespace py = pybind11;

class LogBridge {
 public:
  // Sends every record to `deliver(level, component, message, timestamp_ms,
  // fields)` (levels are sprawl_log_level_t numbers, fields a list of
  // (key, value) pairs). Whatever `deliver` raises is discarded: a broken
  // handler must not stop the delivery thread. Called with the GIL held.
  static void Install(py::object deliver) {
    Uninstall();
    {
      // Released only by Uninstall, under the GIL; the callback reads it
      // under the GIL too.
      deliver_ = deliver.release().ptr();
    }
    Check(Unlocked([] { return sprawl_log_set_callback(&OnRecord, nullptr, nullptr, nullptr); }));
  }

  // Back to stderr. Waits (without the GIL, which the delivery thread may
  // need meanwhile) for the records already queued. Called with the GIL held.
  static void Uninstall() {
    Check(Unlocked([] { return sprawl_log_set_callback(nullptr, nullptr, nullptr, nullptr); }));
    if (deliver_ != nullptr) {
      Py_DECREF(deliver_);
      deliver_ = nullptr;
    }
  }

  // How many records of each level (trace .. error) crossed into Python.
  static py::list Crossed() {
    py::list out;
    for (const auto& n : crossed_) out.append(n.load(std::memory_order_relaxed));
    return out;
  }

 private:
  template <typename Fn>
  static sprawl_status_t Unlocked(Fn fn) {
    py::gil_scoped_release release;
    return fn();
  }

  static void Check(sprawl_status_t status) {
    if (status != SPRAWL_OK) {
      throw std::runtime_error("sprawl_log_set_callback failed with status " +
                               std::to_string(static_cast<int>(status)));
    }
  }

  static bool InterpreterAlive() {
#if PY_VERSION_HEX >= 0x030D0000
    return Py_IsInitialized() && !Py_IsFinalizing();
#else
    return Py_IsInitialized() && !_Py_IsFinalizing();
#endif
  }

  // On the library's log delivery thread.
  static void OnRecord(void*, const sprawl_log_record_t* record) {
    if (!InterpreterAlive()) return;
    const int level = static_cast<int>(sprawl_log_record_level(record));
    PyGILState_STATE gil = PyGILState_Ensure();
    if (level >= 0 && level < static_cast<int>(crossed_.size())) {
      crossed_[static_cast<size_t>(level)].fetch_add(1, std::memory_order_relaxed);
    }
    if (deliver_ != nullptr) {
      try {
        py::list fields;
        const size_t count = sprawl_log_record_field_count(record);
        for (size_t i = 0; i < count; ++i) {
          const char* key = nullptr;
          const char* value = nullptr;
          if (sprawl_log_record_field(record, i, &key, &value) == 1) {
            fields.append(py::make_tuple(py::str(key), py::str(value)));
          }
        }
        py::handle deliver(deliver_);
        deliver(level, py::str(sprawl_log_record_component(record)),
                py::str(sprawl_log_record_message(record)), sprawl_log_record_timestamp_ms(record),
                fields);
      } catch (py::error_already_set& e) {
        e.discard_as_unraisable("sprawl log delivery");
      } catch (...) {
        // Nothing may escape into the library's thread.
      }
    }
    PyGILState_Release(gil);
  }

  static inline PyObject* deliver_ = nullptr;
  static inline std::array<std::atomic<uint64_t>, 5> crossed_{};
};

}  // namespace sprawl_py

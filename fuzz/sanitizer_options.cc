// Sanitizer defaults linked into every fuzz target, so that a target started
// by hand stops at the first finding exactly as under fuzz/run_fuzzers.sh.
// The `fuzz` preset compiles UndefinedBehaviorSanitizer checks as
// recoverable; without halt_on_error they would print and carry on, and
// libFuzzer would never save the input.

extern "C" const char* __ubsan_default_options() {  // NOLINT(bugprone-reserved-identifier)
  return "halt_on_error=1:print_stacktrace=1";
}

# Runs an example and passes only when it exits with 0 and its output
# matches EXPECT: a crash or a failure after the expected line still fails.
# With QUIET_STDERR set, anything on stderr fails too (the library's own log
# lines must not show in a program that did not ask for them).
#   cmake -DEXAMPLE=<program> -DEXPECT=<regex> [-DQUIET_STDERR=ON] -P run_example.cmake
if(NOT DEFINED EXAMPLE OR NOT DEFINED EXPECT)
  message(FATAL_ERROR "usage: cmake -DEXAMPLE=<program> -DEXPECT=<regex> -P run_example.cmake")
endif()
execute_process(COMMAND "${EXAMPLE}" RESULT_VARIABLE result OUTPUT_VARIABLE output
                ERROR_VARIABLE errors)
message("${output}")
if(errors)
  message("${errors}")
endif()
# RESULT_VARIABLE is the exit code, or a text such as "Segmentation fault".
if(NOT result STREQUAL "0")
  message(FATAL_ERROR "${EXAMPLE} failed: ${result}")
endif()
if(NOT output MATCHES "${EXPECT}")
  message(FATAL_ERROR "${EXAMPLE} exited with 0 but printed nothing matching '${EXPECT}'")
endif()
if(QUIET_STDERR AND errors)
  message(FATAL_ERROR "${EXAMPLE} wrote to stderr (shown above); it should print only its own lines")
endif()

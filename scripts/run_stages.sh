#!/usr/bin/env bash
# Runs `make <stage>` for each stage named on the command line, in order, and
# prints how long each took at the end, whether the run passed or failed, so
# a slow or failing stage is plain in CI's output. Stops at the first stage
# that fails and exits with its status.
#
# Each stage may have a budget in seconds (STAGE_BUDGETS, "stage=seconds ..."):
# a stage over its budget is flagged in the table (it does not fail the run;
# the budgets are there so a suite that grows is noticed before CI's limit).
set -uo pipefail

declare -A budget=()
for pair in ${STAGE_BUDGETS:-}; do
  budget[${pair%%=*}]=${pair#*=}
done

names=()
seconds=()
verdicts=()
status=0
run_start=$(date +%s)

print_table() {
  local total=$(( $(date +%s) - run_start ))
  echo
  echo "== make test: stage times =="
  printf '%-20s %8s %8s  %s\n' stage seconds budget result
  for i in "${!names[@]}"; do
    printf '%-20s %8s %8s  %s\n' "${names[$i]}" "${seconds[$i]}" \
      "${budget[${names[$i]}]:--}" "${verdicts[$i]}"
  done
  printf '%-20s %8s\n' total "$total"
}
trap print_table EXIT

for stage in "$@"; do
  start=$(date +%s)
  echo "== stage $stage =="
  make --no-print-directory "$stage"
  status=$?
  took=$(( $(date +%s) - start ))
  names+=("$stage")
  seconds+=("$took")
  verdict=passed
  if ((status != 0)); then
    verdict="FAILED (exit $status)"
  elif [[ -n "${budget[$stage]:-}" ]] && ((took > budget[$stage])); then
    verdict="passed, over budget"
  fi
  verdicts+=("$verdict")
  if ((status != 0)); then
    exit "$status"
  fi
done
exit 0

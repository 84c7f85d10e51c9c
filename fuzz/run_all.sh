#!/usr/bin/env bash
# Runs every fuzz target for the given number of seconds (default 600), one
# after the other, starting from the committed seeds, and prints a summary:
# executions, coverage and crashes per target.
#   fuzz/run_all.sh 600
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-600}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
mkdir -p logs
summary=()
for target in $(cargo +nightly fuzz list); do
  mkdir -p "corpus/$target"
  [ -d "seeds/$target" ] && cp -n seeds/"$target"/* "corpus/$target/" 2>/dev/null || true
  # The engine target decodes any bytes into a history of about one
  # operation per 15 bytes: start it long instead of letting libFuzzer grow
  # inputs from a few bytes.
  extra=()
  [ "$target" = engine ] && extra=(-max_len=8192 -len_control=0)
  status=ok
  cargo +nightly fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" \
    "${extra[@]}" > "logs/$target.log" 2>&1 || status=CRASH
  done_line=$(grep -E '^#[0-9]+\s+DONE' "logs/$target.log" | tail -1 || true)
  crashes=$(ls "artifacts/$target" 2>/dev/null | wc -l)
  summary+=("$target: $status; ${done_line:-no DONE line}; artifacts: $crashes")
done
printf '%s\n' "${summary[@]}"

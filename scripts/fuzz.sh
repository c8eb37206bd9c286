#!/usr/bin/env bash
# Build every cargo-fuzz target and run each for a bounded time; fail on any
# crash, timeout, leak or out-of-memory report.
#
#   scripts/fuzz.sh                 # 45 s per target (what CI runs, 30 s)
#   scripts/fuzz.sh 3600            # an hour per target
#   scripts/fuzz.sh 600 -s none     # faster, without AddressSanitizer
#
# A finding is left in fuzz/artifacts/<target>/. Fix it, then copy the file to
# fuzz/regressions/<target>/: `cargo test -p teleport-core --test fuzz_regressions`
# replays it on stable from then on.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

secs="${1:-45}"
shift || true
extra=("$@")

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  rustup toolchain install nightly --profile minimal
  cargo install cargo-fuzz --locked
fi

python3 seed.py

run() { # name, then cargo-fuzz feature flags
  local target="$1"
  shift
  local log
  log="$(mktemp)"
  echo "--- $target $* (${secs}s)"
  mkdir -p "corpus/$target"
  # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: memory.
  if ! cargo +nightly fuzz run --release "${extra[@]}" "$@" "$target" "corpus/$target" -- \
      -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "error: fuzz target $target failed (input in fuzz/artifacts/$target/)" >&2
    exit 1
  fi
  grep -E "stat::(number_of_executed_units|average_exec_per_sec)" "$log" | tr -s ' ' | paste -sd ' '
  rm -f "$log"
}

cargo +nightly fuzz build --release "${extra[@]}"
for target in frame_decode frame_roundtrip meta_status xfer_unpack conn_ops router; do
  run "$target"
done
# The no-alloc core (borrowed views, fixed storage), as on a microcontroller.
cargo +nightly fuzz build --release "${extra[@]}" --no-default-features frame_decode
cargo +nightly fuzz build --release "${extra[@]}" --no-default-features conn_ops
for target in frame_decode conn_ops; do
  run "$target" --no-default-features
done
echo "fuzzing passed"

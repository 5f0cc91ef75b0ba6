#!/usr/bin/env bash
# Runs the workspace's tests and ends with one line that adds up every test binary's result,
# so the verdict is the last thing printed, whichever binary ran last.
set -euo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# The end-to-end test (tests/e2e) runs scripts/demo.sh on the debug binaries of every crate,
# which `cargo test` alone does not build.
cargo build --workspace --bins
cargo test --workspace --no-fail-fast "$@" 2>&1 | tee "$log" || status=$?
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "workspace: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"

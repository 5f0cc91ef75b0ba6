#!/bin/sh
# Runs the synthetic-journey benchmark and writes BENCHMARKS.md next to this directory.
# Needs /usr/bin/chromium and /usr/bin/prometheus-blackbox-exporter (Debian packages chromium
# and prometheus-blackbox-exporter). Scale with BENCH_OVERHEAD_RUNS (30), BENCH_STABILITY_RUNS
# (1000) and BENCH_PROBES (2000).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$here/../.." && pwd)
for tool in /usr/bin/chromium /usr/bin/prometheus-blackbox-exporter; do
    [ -x "$tool" ] || { echo "missing $tool: apt-get install -y $(basename "$tool")" >&2; exit 1; }
done
cd "$root"
cargo build --release -p synthetic-journey --bin synthetic-journey --example bench
out=$(mktemp)
BENCH_BINARY="$root/target/release/synthetic-journey" "$root/target/release/examples/bench" > "$out"
{
    echo "# synthetic-journey benchmarks"
    echo
    echo "Produced by \`bench/run.sh\` (\`make bench\`) on $(date -u +%Y-%m-%d), $(nproc) cores"
    echo "($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/Mem:/ {print $2}') GiB of memory,"
    echo "$(/usr/bin/chromium --version 2>/dev/null | head -1), release build. The machine is shared with other"
    echo "builds, so absolute times carry noise; the comparisons ran back to back."
    echo
    echo "Rerun: \`exporters/synthetic-journey/bench/run.sh\` (environment: BENCH_OVERHEAD_RUNS,"
    echo "BENCH_STABILITY_RUNS, BENCH_PROBES). Goals from the issue: overhead under 100 ms per step;"
    echo "100 % success and under 10 % RSS growth over 1,000 runs; HTTP checks no worse than"
    echo "blackbox_exporter."
    echo
    if [ "${BENCH_STABILITY_RUNS:-1000}" -lt 1000 ]; then
        echo "This run scaled the stability test down from 1,000 to ${BENCH_STABILITY_RUNS} runs to fit"
        echo "the time available on the shared machine; rerun without BENCH_STABILITY_RUNS for 1,000."
        echo
    fi
    cat "$out"
    cat <<'TEXT'
### Reading the numbers

- Overhead: most of it is the DevTools round trip of headless_chrome 1.0.22, up to 100 ms per
  call because its reader thread holds the socket lock through a 100 ms read timeout (upstream
  issue 446). The exporter already does each element lookup in one in-page script and waits for
  the load event itself; a click still needs three calls (lookup, mouse down, mouse up), a fill
  two, a navigate about three. The goal of under 100 ms per step is not met with this crate.
- RSS is the sum over the browser's processes, so pages shared between them count once per
  process: the absolute value overstates the memory used; the change from start to end is the
  figure that shows growth. Each run's incognito context is disposed of, so nothing accumulates.
- HTTP checks: both exporters open a new connection per probe. blackbox_exporter also resolves
  the target, logs each probe in memory for its `/logs` page and runs its own HTTP client setup
  per probe, which accounts for part of its extra CPU.
TEXT
} > "$here/BENCHMARKS.md"
rm -f "$out"
cat "$here/BENCHMARKS.md"

#!/usr/bin/env bash
# `make bench`: runs every part's benchmark (bench/run.sh in its folder), each of which writes
# its own BENCHMARKS.md, then gathers them into the top-level BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

parts=()
for script in exporters/*/bench/run.sh rules/bench/run.sh; do
    [ -x "$script" ] || continue
    part=${script%/bench/run.sh}
    echo "== benchmark: $part"
    "$script"
    parts+=("$part")
done

{
    echo "# Benchmarks"
    echo
    echo "Written by \`make bench\`; each part's own file has the machine, the date and how to rerun it."
    echo
    for part in "${parts[@]}"; do
        [ -f "$part/BENCHMARKS.md" ] && echo "- [$part]($part/BENCHMARKS.md)"
    done
} > BENCHMARKS.md
echo "wrote BENCHMARKS.md"

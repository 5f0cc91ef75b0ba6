#!/usr/bin/env bash
# `make bench`: runs every part's benchmark (bench/run.sh in its folder), each of which writes
# its own BENCHMARKS.md; the top-level BENCHMARKS.md indexes them.
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

# The index's summaries are written by hand from the parts' files, so a rerun keeps them and
# only adds a link for a part the index does not name yet; the files to copy from are printed.
for part in "${parts[@]}"; do
    [ -f "$part/BENCHMARKS.md" ] || continue
    grep -qF "]($part/BENCHMARKS.md)" BENCHMARKS.md 2>/dev/null ||
        echo "- [$part]($part/BENCHMARKS.md): (summary to write)" >> BENCHMARKS.md
done
echo "the parts' files are rewritten; update the summaries in BENCHMARKS.md from them:"
for part in "${parts[@]}"; do echo "  $part/BENCHMARKS.md"; done

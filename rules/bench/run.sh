#!/usr/bin/env bash
# Benchmark of rulegen, written to rules/BENCHMARKS.md:
#   1. time to generate 1,000 SLOs, and to check them with promtool;
#   2. recording and alerting rules per SLO;
#   3. rule-group evaluation time of 100 SLOs in a running Prometheus on a free loopback
#      port, read from prometheus_rule_group_last_duration_seconds.
# Needs: cargo, promtool and prometheus (Debian's prometheus package), curl, jq, python3.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="$ROOT/rules/BENCHMARKS.md"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$(mktemp -d)"
PROM_PID=""
EVAL_SECONDS="${RULEGEN_BENCH_EVAL_SECONDS:-60}"

cleanup() {
    if [ -n "$PROM_PID" ]; then kill "$PROM_PID" 2>/dev/null || true; wait "$PROM_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

for tool in cargo promtool prometheus curl jq python3; do
    command -v "$tool" >/dev/null || { echo "rules/bench: $tool is missing" >&2; exit 1; }
done

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
(cd "$ROOT" && cargo build --release -q -p rulegen)
RULEGEN="$TARGET/release/rulegen"

# Writes a spec of $2 SLOs to $1: a third availability, a third latency, a third raw.
# With $3 = self, the SLIs read Prometheus's own metrics so that evaluation does real work.
write_spec() {
    local file="$1" count="$2" source="${3:-app}"
    {
        echo "apiVersion: rulegen/v1"
        echo "service: bench"
        echo "labels: {team: bench}"
        echo "slos:"
        for i in $(seq 1 "$count"); do
            echo "  - name: slo-$i"
            echo "    objective: 99.$((i % 10))"
            case $((i % 3)) in
                0)
                    echo "    sli:"
                    echo "      availability:"
                    if [ "$source" = self ]; then
                        echo "        bad: sum(rate(prometheus_http_requests_total{code=~\"5..\"}[{{.window}}]))"
                        echo "        total: sum(rate(prometheus_http_requests_total[{{.window}}]))"
                    else
                        echo "        bad: sum(rate(http_requests_total{job=\"app-$i\", code=~\"5..\"}[{{.window}}]))"
                        echo "        total: sum(rate(http_requests_total{job=\"app-$i\"}[{{.window}}]))"
                    fi ;;
                1)
                    echo "    period: 28d"
                    echo "    sli:"
                    echo "      latency:"
                    if [ "$source" = self ]; then
                        echo "        histogram: prometheus_http_request_duration_seconds"
                        echo "        matchers: {handler: /metrics}"
                        echo "        threshold: 0.1"
                    else
                        echo "        histogram: http_request_duration_seconds"
                        echo "        matchers: {job: app-$i}"
                        echo "        threshold: 0.3"
                    fi ;;
                2)
                    echo "    sli:"
                    echo "      raw:"
                    echo "        error_ratio: 1 - avg(avg_over_time(up{job=\"prometheus\"}[{{.window}}]))" ;;
            esac
        done
        echo "packs: {enabled: false}"
    } >"$file"
}

seconds() { python3 -c 'import time; print(f"{time.time():.6f}")'; }

# Runs a command, printing its wall, user and system seconds.
timed() {
    python3 - "$@" <<'PY'
import resource, subprocess, sys, time
start = time.time()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
wall = time.time() - start
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{wall:.3f} {r.ru_utime:.3f} {r.ru_stime:.3f}")
PY
}

# 1. Generation and promtool check of 1,000 SLOs (best of three generations).
mkdir -p "$WORK/big/specs"
write_spec "$WORK/big/specs/bench.yml" 1000
best=""
best_cpu=""
for _ in 1 2 3; do
    rm -rf "$WORK/big/out"
    read -r t user sys < <(timed "$RULEGEN" generate --spec "$WORK/big/specs" --out "$WORK/big/out")
    if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if $t < $best else 1)"; then
        best=$t
        best_cpu=$(python3 -c "print(f'{$user + $sys:.2f}')")
    fi
done
gen_time=$best
start=$(seconds)
promtool check rules "$WORK/big/out/rules/"*.yml >/dev/null
end=$(seconds)
check_time=$(python3 -c "print(f'{$end - $start:.3f}')")
rules_dir="$WORK/big/out/rules"
records=$(cat "$rules_dir"/*.yml | grep -c '^  - record:')
alerts=$(cat "$rules_dir"/*.yml | grep -c '^  - alert:')
per_kind() { # recording rules of the SLO named $1
    grep -c '^  - record:' "$rules_dir/bench-$1.yml"
}
size=$(du -ck "$rules_dir"/*.yml | tail -1 | cut -f1)

# Unit tests of a sample of 30 SLOs, to time promtool test rules (one rule file and one test
# file per SLO, so the time grows linearly with the number of SLOs).
mkdir -p "$WORK/sample/specs"
write_spec "$WORK/sample/specs/bench.yml" 30
"$RULEGEN" generate --spec "$WORK/sample/specs" --out "$WORK/sample/out" >/dev/null
start=$(seconds)
(cd "$WORK/sample/out/rules/unittests" && promtool test rules ./*.yml >/dev/null)
end=$(seconds)
test_time=$(python3 -c "print(f'{$end - $start:.1f}')")

# 3. Evaluation of 100 SLOs in a running Prometheus scraping itself.
mkdir -p "$WORK/eval/specs" "$WORK/eval/tsdb"
write_spec "$WORK/eval/specs/bench.yml" 100 self
"$RULEGEN" generate --spec "$WORK/eval/specs" --out "$WORK/eval/out" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$WORK/eval/prometheus.yml" <<YAML
global:
  scrape_interval: 5s
  evaluation_interval: 10s
rule_files: ["$WORK/eval/out/rules/*.yml"]
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ["127.0.0.1:$port"]}]
YAML
prometheus --config.file="$WORK/eval/prometheus.yml" --storage.tsdb.path="$WORK/eval/tsdb" \
    --web.listen-address="127.0.0.1:$port" --log.level=warn >"$WORK/eval/prometheus.log" 2>&1 &
PROM_PID=$!
sleep "$EVAL_SECONDS"
api="http://127.0.0.1:$port/api/v1/query"
q() { curl -fsS --get "$api" --data-urlencode "query=$1" | jq -r '.data.result[0].value[1] // "n/a"'; }
groups=$(q 'count(prometheus_rule_group_last_duration_seconds)')
total=$(q 'sum(prometheus_rule_group_last_duration_seconds)')
mean=$(q 'avg(prometheus_rule_group_last_duration_seconds)')
max=$(q 'max(prometheus_rule_group_last_duration_seconds)')
sli_total=$(q 'sum(prometheus_rule_group_last_duration_seconds{rule_group=~".*slo-sli-recordings.*"})')
series=$(q 'count({__name__=~"slo:.+"})')
kill "$PROM_PID"; wait "$PROM_PID" 2>/dev/null || true; PROM_PID=""
ms() { python3 -c "v='$1'; print('n/a' if v=='n/a' else f'{float(v)*1000:.2f} ms')"; }

cat >"$OUT" <<MD
# rulegen benchmarks

Written by \`rules/bench/run.sh\` (\`make bench\`). Machine: $(nproc) CPUs, $(free -g | awk '/Mem:/{print $2}') GiB,
$(uname -sr); $(prometheus --version 2>&1 | head -1 | cut -d' ' -f1-3); date $(date -u +%Y-%m-%d);
load average at the start ${load_start} (other work on the machine inflates wall times).

## Generation of 1,000 SLOs

| measure | value | goal |
|---|---|---|
| \`rulegen generate\`, 1,000 SLOs, wall time (best of 3) | ${gen_time} s | under 2 s |
| the same run, CPU time (user + system) | ${best_cpu} s | |
| \`promtool check rules\` on the result | ${check_time} s | |
| rule files, total size | ${size} KiB | |
| \`promtool test rules\`, generated tests of 30 SLOs (90 cases) | ${test_time} s | |

## Rules per SLO

| | count |
|---|---|
| recording rules, all 1,000 SLOs | ${records} |
| alerting rules, all 1,000 SLOs | ${alerts} |
| recording rules of an availability SLO | $(per_kind slo-3) |
| recording rules of a latency SLO | $(per_kind slo-1) |
| recording rules of a raw SLO | $(per_kind slo-2) |

Per SLO: SLI error ratios at 5m, 30m, 1h, 2h, 6h, 1d, 3d and over the period; for SLIs that
count events also the 5m error and request rates (the period ratio is weighted by requests);
objective, budget, period, two burn rates, budget remaining and an info series; two hourly
trend records (one for raw SLIs); two alerts (page and ticket).

## Evaluation of 100 SLOs in Prometheus

Prometheus scraping itself every 5 s, rules evaluated every 10 s for ${EVAL_SECONDS} s; SLIs over
its own \`prometheus_http_requests_total\` and \`prometheus_http_request_duration_seconds\`.

| measure | value |
|---|---|
| rule groups | ${groups} |
| sum of last evaluation durations, all groups | $(ms "$total") |
| mean per group | $(ms "$mean") |
| slowest group | $(ms "$max") |
| sum over the SLI recording groups | $(ms "$sli_total") |
| \`slo:*\` series recorded | ${series} |
MD
echo "rules/bench: results written to $OUT"

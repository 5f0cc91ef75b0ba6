#!/usr/bin/env bash
# `make demo`: starts every exporter on its embedded default and a Prometheus that scrapes
# them, all on loopback, prints the URLs, and stops everything it started on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

root=$PWD
state=$root/.demo
bin=$root/target/release
prometheus_port=${DEMO_PROMETHEUS_PORT:-9090}
declare -A ports=([rum-gateway]=9470 [webrtc-probe]=9471 [synthetic-journey]=9472 [db-slowquery]=9473)
exporters=(rum-gateway webrtc-probe synthetic-journey db-slowquery)

mkdir -p "$state/prometheus-data"
pids=()
stop() {
    trap - INT TERM EXIT
    echo
    echo "stopping ${#pids[@]} processes"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop INT TERM EXIT

port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
for port in "${ports[@]}" "$prometheus_port"; do
    port_free "$port" || { echo "port $port on 127.0.0.1 is in use; stop what holds it first" >&2; exit 1; }
done

for name in "${exporters[@]}"; do
    "$bin/$name" --web.listen-address="127.0.0.1:${ports[$name]}" 2>"$state/$name.log" &
    pids+=($!)
done

# Rule files the generator wrote, when there are any.
rule_files=$(find "$root/rules" -maxdepth 2 -path '*/rules/generated/*.yml' 2>/dev/null | sort || true)
{
    echo "global: {scrape_interval: 15s, evaluation_interval: 15s}"
    echo "rule_files:"
    for f in $rule_files; do echo "  - $f"; done
    [ -z "$rule_files" ] && echo "  []"
    echo "scrape_configs:"
    for name in "${exporters[@]}"; do
        echo "  - job_name: $name"
        echo "    static_configs: [{targets: ['127.0.0.1:${ports[$name]}']}]"
    done
} > "$state/prometheus.yml"
promtool check config "$state/prometheus.yml" >/dev/null
prometheus --config.file="$state/prometheus.yml" --storage.tsdb.path="$state/prometheus-data" \
    --web.listen-address="127.0.0.1:$prometheus_port" 2>"$state/prometheus.log" &
pids+=($!)

sleep 1
echo
echo "Running (logs in $state/):"
for name in "${exporters[@]}"; do
    printf '  %-18s http://127.0.0.1:%s/  (metrics: /metrics)\n' "$name" "${ports[$name]}"
done
printf '  %-18s http://127.0.0.1:%s/targets\n' prometheus "$prometheus_port"
echo
echo "Press Ctrl-C to stop everything."
wait -n "${pids[@]}" || true
echo "a process exited; see the logs in $state/" >&2

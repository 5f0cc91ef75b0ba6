#!/usr/bin/env bash
# Benchmarks webrtc-probe against coturn's own tools on loopback and writes BENCHMARKS.md:
#   1. stun probe vs turnutils_stunclient, wall time per probe;
#   2. turn round trip vs turnutils_uclient, wall time per probe;
#   3. 50 concurrent peer probes through the relay: success rate, CPU seconds, peak RSS.
# Usage: exporters/webrtc-probe/bench/run.sh   (from anywhere; builds the release binary)
set -euo pipefail

HERE="$(cd "$(dirname "$0")/.." && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
RUNS="${RUNS:-100}"
CONCURRENT="${CONCURRENT:-50}"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
now() { date +%s.%N; }
per_run_ms() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.2f", (b - a) * 1000 / n }'; }

(cd "$ROOT" && cargo build --release -p webrtc-probe >/dev/null)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/webrtc-probe"

TURN_PORT="$(free_port)"
turnserver -n --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port="$TURN_PORT" \
    --min-port=6000 --max-port=9999 --realm=probe.test --lt-cred-mech --user=probe:benchpass \
    --allow-loopback-peers --no-cli --no-tls --no-dtls --fingerprint --simple-log \
    --log-file="$WORK/turn.log" --pidfile="$WORK/turn.pid" >/dev/null 2>&1 &
PIDS+=($!)

cat >"$WORK/config.yml" <<YAML
modules:
  stun_udp: {prober: stun, timeout: 5s}
  turn_udp:
    prober: turn
    timeout: 10s
    turn: {username: probe, password: benchpass}
    stream: {packets: 10, size: 100, interval: 20ms}
  peer_relay:
    prober: peer
    timeout: 30s
    turn: {username: probe, password: benchpass}
    peer: {ice_transport_policy: relay}
    stream: {packets: 50, interval: 20ms}
YAML

start_exporter() {
    local port
    port="$(free_port)"
    "$BIN" --config.file="$WORK/config.yml" --web.listen-address="127.0.0.1:$port" \
        2>"$WORK/exporter.log" &
    EXPORTER_PID=$!
    PIDS+=("$EXPORTER_PID")
    EXPORTER="127.0.0.1:$port"
    for _ in $(seq 100); do
        curl -sf "http://$EXPORTER/-/healthy" >/dev/null && return
        sleep 0.1
    done
    echo "the exporter did not start; its log:" >&2
    cat "$WORK/exporter.log" >&2
    exit 1
}
probe() { curl -s "http://$EXPORTER/probe?module=$1&target=127.0.0.1:$TURN_PORT"; }
sleep 1
start_exporter

# 1. STUN: one binding per run. turnutils_stunclient can only run as a new process per
# binding. The exporter is measured as Prometheus uses it (one HTTP connection kept alive,
# one request per probe: a single curl with all the URLs) and, for comparison, with a new
# curl process per probe, whose start-up is most of that figure.
start=$(now)
for _ in $(seq "$RUNS"); do turnutils_stunclient -p "$TURN_PORT" 127.0.0.1 >/dev/null 2>&1; done
stunclient_ms=$(per_run_ms "$start" "$(now)" "$RUNS")
stun_url="http://$EXPORTER/probe?module=stun_udp&target=127.0.0.1:$TURN_PORT"
requests=()
for i in $(seq "$RUNS"); do requests+=(-o "$WORK/stun.$i" "$stun_url"); done
start=$(now)
curl -s -w '%{num_connects}\n' "${requests[@]}" >"$WORK/stun.connects"
stun_ms=$(per_run_ms "$start" "$(now)" "$RUNS")
stun_connections=$(awk '{s += $1} END {print s}' "$WORK/stun.connects")
stun_ok=$(grep -l '^probe_success 1' "$WORK"/stun.[0-9]* | wc -l || true)
stun_own_ms=$(cat "$WORK"/stun.[0-9]* | awk '/^probe_duration_seconds/ {s += $2; n++} END {printf "%.2f", s * 1000 / n}')
stun_ratio=$(awk -v a="$stun_ms" -v b="$stunclient_ms" 'BEGIN { printf "%.2f", a / b }')
start=$(now)
for _ in $(seq "$RUNS"); do
    curl -s -o /dev/null -w '%{time_total}\n' "$stun_url" >>"$WORK/stun.transfer"
done
stun_process_ms=$(per_run_ms "$start" "$(now)" "$RUNS")
stun_transfer_ms=$(awk '{s += $1} END {printf "%.2f", s * 1000 / NR}' "$WORK/stun.transfer")
# What starting curl costs by itself.
start=$(now)
for _ in $(seq "$RUNS"); do curl --version >/dev/null; done
curl_start_ms=$(per_run_ms "$start" "$(now)" "$RUNS")

# 2. TURN: two allocations, permissions, 10 x 100 B at 20 ms through the relay and back.
TURN_RUNS=$((RUNS / 5))
start=$(now)
for _ in $(seq "$TURN_RUNS"); do
    turnutils_uclient -y -n 10 -l 100 -z 20 -u probe -w benchpass -p "$TURN_PORT" 127.0.0.1 \
        >"$WORK/uclient.out" 2>&1
done
uclient_ms=$(per_run_ms "$start" "$(now)" "$TURN_RUNS")
uclient_rtt=$(grep -o 'Average round trip delay [0-9.]*' "$WORK/uclient.out" | awk '{print $5}')
turn_ok=0
start=$(now)
for _ in $(seq "$TURN_RUNS"); do
    probe turn_udp >"$WORK/turn.out"
    grep -q '^probe_success 1' "$WORK/turn.out" && turn_ok=$((turn_ok + 1))
    awk '/^probe_duration_seconds/ {print $2}' "$WORK/turn.out" >>"$WORK/turn.durations"
done
turn_own_ms=$(awk '{s += $1} END {printf "%.2f", s * 1000 / NR}' "$WORK/turn.durations")
turn_ms=$(per_run_ms "$start" "$(now)" "$TURN_RUNS")
turn_rtt=$(awk '/^webrtc_probe_round_trip_time_seconds\{quantile="0.5"\}/ {printf "%.3f", $2*1000}' "$WORK/turn.out")

# 3. 50 concurrent relayed peer probes, on a fresh exporter so its peak RSS is theirs.
kill "$EXPORTER_PID"; wait "$EXPORTER_PID" 2>/dev/null || true
start_exporter
ticks=$(getconf CLK_TCK)
cpu() { awk -v t="$ticks" '{printf "%.2f", ($14 + $15) / t}' "/proc/$EXPORTER_PID/stat"; }
rss_before=$(awk '/VmRSS/ {print $2}' "/proc/$EXPORTER_PID/status")
cpu_before=$(cpu)
start=$(now)
probes=()
for i in $(seq "$CONCURRENT"); do
    probe peer_relay >"$WORK/peer.$i" &
    probes+=($!)
done
for pid in "${probes[@]}"; do wait "$pid" || true; done
peer_wall=$(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
cpu_after=$(cpu)
peak_rss=$(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$EXPORTER_PID/status")
peer_ok=$(grep -l '^probe_success 1' "$WORK"/peer.* | wc -l)
peer_cpu=$(awk -v a="$cpu_before" -v b="$cpu_after" 'BEGIN { printf "%.2f", b - a }')
peer_rtts=$(cat "$WORK"/peer.* | awk '/^webrtc_probe_round_trip_time_seconds\{quantile="0.5"\}/ {print $2*1000}' | sort -n)
peer_rtt_median=$(echo "$peer_rtts" | awk '{a[NR]=$1} END {if (NR) printf "%.3f", a[int((NR+1)/2)]}')

cpu_model=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
memory=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
load=$(cut -d' ' -f1-3 /proc/loadavg)
coturn_version=$(dpkg-query -W -f='${Version}' coturn 2>/dev/null || echo unknown)

cat >"$HERE/BENCHMARKS.md" <<MD
# webrtc-probe benchmarks

Written by \`bench/run.sh\` (\`make bench\`); rerun it to refresh. Everything runs on loopback
against coturn ($coturn_version) started by the script; the exporter is the release build.

- Date: $(date -u +%Y-%m-%dT%H:%MZ)
- Machine: $(nproc) CPUs ($cpu_model), $memory of memory; load average at the start: $load_start, at the end: $load
  (the machine is shared with other builds, so wall times include their interference)

## STUN binding ($RUNS runs each, sequential)

| client | wall time per probe | of which the probe itself | succeeded |
|---|---|---|---|
| \`turnutils_stunclient\` (a new process per run, its only way) | $stunclient_ms ms | - | - |
| webrtc-probe \`stun\` over UDP, one HTTP request per probe on a kept-alive connection (as Prometheus scrapes; $stun_connections connection opened) | $stun_ms ms (**${stun_ratio}x** the tool) | $stun_own_ms ms (\`probe_duration_seconds\`) | $stun_ok / $RUNS |
| webrtc-probe \`stun\`, a new curl process per probe | $stun_process_ms ms | curl's own transfer time: $stun_transfer_ms ms | - |

Starting curl alone (\`curl --version\`) takes $curl_start_ms ms: when each probe starts a new
curl, the wall time is mostly curl loading its libraries, as that of
\`turnutils_stunclient\` is mostly starting a process. From connect to the last byte, the
exporter answers a probe in the transfer time shown.

## TURN round trip ($TURN_RUNS runs each, sequential)

Two allocations, permissions, 10 messages of 100 bytes at 20 ms from one relay to the other
and back.

| client | wall time per probe | median round trip |
|---|---|---|
| \`turnutils_uclient -y -n 10 -l 100 -z 20\` | $uclient_ms ms | ${uclient_rtt:-?} ms (its average, whole ms) |
| webrtc-probe \`turn\` over UDP | $turn_ms ms ($turn_ok / $TURN_RUNS succeeded; the probe itself $turn_own_ms ms) | ${turn_rtt:-?} ms |

## $CONCURRENT concurrent \`peer\` probes through the relay

Relay-only policy, 50 messages at 20 ms each, all started at once on a fresh exporter.

| figure | value |
|---|---|
| succeeded | $peer_ok / $CONCURRENT |
| wall time for all | $peer_wall s |
| exporter CPU time (user + system) | $peer_cpu s |
| exporter peak RSS (VmHWM, from a start at $((rss_before / 1024)) MiB) | $peak_rss MiB |
| median of the probes' median round trips | ${peer_rtt_median:-?} ms |

Goals of the issue: probe time within 1.5x of coturn's own tools; all $CONCURRENT relayed probes
succeeding under 300 MB RSS.

## How to rerun

    make bench                      # or: exporters/webrtc-probe/bench/run.sh
    RUNS=200 CONCURRENT=50 exporters/webrtc-probe/bench/run.sh
MD
cat "$HERE/BENCHMARKS.md"

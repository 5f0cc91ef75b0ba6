#!/bin/sh
# rum-gateway benchmark: wrk posts realistic Faro payloads and web-vitals beacons to the
# gateway and, in the same run, to nginx answering 204 to the same requests; then sends
# 1,000,000 beacons over 100,000 URLs to the gateway, reads its RSS and checks every
# accepted beacon's vitals are in the histogram counts. Writes ../BENCHMARKS.md.
# Needs: wrk, nginx (Debian), curl, a Rust toolchain. Env: DURATION (default 15s),
# CONNECTIONS (64), THREADS (2), TOTAL (1000000).
set -eu

here="$(cd "$(dirname "$0")" && pwd)"
crate="$(dirname "$here")"
root="$(cd "$crate/../.." && pwd)"
DURATION="${DURATION:-15s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
TOTAL="${TOTAL:-1000000}"
VITALS_PER_REQUEST=4

for tool in wrk nginx curl; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || {
    echo "bench: $tool is missing (apt-get install wrk nginx curl)" >&2; exit 1; }
done
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

work="$(mktemp -d)"
gateway_pid=""
nginx_pid=""
cleanup() {
  [ -n "$gateway_pid" ] && kill "$gateway_pid" 2>/dev/null || true
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

echo "bench: building rum-gateway (release)" >&2
(cd "$root" && cargo build --release -q -p rum-gateway)
binary="${CARGO_TARGET_DIR:-$root/target}/release/rum-gateway"

# nginx answering 204 to everything, two workers like the gateway's two runtime threads.
nginx_port="$(free_port)"
mkdir -p "$work/nginx/logs"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_max_body_size 1m;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { return 204; }
  }
}
CONF
"$NGINX" -p "$work/nginx" -c "$work/nginx/nginx.conf" &
nginx_pid=$!

# The gateway with rate limits out of the way (one client IP sends everything).
gateway_port="$(free_port)"
cat > "$work/rum.yml" <<CONF
limits:
  per_ip: {rate: 10000000, burst: 10000000}
  per_app: {rate: 10000000, burst: 10000000}
  rereport_window: 2s
CONF
"$binary" --config.file="$work/rum.yml" --web.listen-address="127.0.0.1:$gateway_port" \
  --web.max-connections=1024 --web.final-scrape-wait=0s --log.level=warn &
gateway_pid=$!
for _ in $(seq 50); do
  curl -fs "http://127.0.0.1:$gateway_port/-/ready" >/dev/null 2>&1 &&
    curl -s -o /dev/null "http://127.0.0.1:$nginx_port/" && break
  sleep 0.2
done

run_wrk() { # url duration limit run-tag
  RUM_LIMIT="$3" RUM_RUN="$4" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$2" --latency -s "$here/rum.lua" "$1" |
    awk '/^RESULT/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); printf "%s=%s ", kv[1], kv[2] } }'
}
field() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'; }

echo "bench: throughput, nginx then gateway, $DURATION each" >&2
nginx_result="$(run_wrk "http://127.0.0.1:$nginx_port" "$DURATION" 0 n)"
gateway_result="$(run_wrk "http://127.0.0.1:$gateway_port" "$DURATION" 0 t)"

echo "bench: $TOTAL beacons over 100,000 URLs to the gateway" >&2
# wrk stops a thread at its limit but waits out the duration, so runs are sized from the
# measured rate and repeated until TOTAL requests were answered.
gateway_rps="$(field "$gateway_result" rps)"
sent=0
other_total=0
round=0
started=$(date +%s)
while [ "$sent" -lt "$TOTAL" ]; do
  round=$((round + 1))
  remaining=$((TOTAL - sent))
  seconds="$(awk -v r="$remaining" -v rps="$gateway_rps" 'BEGIN { printf "%d", r / rps * 1.2 + 2 }')"
  bulk_result="$(run_wrk "http://127.0.0.1:$gateway_port" "${seconds}s" $((remaining / THREADS + 1)) "b$round")"
  sent=$((sent + $(field "$bulk_result" ok) + $(field "$bulk_result" other)))
  other_total=$((other_total + $(field "$bulk_result" other)))
done
bulk_seconds=$(( $(date +%s) - started ))
rss_kb="$(awk '/^VmRSS/ { print $2 }' "/proc/$gateway_pid/status")"
sleep 3 # let the re-report window release every held vital
hwm_kb="$(awk '/^VmHWM/ { print $2 }' "/proc/$gateway_pid/status")"
metrics="$(curl -fs "http://127.0.0.1:$gateway_port/metrics")"

sum_of() { echo "$metrics" | awk -v re="$1" '$0 !~ /^#/ && $1 ~ re { s += $NF } END { printf "%d", s }'; }
accepted_requests="$(sum_of '^rum_gateway_http_requests_total[{].*code="202"')"
observed="$(sum_of '^rum_(largest_contentful_paint_seconds|first_contentful_paint_seconds|time_to_first_byte_seconds|cumulative_layout_shift)_count')"
rejected="$(sum_of '^rum_beacons_rejected_total')"
pending="$(sum_of '^rum_pending_metrics')"
expected=$((accepted_requests * VITALS_PER_REQUEST))
if [ "$observed" -eq "$expected" ] && [ "$pending" -eq 0 ]; then check="yes"; else check="NO"; fi

nginx_rps="$(field "$nginx_result" rps)"; gateway_rps="$(field "$gateway_result" rps)"
ratio="$(awk -v g="$gateway_rps" -v n="$nginx_rps" 'BEGIN { printf "%.2f", g / n }')"
ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }
mb() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }

cpu="$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
mem="$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
cat > "$crate/BENCHMARKS.md" <<MD
# rum-gateway benchmarks

Written by \`bench/run.sh\` (\`make bench\`); rerun it to refresh. Numbers are from one run.

- Date: $(date -u +%Y-%m-%dT%H:%MZ)
- Machine: $(nproc) CPUs ($cpu), $mem memory, shared with other work; wrk, nginx and the
  gateway all ran on it, over loopback.
- Load: wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), $THREADS threads, $CONNECTIONS connections, script \`bench/rum.lua\`: every
  other request a Grafana Faro payload (POST /collect, ~1.7 KB, 4 web-vitals measurements) or a
  web-vitals beacon (POST /beacon, ~0.7 KB, an array of 4 Metric objects), each for one of
  100,000 page URLs, with unique metric ids.
- nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///'), 2 workers, \`return 204\` for every request; the gateway: release build,
  default config but rate limits raised (one client IP sends everything) and a 2 s
  re-report window.

## Throughput and latency ($DURATION each, same requests)

| server | requests/s | p99 latency |
|---|---|---|
| nginx (204) | $nginx_rps | $(ms "$(field "$nginx_result" p99_us)") ms |
| rum-gateway (202) | $gateway_rps | $(ms "$(field "$gateway_result" p99_us)") ms |

Throughput ratio gateway / nginx: **$ratio** (goal: at least 0.5).

## $TOTAL beacons over 100,000 URLs

| measure | value |
|---|---|
| requests answered (wrk), of which not 2xx | $sent, $other_total |
| time (wall, in $round wrk runs sized from the measured rate) | $bulk_seconds s |
| gateway RSS after the run | $(mb "$rss_kb") MB (goal: under 150 MB) |
| gateway peak RSS (VmHWM) | $(mb "$hwm_kb") MB |
| requests the gateway answered 202 | $accepted_requests |
| vitals observed (LCP+FCP+TTFB+CLS \`_count\`) | $observed (expected $expected = 4 × 202 answers) |
| vitals still held in the re-report window | $pending |
| rejected (any reason) | $rejected |
| every accepted beacon in the histogram counts | **$check** |

The 202 count is the gateway's own \`rum_gateway_http_requests_total{code="202"}\` over the
whole run (the throughput phase too, and requests wrk sent but stopped waiting for); the
check is that the histograms hold exactly 4 vitals for each of them.
MD
echo "bench: wrote $crate/BENCHMARKS.md" >&2
cat "$crate/BENCHMARKS.md"
[ "$check" = "yes" ]

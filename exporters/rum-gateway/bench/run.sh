#!/bin/sh
# rum-gateway benchmark: wrk posts realistic Faro payloads and web-vitals beacons to the
# gateway and, in the same run, to nginx answering 204 to the same requests; then sends
# 1,000,000 beacons over 100,000 URLs to the gateway, reads its RSS and checks every
# accepted beacon's vitals are in the histogram counts; last, counts the gateway's instructions
# per request under callgrind, a figure that does not depend on the machine's load. Writes
# ../BENCHMARKS.md.
# Needs: wrk, nginx (Debian), curl, valgrind, a Rust toolchain. Env: DURATION (default 10s),
# ROUNDS (3), CONNECTIONS (64), THREADS (2), TOTAL (1000000), CALLGRIND_SECONDS (15).
set -eu

here="$(cd "$(dirname "$0")" && pwd)"
crate="$(dirname "$here")"
root="$(cd "$crate/../.." && pwd)"
DURATION="${DURATION:-10s}"
ROUNDS="${ROUNDS:-3}"
CALLGRIND_SECONDS="${CALLGRIND_SECONDS:-15}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
TOTAL="${TOTAL:-1000000}"
VITALS_PER_REQUEST=4

for tool in wrk nginx curl valgrind callgrind_annotate; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || {
    echo "bench: $tool is missing (apt-get install wrk nginx curl valgrind)" >&2; exit 1; }
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
# The machine may be shared: its load average once built and at the end goes in the report.
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
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
ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }

# CPU time (user, system) in clock ticks of a process and its children, such as nginx's workers.
cpu_ticks() {
  for p in "$1" $(pgrep -P "$1"); do awk '{ print $14, $15 }' "/proc/$p/stat"; done |
    awk '{ u += $1; s += $2 } END { print u, s }'
}
ticks="$(getconf CLK_TCK)"
# One wrk run against a server, with the server's CPU time per request (microseconds).
measure() { # url pid run-tag
  before="$(cpu_ticks "$2")"
  result="$(run_wrk "$1" "$DURATION" 0 "$3")"
  after="$(cpu_ticks "$2")"
  rps="$(field "$result" rps)"
  echo "$result $(echo "$before $after" | awk -v rps="$rps" -v d="${DURATION%s}" -v t="$ticks" \
    '{ n = rps * d; printf "user_us=%.1f sys_us=%.1f", ($3 - $1) / t * 1e6 / n, ($4 - $2) / t * 1e6 / n }')"
}

echo "bench: throughput, nginx then gateway, $DURATION each, $ROUNDS rounds" >&2
rows=""
ratios=""
for r in $(seq "$ROUNDS"); do
  nginx_result="$(measure "http://127.0.0.1:$nginx_port" "$nginx_pid" "n$r")"
  gateway_result="$(measure "http://127.0.0.1:$gateway_port" "$gateway_pid" "t$r")"
  round_ratio="$(awk -v g="$(field "$gateway_result" rps)" -v n="$(field "$nginx_result" rps)" 'BEGIN { printf "%.2f", g / n }')"
  ratios="$ratios $round_ratio"
  for server in nginx gateway; do
    eval "res=\$${server}_result"
    rows="$rows| $r | $server | $(field "$res" rps) | $(ms "$(field "$res" p99_us)") ms | $(field "$res" user_us) | $(field "$res" sys_us) |
"
  done
  echo "bench: round $r ratio $round_ratio" >&2
done
ratio="$(echo "$ratios" | tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"

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

mb() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }

echo "bench: instructions per request under callgrind, ${CALLGRIND_SECONDS}s" >&2
kill "$gateway_pid"; wait "$gateway_pid" 2>/dev/null || true
gateway_pid=""
cg_port="$(free_port)"
valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" "$binary" \
  --config.file="$work/rum.yml" --web.listen-address="127.0.0.1:$cg_port" \
  --web.max-connections=1024 --web.final-scrape-wait=0s --log.level=warn 2>/dev/null &
gateway_pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$cg_port/-/ready" >/dev/null 2>&1 && break; sleep 0.3; done
cg_result="$(RUM_LIMIT=0 RUM_RUN=cg wrk -t1 -c8 -d"${CALLGRIND_SECONDS}s" -s "$here/rum.lua" "http://127.0.0.1:$cg_port" |
  awk '/^RESULT/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); printf "%s=%s ", kv[1], kv[2] } }')"
kill -INT "$gateway_pid"; wait "$gateway_pid" 2>/dev/null || true
gateway_pid=""
cg_requests="$(field "$cg_result" ok)"
cg_total="$(callgrind_annotate "$work/callgrind.out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')"
cg_per_request="$(awk -v t="$cg_total" -v n="$cg_requests" 'BEGIN { printf "%d", t / n }')"

cpu="$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
mem="$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
cat > "$crate/BENCHMARKS.md" <<MD
# rum-gateway benchmarks

Written by \`bench/run.sh\` (\`make bench\`); rerun it to refresh. Numbers are from one run.

- Date: $(date -u +%Y-%m-%dT%H:%MZ)
- Machine: $(nproc) CPUs ($cpu), $mem memory, load average
  (1, 5, 15 min) $load_start after the build and $(cut -d' ' -f1-3 /proc/loadavg) at the end; wrk, nginx
  and the gateway all ran on it, over loopback.
- Load: wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), $THREADS threads, $CONNECTIONS connections, script \`bench/rum.lua\`: every
  other request a Grafana Faro payload (POST /collect, ~1.7 KB, 4 web-vitals measurements) or a
  web-vitals beacon (POST /beacon, ~0.7 KB, an array of 4 Metric objects), each for one of
  100,000 page URLs, with unique metric ids.
- nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///'), 2 workers, \`return 204\` for every request; the gateway: release build,
  default config but rate limits raised (one client IP sends everything) and a 2 s
  re-report window.

## Throughput and latency ($DURATION each, same requests, $ROUNDS rounds in turn)

wrk and the server share the machine's CPUs, so a server's throughput also depends on what wrk
(its Lua script builds every request) leaves it; the CPU each server spent per request is
shown beside it.

| round | server | requests/s | p99 latency | user CPU µs/request | system CPU µs/request |
|---|---|---|---|---|---|
$rows
Throughput ratio gateway / nginx, median of the rounds: **$ratio** (rounds:$ratios; goal: at
least 0.5).

## Instructions per request (callgrind)

The gateway alone under \`valgrind --tool=callgrind\` for ${CALLGRIND_SECONDS} s (wrk, 1 thread, 8
connections, the same script): $cg_requests requests answered, **$cg_per_request instructions
per request** in user space, start-up included. Unlike the rates above, this count does not
change with the machine's load.

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

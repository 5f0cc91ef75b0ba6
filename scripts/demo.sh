#!/usr/bin/env bash
# `make demo`: the whole stack on loopback, natively. It generates the rules, dashboards and
# Alertmanager config from demo/specs, then starts demo-app (with the RUM snippet), coturn,
# MariaDB and PostgreSQL with some slow traffic, the four exporters on the configs of demo/,
# two regions (eu, us) whose Prometheus agents remote-write to a central Prometheus that
# evaluates the rules, Alertmanager and a webhook receiver that prints every notification.
# It prints the URLs and stops everything it started on Ctrl-C (or SIGTERM).
#
# Every port, interval and directory can be set from the environment (DEMO_*; see below), so
# the end-to-end test (tests/e2e) runs this very script on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."

root=$PWD
state=${DEMO_STATE_DIR:-$root/.demo}
bin=${DEMO_BIN_DIR:-${CARGO_TARGET_DIR:-$root/target}/release}
js=$root/exporters/rum-gateway/js

app_port=${DEMO_APP_PORT:-8080}
rum_port=${DEMO_RUM_GATEWAY_PORT:-9470}
db_port=${DEMO_DB_SLOWQUERY_PORT:-9473}
declare -A webrtc_port=([eu]=${DEMO_WEBRTC_PROBE_EU_PORT:-9471} [us]=${DEMO_WEBRTC_PROBE_US_PORT:-9481})
declare -A journey_port=([eu]=${DEMO_SYNTHETIC_JOURNEY_EU_PORT:-9472} [us]=${DEMO_SYNTHETIC_JOURNEY_US_PORT:-9482})
declare -A agent_port=([eu]=${DEMO_PROMETHEUS_EU_PORT:-9091} [us]=${DEMO_PROMETHEUS_US_PORT:-9092})
central_port=${DEMO_PROMETHEUS_PORT:-9090}
alertmanager_port=${DEMO_ALERTMANAGER_PORT:-9093}
webhook_port=${DEMO_WEBHOOK_PORT:-9095}
turn_port=${DEMO_TURN_PORT:-3478}
turn_relay_ports=${DEMO_TURN_RELAY_PORTS:-49152-49251}
mariadb_port=${DEMO_MARIADB_PORT:-3307}
postgres_port=${DEMO_POSTGRES_PORT:-5433}

scrape_interval=${DEMO_SCRAPE_INTERVAL:-5s}
evaluation_interval=${DEMO_EVALUATION_INTERVAL:-5s}
# Probes of the WebRTC path take seconds (the peer module up to 8 s): their own interval.
probe_interval=${DEMO_PROBE_INTERVAL:-15s}
journey_interval=${DEMO_JOURNEY_INTERVAL:-20s}
check_interval=${DEMO_CHECK_INTERVAL:-10s}

regions=(eu us)
pg_bin=/usr/lib/postgresql/15/bin

pids=()
declare -A pid_of=()
stop() {
    trap - INT TERM EXIT
    # Stop first, talk after: with the output piped, the reader may be gone already.
    trap '' PIPE
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -f "$state/pids"
    echo "stopped ${#pids[@]} processes" >&2
}
trap stop EXIT
# Ctrl-C while starting, or while running: stop what was started and leave.
trap 'exit 130' INT TERM

fail() {
    echo "demo: $*" >&2
    exit 1
}

# Starts a command in a session of its own, so Ctrl-C reaches this script only, which then
# stops everything in order. $1 names the log file in the state directory.
start() {
    local name=$1
    shift
    setsid "$@" 2>"$state/$name.log" >>"$state/$name.log" &
    pids+=($!)
    pid_of[$name]=$!
    echo $! >>"$state/pids"
}

port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_port() {
    local name=$1 port=$2
    for _ in $(seq 1 600); do
        port_free "$port" || return 0
        kill -0 "${pid_of[$name]}" 2>/dev/null ||
            fail "$name exited: $(tail -n 5 "$state/$name.log")"
        sleep 0.1
    done
    fail "$name did not listen on port $port within 60 s; see $state/$name.log"
}

is_root() {
    [ "$(id -u)" -eq 0 ]
}

# PostgreSQL refuses to run as root: as root, it runs as its Debian system user (setpriv
# execs, so the PID this script keeps is the server's own).
as_postgres=()
if [ "$(id -u)" -eq 0 ]; then
    as_postgres=(setpriv --reuid=postgres --regid=postgres --clear-groups)
fi

check_tools() {
    local tool
    for tool in prometheus promtool prometheus-alertmanager turnserver mariadb-install-db \
        mariadbd mariadb mariadb-admin psql chromium "$pg_bin/initdb" "$pg_bin/postgres"; do
        command -v "$tool" >/dev/null || fail "$tool is missing: run make deps (demo/debian-packages.txt)"
    done
    for tool in rum-gateway webrtc-probe synthetic-journey db-slowquery rulegen demo-app alert-webhook; do
        [ -x "$bin/$tool" ] || fail "$bin/$tool is missing: build it first (make release)"
    done
    [ -f "$js/node_modules/web-vitals/dist/web-vitals.iife.js" ] ||
        fail "web-vitals is missing: run make deps (exporters/rum-gateway/prepare-tests.sh)"
}

check_ports() {
    local port
    for port in "$app_port" "$rum_port" "$db_port" "${webrtc_port[@]}" "${journey_port[@]}" \
        "${agent_port[@]}" "$central_port" "$alertmanager_port" "$webhook_port" "$turn_port" \
        "$mariadb_port" "$postgres_port"; do
        port_free "$port" || fail "port $port on 127.0.0.1 is in use; stop what holds it first"
    done
}

# Copies demo/ into the state directory with the placeholders filled in.
render_configs() {
    rm -rf "$state/config"
    mkdir -p "$state/config"
    cp -r "$root/demo/." "$state/config/"
    find "$state/config" -name '*.yml' -print0 | xargs -0 sed -i \
        -e "s|@APP_URL@|http://127.0.0.1:$app_port|g" \
        -e "s|@APP_WS_URL@|ws://127.0.0.1:$app_port|g" \
        -e "s|@APP_ORIGIN@|http://127.0.0.1:$app_port|g" \
        -e "s|@STATE_DIR@|$state|g" \
        -e "s|@POSTGRES_PORT@|$postgres_port|g" \
        -e "s|@WEBHOOK_URL@|http://127.0.0.1:$webhook_port|g" \
        -e "s|@JOURNEY_INTERVAL@|$journey_interval|g" \
        -e "s|@CHECK_INTERVAL@|$check_interval|g"
}

generate() {
    rm -rf "$state/generated"
    # The default target, Prometheus 2: integral bucket bounds are matched both as the text
    # format writes them (le="2") and as OpenMetrics scrapes store them (le="2.0").
    "$bin/rulegen" generate --spec "$state/config/specs" --out "$state/generated" \
        >"$state/rulegen.log" 2>&1 ||
        fail "rulegen generate failed: $(cat "$state/rulegen.log")"
}

start_alerting() {
    # The receiver prints each notification on the terminal (its stdout): the demo's pager.
    setsid "$bin/alert-webhook" --web.listen-address="127.0.0.1:$webhook_port" \
        2>"$state/alert-webhook.log" &
    pids+=($!)
    pid_of[alert-webhook]=$!
    echo $! >>"$state/pids"
    mkdir -p "$state/alertmanager-data"
    start alertmanager prometheus-alertmanager \
        --config.file="$state/generated/alertmanager/alertmanager.yml" \
        --storage.path="$state/alertmanager-data" \
        --web.listen-address="127.0.0.1:$alertmanager_port" --cluster.listen-address=
}

start_coturn() {
    echo "demo-turn-password" >"$state/turn-password"
    start coturn turnserver -n --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 \
        --listening-port="$turn_port" --min-port="${turn_relay_ports%-*}" \
        --max-port="${turn_relay_ports#*-}" --realm=demo --lt-cred-mech \
        --user="demo:$(cat "$state/turn-password")" --allow-loopback-peers --no-cli \
        --fingerprint --no-dtls --no-tls --simple-log --log-file=stdout \
        --pidfile="$state/coturn.pid"
}

start_mariadb() {
    local dir=$state/mariadb
    mkdir -p "$dir"
    if is_root; then chown mysql:mysql "$dir"; fi
    local user_flag=()
    if is_root; then user_flag=(--user=mysql); fi
    if [ ! -d "$dir/data" ]; then
        mariadb-install-db --datadir="$dir/data" --auth-root-authentication-method=socket \
            --skip-test-db "${user_flag[@]}" >"$state/mariadb-install.log" 2>&1 ||
            fail "mariadb-install-db failed; see $state/mariadb-install.log"
    fi
    start mariadb mariadbd --no-defaults --datadir="$dir/data" --socket="$dir/mysqld.sock" \
        --port="$mariadb_port" --bind-address=127.0.0.1 --pid-file="$dir/mysqld.pid" \
        --slow-query-log=1 --slow-query-log-file="$dir/slow.log" --long-query-time=0.1 \
        --skip-log-bin --innodb-buffer-pool-size=32M "${user_flag[@]}"
}

start_postgres() {
    local dir=$state/postgres
    mkdir -p "$dir"
    if is_root; then chown postgres:postgres "$dir"; fi
    if [ ! -d "$dir/data" ]; then
        "${as_postgres[@]}" "$pg_bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 \
            --locale=C.UTF-8 >"$state/postgres-initdb.log" 2>&1 ||
            fail "initdb failed; see $state/postgres-initdb.log"
    fi
    # postgres itself, not pg_ctl, so that its PID is the one this script stops.
    start postgres "${as_postgres[@]}" "$pg_bin/postgres" -D "$dir/data" -p "$postgres_port" \
        -c listen_addresses=127.0.0.1 -c unix_socket_directories="$dir" \
        -c shared_preload_libraries=pg_stat_statements -c compute_query_id=on -c fsync=off
}

# Slow statements on both databases, every few seconds, so db-slowquery has something to show.
db_traffic() {
    while true; do
        mariadb --socket="$state/mariadb/mysqld.sock" -uroot -e \
            "SELECT SLEEP(0.3); SELECT COUNT(*) FROM information_schema.columns;" >/dev/null 2>&1 || true
        psql -h 127.0.0.1 -p "$postgres_port" -U postgres -d postgres -X -q \
            -c "SELECT pg_sleep(1.5)" -c "SELECT count(*) FROM pg_class a, pg_class b" >/dev/null 2>&1 || true
        sleep 2
    done
}

wait_databases() {
    wait_port mariadb "$mariadb_port"
    wait_port postgres "$postgres_port"
    for _ in $(seq 1 300); do
        psql -h 127.0.0.1 -p "$postgres_port" -U postgres -d postgres -X -q \
            -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    fail "PostgreSQL did not accept connections; see $state/postgres.log"
}

# The snippet demo-app puts in every page: web-vitals and rum.js inline, sending to rum-gateway,
# and the room page's WebRTC call.
write_snippet() {
    {
        echo "<script>"
        cat "$js/node_modules/web-vitals/dist/web-vitals.iife.js"
        echo "</script>"
        echo "<script>"
        cat "$js/rum.js"
        echo "</script>"
        echo "<script>rumGateway.start({ url: \"http://127.0.0.1:$rum_port/beacon\", app: \"demo-app\", flushMs: 2000 });</script>"
        # The room page's call, reported to the WebRTC intake (demo/webrtc-call.js).
        echo "<script>window.demoCall = { turn: \"turn:127.0.0.1:$turn_port?transport=udp\"," \
            "username: \"demo\", credential: \"$(cat "$state/turn-password")\"," \
            "intake: \"http://127.0.0.1:$rum_port/webrtc\", app: \"demo-app\", seconds: 3 };</script>"
        echo "<script>"
        cat "$root/demo/webrtc-call.js"
        echo "</script>"
    } >"$state/rum-snippet.html"
}

start_exporters() {
    local region
    # Its Prometheus stops with it, so no final scrape would come: exit without waiting for one.
    start rum-gateway "$bin/rum-gateway" --web.listen-address="127.0.0.1:$rum_port" \
        --config.file="$state/config/rum-gateway.yml" --web.final-scrape-wait=0s
    start demo-app "$bin/demo-app" --web.listen-address="127.0.0.1:$app_port" \
        --rum.snippet-file="$state/rum-snippet.html"
    start db-slowquery "$bin/db-slowquery" --web.listen-address="127.0.0.1:$db_port" \
        --config.file="$state/config/db-slowquery.yml"
    for region in "${regions[@]}"; do
        start "webrtc-probe-$region" "$bin/webrtc-probe" \
            --web.listen-address="127.0.0.1:${webrtc_port[$region]}" \
            --config.file="$state/config/webrtc-probe.yml"
        mkdir -p "$state/synthetic-journey-$region"
        start "synthetic-journey-$region" "$bin/synthetic-journey" \
            --web.listen-address="127.0.0.1:${journey_port[$region]}" \
            --config.file="$state/config/synthetic-journey.yml" \
            --artifacts.dir="$state/synthetic-journey-$region/artifacts"
    done
}

central_config() {
    cat <<EOF
# The central Prometheus: receives both regions' samples by remote write, evaluates the rules
# rulegen generated and sends alerts to Alertmanager. It scrapes nothing itself.
global:
  evaluation_interval: $evaluation_interval
rule_files:
  - $state/generated/rules/*.yml
alerting:
  alertmanagers:
    - static_configs: [{targets: ['127.0.0.1:$alertmanager_port']}]
EOF
}

# A region's Prometheus agent. $1 is the region; eu also scrapes what runs once (demo-app,
# rum-gateway, db-slowquery, the central Prometheus and Alertmanager), so every series at the
# centre carries a region.
agent_config() {
    local region=$1
    cat <<EOF
global:
  scrape_interval: $scrape_interval
  external_labels: {region: $region}
remote_write:
  - url: http://127.0.0.1:$central_port/api/v1/write
    queue_config: {batch_send_deadline: 1s}
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ['127.0.0.1:${agent_port[$region]}']}]
  - job_name: synthetic-journey
    static_configs: [{targets: ['127.0.0.1:${journey_port[$region]}']}]
  # The exporter's own /metrics, and blackbox-style probes: a target with a module label is
  # scraped as /probe?module=M&target=T on the exporter, with the probed target as instance.
  - job_name: webrtc-probe
    scrape_interval: $probe_interval
    scrape_timeout: 10s
    static_configs:
      - targets: ['127.0.0.1:${webrtc_port[$region]}']
      - {targets: ['127.0.0.1:$turn_port'], labels: {module: stun_udp}}
      - {targets: ['127.0.0.1:$turn_port'], labels: {module: turn_udp}}
      - {targets: ['127.0.0.1:$turn_port'], labels: {module: peer_relay}}
    relabel_configs:
      - {source_labels: [module], regex: '(.+)', target_label: __param_module}
      - {source_labels: [module, __address__], regex: '.+;(.+)', target_label: __param_target}
      - {source_labels: [module, __param_target], regex: '.+;(.+)', target_label: instance}
      - {source_labels: [module], regex: '.+', target_label: __metrics_path__, replacement: /probe}
      - {source_labels: [module], regex: '.+', target_label: __address__, replacement: '127.0.0.1:${webrtc_port[$region]}'}
EOF
    [ "$region" = eu ] || return 0
    cat <<EOF
  - job_name: demo-app
    static_configs: [{targets: ['127.0.0.1:$app_port']}]
  - job_name: rum-gateway
    static_configs: [{targets: ['127.0.0.1:$rum_port']}]
  - job_name: db-slowquery
    static_configs: [{targets: ['127.0.0.1:$db_port']}]
  - job_name: prometheus-central
    static_configs: [{targets: ['127.0.0.1:$central_port']}]
  - job_name: alertmanager
    static_configs: [{targets: ['127.0.0.1:$alertmanager_port']}]
EOF
}

start_prometheus() {
    local region agent_flag=--agent
    # Prometheus before 2.43 (Debian 12 has 2.42) knows agent mode as a feature flag only.
    [[ $(prometheus --help 2>&1 || true) == *--agent* ]] || agent_flag=--enable-feature=agent
    mkdir -p "$state/prometheus-central-data"
    central_config >"$state/prometheus-central.yml"
    promtool check config "$state/prometheus-central.yml" >"$state/promtool.log" 2>&1 ||
        fail "the central Prometheus config is invalid: $(cat "$state/promtool.log")"
    start prometheus-central prometheus --config.file="$state/prometheus-central.yml" \
        --storage.tsdb.path="$state/prometheus-central-data" \
        --web.listen-address="127.0.0.1:$central_port" --web.enable-remote-write-receiver
    for region in "${regions[@]}"; do
        mkdir -p "$state/prometheus-$region-data"
        agent_config "$region" >"$state/prometheus-$region.yml"
        promtool check config "$state/prometheus-$region.yml" >"$state/promtool.log" 2>&1 ||
            fail "the $region agent config is invalid: $(cat "$state/promtool.log")"
        # On stop, an agent keeps trying to flush to the centre, which stops at the same time,
        # for the flush deadline (1m by default): 5 s keeps Ctrl-C quick.
        start "prometheus-$region" prometheus "$agent_flag" --config.file="$state/prometheus-$region.yml" \
            --storage.agent.path="$state/prometheus-$region-data" \
            --web.listen-address="127.0.0.1:${agent_port[$region]}" \
            --storage.remote.flush-deadline=5s
    done
}

print_urls() {
    local region
    echo
    echo "Running (configs and logs in $state/):"
    printf '  %-26s http://127.0.0.1:%s/  (fault drill: POST /admin/fault?mode=failing)\n' demo-app "$app_port"
    printf '  %-26s http://127.0.0.1:%s/\n' rum-gateway "$rum_port" db-slowquery "$db_port"
    for region in "${regions[@]}"; do
        printf '  %-26s http://127.0.0.1:%s/\n' "webrtc-probe ($region)" "${webrtc_port[$region]}" \
            "synthetic-journey ($region)" "${journey_port[$region]}"
    done
    for region in "${regions[@]}"; do
        printf '  %-26s http://127.0.0.1:%s/targets  (agent)\n' "prometheus ($region)" "${agent_port[$region]}"
    done
    printf '  %-26s http://127.0.0.1:%s/alerts  (rules, alerts, queries)\n' "prometheus (central)" "$central_port"
    printf '  %-26s http://127.0.0.1:%s/\n' alertmanager "$alertmanager_port"
    printf '  %-26s http://127.0.0.1:%s/received  (notifications also printed here)\n' alert-webhook "$webhook_port"
    printf '  %-26s 127.0.0.1:%s (user demo), MariaDB 127.0.0.1:%s, PostgreSQL 127.0.0.1:%s\n' \
        coturn "$turn_port" "$mariadb_port" "$postgres_port"
    echo
    echo "Press Ctrl-C to stop everything."
}

check_tools
check_ports
mkdir -p "$state"
# The database servers run as their own users and must reach their directories.
chmod 755 "$state"
rm -f "$state/pids"
render_configs
generate
start_alerting
start_coturn
start_mariadb
start_postgres
wait_databases
db_traffic >/dev/null 2>&1 &
pids+=($!)
write_snippet
start_exporters
start_prometheus

wait_port alert-webhook "$webhook_port"
wait_port alertmanager "$alertmanager_port"
wait_port coturn "$turn_port"
wait_port rum-gateway "$rum_port"
wait_port demo-app "$app_port"
wait_port db-slowquery "$db_port"
for region in "${regions[@]}"; do
    wait_port "webrtc-probe-$region" "${webrtc_port[$region]}"
    wait_port "synthetic-journey-$region" "${journey_port[$region]}"
    wait_port "prometheus-$region" "${agent_port[$region]}"
done
wait_port prometheus-central "$central_port"
print_urls
wait -n "${pids[@]}" || true
echo "a process exited on its own; see the logs in $state/" >&2

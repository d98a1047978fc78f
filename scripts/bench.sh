#!/usr/bin/env bash
# Reproducible benchmark of sandbox-broker (release build) against:
#   - a fast fake upstream (examples/fake_upstream.rs) at 0 ms and 20 ms delay,
#   - the direct baseline (examples/direct_baseline.rs): the same upstream
#     work with the same clients, no broker,
#   - the HTTP floor (examples/http_floor.rs): a bare axum route doing that
#     same work per request, i.e. the ceiling of any HTTP service's ratio,
#   - moto,
#   - the original per-session Python script (boto3 + requests), and
#   - 5,000 slow clients (benches/support/slow_clients.py): what the
#     connection limits close, file descriptors, RSS, SIGTERM exit time.
# Load comes from wrk. On a 2-core machine the broker (and the baseline) run
# on CPU 0; wrk and the upstream on CPU 1. Each scenario runs BENCH_RUNS
# times (default 3) for BENCH_SECONDS (default 5); the table shows the
# median and the min–max, plus the CPU time (user + system, from
# /proc/<pid>/stat) the measured process spent per request: the broker, the
# floor or the baseline, all on CPU 0. When CPU 0 is saturated, throughput
# ratios are the inverse ratios of these figures. Results: stdout and
# target/bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/venv.sh
ensure_venv
command -v wrk >/dev/null || { echo "wrk is required: apt-get install wrk" >&2; exit 1; }

RUNS=${BENCH_RUNS:-3}
DURATION=${BENCH_SECONDS:-5}
OUT=target/bench
mkdir -p "$OUT"
CPU_BROKER="taskset -c 0"; CPU_LOAD="taskset -c 1"
[[ $(nproc) -ge 2 ]] || { CPU_BROKER=""; CPU_LOAD=""; }

echo "==> building (release)"
cargo build --release --locked --quiet --bin sandbox-broker --example fake_upstream --example direct_baseline \
  --example http_floor
BIN=target/release/sandbox-broker
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }

pids=()
cleanup() { if ((${#pids[@]})); then kill "${pids[@]}" 2>/dev/null || true; fi; wait 2>/dev/null || true; }
trap cleanup EXIT

export AWS_ACCESS_KEY_ID=AKIABENCH AWS_SECRET_ACCESS_KEY=bench-only AWS_REGION=eu-west-1 AWS_DEFAULT_REGION=eu-west-1
export RUST_LOG=info LOG_FORMAT=json

UPSTREAM_PID=""
start_upstream() {  # delay_ms -> sets UPSTREAM
  [[ -n "$UPSTREAM_PID" ]] && { kill "$UPSTREAM_PID"; wait "$UPSTREAM_PID" 2>/dev/null || true; }
  local port; port=$(free_port)
  $CPU_LOAD target/release/examples/fake_upstream "$port" "$1" 2>/dev/null & UPSTREAM_PID=$!; pids+=("$UPSTREAM_PID")
  UPSTREAM="http://127.0.0.1:$port"
  for _ in $(seq 100); do curl -s -o /dev/null "$UPSTREAM/federation" && break; sleep 0.05; done
}

write_config() {  # aws_endpoint federation_endpoint broker_port
  sed -e "s|^endpoint_url = .*|endpoint_url = \"$1\"|" \
      -e "s|^federation_endpoint = .*|federation_endpoint = \"$2\"|" \
      -e "s|^listen = .*|listen = \"127.0.0.1:$3\"|" \
      -e "s|^public_url = .*|public_url = \"http://127.0.0.1:$3\"|" \
      -e "s|^\[aws\]|[aws]\nsts_max_rps = 0|" \
      config/local.toml > "$OUT/config.toml"
  cp -r config/policies "$OUT/"
}

BROKER_PID=""
start_broker() {  # -> sets BASE, STARTUP_MS, IDLE_RSS_KB
  [[ -n "$BROKER_PID" ]] && { kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true; }
  local port; port=$(grep -oP 'listen = "127.0.0.1:\K[0-9]+' "$OUT/config.toml")
  BASE="http://127.0.0.1:$port"
  local started; started=$(now_ms)
  $CPU_BROKER "$BIN" --config "$OUT/config.toml" serve 2>"$OUT/broker.log" & BROKER_PID=$!; pids+=("$BROKER_PID")
  until curl -sf -o /dev/null "$BASE/readyz"; do sleep 0.002; done
  STARTUP_MS=$(( $(now_ms) - started ))
  sleep 1
  IDLE_RSS_KB=$(awk '/VmRSS/ {print $2}' "/proc/$BROKER_PID/status")
}

peak_rss_kb() { awk '/VmHWM/ {print $2}' "/proc/$BROKER_PID/status"; }

# CPU ticks (user + system, USER_HZ) a process has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
# wrk once: prints "rps p99_ms cpu_us_per_request" (CPU of the server process)
wrk_once() {  # server_pid connections url [lua]
  local pid=$1 conns=$2 url=$3 script=${4:-}
  local before; before=$(cpu_ticks "$pid")
  local out; out=$($CPU_LOAD wrk -t1 -c"$conns" -d"${DURATION}s" --latency ${script:+-s "$script"} "$url")
  local rps p99 cpu
  cpu=$(awk -v a="$before" -v b="$(cpu_ticks "$pid")" -v hz="$HZ" -v n="$(awk '/requests in/ {print $1}' <<<"$out")" \
    'BEGIN {printf "%.1f", (b - a) * 1e6 / hz / n}')
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' <<<"$out")
  if grep -q "Non-2xx" <<<"$out"; then echo "warning: $(grep Non-2xx <<<"$out") for $url" >&2; fi
  echo "$rps $p99 $cpu"
}

# "median (min–max)" of a column of numbers
summary() { sort -n | awk '{a[NR]=$1} END {printf "%.0f (%.0f–%.0f)", a[int((NR+1)/2)], a[1], a[NR]}'; }
summary_ms() { sort -n | awk '{a[NR]=$1} END {printf "%.2f (%.2f–%.2f)", a[int((NR+1)/2)], a[1], a[NR]}'; }
summary_cpu() { sort -n | awk '{a[NR]=$1} END {printf "%.0f (%.0f–%.0f)", a[int((NR+1)/2)], a[1], a[NR]}'; }

ROWS=()
declare -A MEDIAN CPU_MEDIAN
record() {  # label "rps p99 cpu" lines...
  local label=$1; shift
  local rps p99 cpu
  rps=$(printf '%s\n' "$@" | cut -d' ' -f1 | summary)
  p99=$(printf '%s\n' "$@" | cut -d' ' -f2 | summary_ms)
  cpu=$(printf '%s\n' "$@" | cut -d' ' -f3 | summary_cpu)
  MEDIAN[$label]=${rps%% *}
  CPU_MEDIAN[$label]=${cpu%% *}
  ROWS+=("| $label | $rps | $p99 | $cpu |")
  echo "  $label: $rps req/s, p99 $p99 ms, CPU $cpu µs per request"
}

scenario() {  # label server_pid conns url [lua]
  local results=()
  for _ in $(seq "$RUNS"); do results+=("$(wrk_once "$2" "$3" "$4" "${5:-}")"); done
  record "$1" "${results[@]}"
}

baseline() {  # label conns
  local results=()
  for _ in $(seq "$RUNS"); do
    results+=("$($CPU_BROKER target/release/examples/direct_baseline "$OUT/config.toml" "$2" "$DURATION" 2>/dev/null \
      | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["rps"], d["p99_ms"], d["cpu_us"])')")
  done
  record "$1" "${results[@]}"
}

FLOOR_PID=""
start_floor() {  # -> sets FLOOR (config from write_config)
  [[ -n "$FLOOR_PID" ]] && { kill "$FLOOR_PID"; wait "$FLOOR_PID" 2>/dev/null || true; }
  local port; port=$(free_port)
  $CPU_BROKER target/release/examples/http_floor "$OUT/config.toml" "$port" 2>/dev/null & FLOOR_PID=$!; pids+=("$FLOOR_PID")
  FLOOR="http://127.0.0.1:$port"
  until curl -s -o /dev/null "$FLOOR/"; do sleep 0.01; done
}

RATIOS=()
ratio() {  # delay conns
  local broker=${MEDIAN["POST /sessions, fake $1 ms, c=$2"]} floor=${MEDIAN["HTTP floor, fake $1 ms, c=$2"]}
  local base=${MEDIAN["direct baseline, fake $1 ms, c=$2"]}
  local cpu="${CPU_MEDIAN["POST /sessions, fake $1 ms, c=$2"]} | ${CPU_MEDIAN["HTTP floor, fake $1 ms, c=$2"]}"
  cpu+=" | ${CPU_MEDIAN["direct baseline, fake $1 ms, c=$2"]}"
  RATIOS+=("| fake $1 ms, c=$2 | $(awk -v a="$broker" -v b="$base" 'BEGIN {printf "%.2f", a/b}') | $(awk -v a="$floor" -v b="$base" 'BEGIN {printf "%.2f", a/b}') | $cpu |")
}

token() { "$BIN" --config "$OUT/config.toml" token --scope "sessions:issue" --ttl 3600; }

for delay in 0 20; do
  echo "==> fake upstream, ${delay} ms delay"
  start_upstream "$delay"
  write_config "$UPSTREAM" "$UPSTREAM/federation" "$(free_port)"
  start_broker
  start_floor
  [[ $delay == 0 ]] && { STARTUP_FAKE=$STARTUP_MS; IDLE_FAKE=$IDLE_RSS_KB; }
  export BENCH_TOKEN; BENCH_TOKEN=$(token)
  for c in 1 8 32; do
    scenario "POST /sessions, fake ${delay} ms, c=$c" "$BROKER_PID" "$c" "$BASE/sessions" \
      benches/support/post_session.lua
    scenario "HTTP floor, fake ${delay} ms, c=$c" "$FLOOR_PID" "$c" "$FLOOR/sessions" benches/support/post_session.lua
    baseline "direct baseline, fake ${delay} ms, c=$c" "$c"
    ratio "$delay" "$c"
  done
  # The CLI formats show no console URL, so they skip getSigninToken.
  BENCH_QUERY="?format=credential-process" scenario "POST /sessions?format=credential-process, fake ${delay} ms, c=8" \
    "$BROKER_PID" 8 "$BASE/sessions" benches/support/post_session.lua
  if [[ $delay == 0 ]]; then
    PEAK_FAKE=$(peak_rss_kb)
    scenario "GET /healthz, c=32" "$BROKER_PID" 32 "$BASE/healthz"
    launch=$(curl -sf -X POST "$BASE/sessions" -H "Authorization: Bearer $BENCH_TOKEN" \
      -H 'Content-Type: application/json' -d '{"session_id":"bench-launch"}' \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["console"]["launch_url"])')
    scenario "GET /console/launch, fake 0 ms, c=8" "$BROKER_PID" 8 "$launch"
    echo "==> original script (python, one process per session), fake 0 ms"
    started=$(now_ms); n=10
    for i in $(seq $n); do
      .venv/bin/python benches/support/original_script.py "$UPSTREAM" "$UPSTREAM/federation" \
        arn:aws:iam::123456789012:role/sandbox-s3 "script-$i" >/dev/null
    done
    SCRIPT_MS=$(( ($(now_ms) - started) / n ))
    echo "  original script: $SCRIPT_MS ms per session"
  fi
done

echo "==> moto"
kill "$UPSTREAM_PID" 2>/dev/null || true
moto_port=$(free_port); fed_port=$(free_port)
$CPU_LOAD .venv/bin/moto_server -H 127.0.0.1 -p "$moto_port" >"$OUT/moto.log" 2>&1 & pids+=($!)
$CPU_LOAD target/release/examples/fake_upstream "$fed_port" 0 --moto "http://127.0.0.1:$moto_port" 2>/dev/null & pids+=($!)
until curl -sf -o /dev/null "http://127.0.0.1:$moto_port/moto-api/"; do sleep 0.1; done
write_config "http://127.0.0.1:$moto_port" "http://127.0.0.1:$fed_port/federation" "$(free_port)"
"$BIN" --config "$OUT/config.toml" bootstrap >/dev/null 2>&1
start_broker
BENCH_TOKEN=$(token)
for c in 1 8 32; do
  scenario "POST /sessions, moto, c=$c" "$BROKER_PID" "$c" "$BASE/sessions" benches/support/post_session.lua
done

echo "==> slow clients: 5,000 connections each stalling half-way through a request head"
kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true; BROKER_PID=""
start_broker
SLOW=$(python3 benches/support/slow_clients.py --port "${BASE##*:}" --pid "$BROKER_PID" --connections 5000 --seconds 12 \
  | tail -1)
BROKER_PID=""
echo "  $SLOW"

{
  echo "| scenario | requests/s median (min–max) | p99 ms median (min–max) | CPU µs per request median (min–max) |"
  echo "|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "| throughput vs direct baseline | broker | HTTP floor (ceiling) | broker CPU µs/session | floor CPU µs/session | baseline CPU µs/session |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${RATIOS[@]}"
  echo
  echo "| figure | value |"
  echo "|---|---|"
  echo "| start-up, exec to first 200 on /readyz (fake upstream) | ${STARTUP_FAKE} ms |"
  echo "| RSS idle | $((IDLE_FAKE / 1024)) MB (${IDLE_FAKE} kB) |"
  echo "| RSS peak during the fake-upstream 0 ms runs (VmHWM) | $((PEAK_FAKE / 1024)) MB (${PEAK_FAKE} kB) |"
  echo "| original script, per session (python + boto3 + requests, fake 0 ms) | ${SCRIPT_MS} ms |"
  echo "| slow clients (5,000 half-sent heads, 12 s, default limits) | $SLOW |"
  echo
  echo "rustc $(rustc --version | cut -d' ' -f2), release profile, wrk $(wrk -v 2>&1 | head -1 | cut -d' ' -f2), $(nproc) cores, ${RUNS} runs × ${DURATION} s"
} | tee "$OUT/results.md"

echo "==> cleanup (scripts/bench_cleanup.sh)"
BENCH_BIN="$BIN" bash scripts/bench_cleanup.sh

echo "==> issue latency with the ledger write (scripts/bench_ledger.sh)"
bash scripts/bench_ledger.sh

echo "==> a workshop ending at once (scripts/bench_revocations.sh)"
BENCH_BIN="$BIN" bash scripts/bench_revocations.sh

echo "==> a whole lab reset through the registry (scripts/bench_reset.sh)"
bash scripts/bench_reset.sh

echo "==> the account pool: end of session to available, lease latency (scripts/bench_pool.sh)"
bash scripts/bench_pool.sh

echo "==> the spend meter: one pass over 50, 200 and 500 sessions (scripts/bench_spend.sh)"
bash scripts/bench_spend.sh

echo "==> the price list import: streamed offer files of 0.3 and 1.4 GB (scripts/bench_prices.sh)"
bash scripts/bench_prices.sh

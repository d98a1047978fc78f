# Sourced by the benchmarks that run against moto: starts a moto server and
# benches/support/latency_proxy.py in front of it (adding $1 ms to every
# call, as a region's API is that far away), sets MOTO and PROXY to their
# URLs and `work` to a scratch directory, points the AWS SDKs at static
# keys and no shared config, and stops both servers on exit.
# `prepare_moto_bench MS` is the whole common start of such a benchmark:
# the venv (PY), the test binary (debug, or with BENCH_RELEASE=1 release:
# PROFILE holds the cargo flag), then the servers.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_moto_behind_proxy() {
  local latency=$1 moto_port proxy_port
  pids=()
  trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
  work=$(mktemp -d)
  moto_port=$(free_port); proxy_port=$(free_port)
  .venv/bin/moto_server -p "$moto_port" >/dev/null 2>&1 & pids+=($!)
  .venv/bin/python benches/support/latency_proxy.py "$proxy_port" "http://127.0.0.1:$moto_port" "$latency" & pids+=($!)
  MOTO=http://127.0.0.1:$moto_port; PROXY=http://127.0.0.1:$proxy_port
  for _ in $(seq 100); do curl -sf "$MOTO/moto-api/" >/dev/null && break; sleep 0.1; done
  touch "$work/empty"
  export AWS_ACCESS_KEY_ID=AKIABENCH AWS_SECRET_ACCESS_KEY=bench AWS_REGION=eu-west-1 AWS_DEFAULT_REGION=eu-west-1
  export AWS_CONFIG_FILE="$work/empty" AWS_SHARED_CREDENTIALS_FILE="$work/empty" RUST_LOG=warn
}

prepare_moto_bench() {
  source scripts/lib/venv.sh
  ensure_venv
  PY=.venv/bin/python
  # BENCH_RELEASE=1: the test binary optimised, as the broker ships.
  PROFILE=(); [[ ${BENCH_RELEASE:-0} == 1 ]] && PROFILE=(--release)
  echo "==> building (test binary, ${PROFILE[*]:-debug})"
  cargo test --locked "${PROFILE[@]}" --test api --no-run --quiet 2>/dev/null
  start_moto_behind_proxy "$1"
}

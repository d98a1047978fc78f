# Sourced by scripts/dev.sh and scripts/conformance.sh: starts moto, the
# federation stand-in and the broker (config/local.toml with the ports given),
# bootstraps the profiles' roles, and stops everything on exit.
#   start_stack MOTO_PORT FED_PORT BROKER_PORT LOG_DIR
# Sets BIN, CONFIG and BASE_URL.

TARGET_DIR=${CARGO_TARGET_DIR:-target}
BIN=$TARGET_DIR/debug/sandbox-broker
FAKE=$TARGET_DIR/debug/examples/fake_upstream
CONFIG=config/local.toml
stack_pids=()

# Stops everything start_stack started: on exit, Ctrl-C, SIGTERM and SIGHUP
# (a closed terminal), also when the script runs in the background.
stop_stack() {
  trap - EXIT INT TERM HUP
  if ((${#stack_pids[@]})); then kill "${stack_pids[@]}" 2>/dev/null || true; fi
  wait 2>/dev/null || true
}

wait_for() {  # url
  for _ in $(seq 150); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "timed out waiting for $1" >&2
  return 1
}

start_stack() {
  local moto_port=$1 fed_port=$2 broker_port=$3 logs=$4
  for port in "$moto_port" "$fed_port" "$broker_port"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "port $port is already in use; stop whatever listens there first" >&2
      return 1
    fi
  done
  # Fake keys for the emulator; moto accepts anything.
  export AWS_ACCESS_KEY_ID=AKIALOCALDEVELOPMENT AWS_SECRET_ACCESS_KEY=local-development-only
  export AWS_REGION=eu-west-1 AWS_DEFAULT_REGION=eu-west-1
  export SANDBOX_BROKER__SERVER__LISTEN="127.0.0.1:$broker_port"
  export SANDBOX_BROKER__SERVER__PUBLIC_URL="http://127.0.0.1:$broker_port"
  export SANDBOX_BROKER__AWS__ENDPOINT_URL="http://127.0.0.1:$moto_port"
  export SANDBOX_BROKER__AWS__FEDERATION_ENDPOINT="http://127.0.0.1:$fed_port/federation"
  BASE_URL="http://127.0.0.1:$broker_port"
  trap stop_stack EXIT
  trap 'stop_stack; exit 130' INT
  trap 'stop_stack; exit 143' TERM HUP
  mkdir -p "$logs"

  # The same build as scripts/test.sh (binary, examples, tests, with the
  # test build's features), so neither rebuilds the dependency tree after
  # the other; progress shows, since a first build takes minutes.
  echo "==> building (cargo test --no-run; the first build takes ~5 minutes)"
  cargo test --locked --no-run 2>&1 | grep -E '^\s*(Compiling|Finished|error|warning)' || true
  [[ -x "$BIN" && -x "$FAKE" ]] || { echo "build failed" >&2; return 1; }
  "$BIN" --config "$CONFIG" check-config
  .venv/bin/moto_server -H 127.0.0.1 -p "$moto_port" >"$logs/moto.log" 2>&1 & stack_pids+=($!)
  "$FAKE" "$fed_port" 0 --moto "http://127.0.0.1:$moto_port" 2>"$logs/federation.log" & stack_pids+=($!)
  wait_for "http://127.0.0.1:$moto_port/moto-api/"

  echo "==> bootstrapping the profiles' roles (sandbox-broker bootstrap)"
  "$BIN" --config "$CONFIG" bootstrap 2>>"$logs/bootstrap.log" \
    | grep -E '"(resource|action)"' | paste - - | sed 's/[",]//g; s/  */ /g'

  echo "==> starting the broker on :$broker_port"
  "$BIN" --config "$CONFIG" serve >"$logs/broker.log" 2>&1 & stack_pids+=($!)
  wait_for "$BASE_URL/readyz"
}

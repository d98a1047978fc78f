#!/usr/bin/env bash
# THE test command. On a fresh machine it creates .venv (moto, the AWS CLI,
# the policy auditors parliament and cloudsplaining, cfn-lint), then runs
# the whole suite: unit tests, property tests and the integration binary,
# which starts its own moto server on a free port.
# Extra arguments go to `cargo test` (e.g. scripts/test.sh sessions::).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/venv.sh
ensure_venv
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --locked --workspace "$@" 2>&1 | tee "$log" || status=$?
# One closing line for the whole suite (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"

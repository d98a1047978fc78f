#!/usr/bin/env bash
# THE test command. On a fresh machine it creates .venv (moto + AWS CLI),
# then runs the whole suite: unit tests, property tests and the integration
# binary, which starts its own moto server on a free port.
# Extra arguments go to `cargo test` (e.g. scripts/test.sh sessions::).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/venv.sh
ensure_venv
cargo test --locked "$@"

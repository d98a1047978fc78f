# Sourced by scripts/*.sh: creates .venv with the AWS emulator (moto), the
# AWS CLI, the IAM policy auditors (parliament, cloudsplaining) and cfn-lint
# when they are missing or the pinned requirements changed.
ensure_venv() {
  local root requirements stamp
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  requirements="$root/scripts/requirements-dev.txt"
  stamp="$root/.venv/.requirements"
  if [[ -x "$root/.venv/bin/moto_server" && -x "$root/.venv/bin/aws" && -x "$root/.venv/bin/parliament" ]] \
     && cmp -s "$requirements" "$stamp"; then
    return 0
  fi
  echo "==> setting up .venv (moto, awscli, parliament, cloudsplaining, cfn-lint)" >&2
  python3 -m venv "$root/.venv"
  "$root/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$stamp"
}

#!/usr/bin/env bash
# The four laborcoop services as local processes (deploy/local/README.md):
#
#   deploy/local/services.sh start|seed|stop|status
#
# A wrapper kept for habits and scripts: the launcher is the Python package tools/devstack
# (`laborcoop-devstack services ...`), run from the locked environment (`make bootstrap` first).
set -euo pipefail
root="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)"
# shellcheck disable=SC2086 # UV may be a command with arguments, e.g. "python3 -m uv"
exec ${UV:-python3 -m uv} run --project "$root" --frozen --no-sync --quiet \
  laborcoop-devstack services "$@"

#!/usr/bin/env bash
# The four laborcoop services as local processes (used by `make run`, `make stop`, `make status`).
#
#   deploy/local/services.sh start|seed|stop|status
#
# Needs the stack of stack.sh running (same LABORCOOP_* variables). Logs and pid files live in
# $LABORCOOP_STACK_DIR/services/. Ports: LABORCOOP_{GATEWAY,REGISTRY,AGREEMENTS,PLACEMENTS}_PORT.
# `start` loads the demo data once per data directory (the marker services/seeded);
# LABORCOOP_SEED=always loads it again, and `seed` loads it alone. A seed only adds what is
# missing, so seeding again never undoes a change made through the API.
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/../.." && pwd -P)"
STACK_DIR="$(realpath -m -- "${LABORCOOP_STACK_DIR:-$REPO_ROOT/.devstack}")"
RUN_DIR="$STACK_DIR/services"
UV="${UV:-python3 -m uv}"
PG_PORT="${LABORCOOP_PG_PORT:-55432}"
PG_AUTH="${LABORCOOP_PG_USER:-laborcoop}:${LABORCOOP_PG_PASSWORD:-laborcoop}"

declare -A PORTS=(
  [registry]="${LABORCOOP_REGISTRY_PORT:-8101}"
  [agreements]="${LABORCOOP_AGREEMENTS_PORT:-8102}"
  [placements]="${LABORCOOP_PLACEMENTS_PORT:-8103}"
  [gateway]="${LABORCOOP_GATEWAY_PORT:-8100}"
)
SERVICES=(registry agreements placements gateway)
SEEDED_SERVICES=(registry agreements) # the services with a `seed` command, in dependency order
SEEDED_MARKER="$RUN_DIR/seeded"

export LABORCOOP_ENVIRONMENT=development
export LABORCOOP_KAFKA_BOOTSTRAP="127.0.0.1:${LABORCOOP_KAFKA_PORT:-59092}"
export LABORCOOP_JWKS_FILE="$STACK_DIR/keys/jwks.json"
export LABORCOOP_REGISTRY_URL="http://127.0.0.1:${PORTS[registry]}"
export LABORCOOP_AGREEMENTS_URL="http://127.0.0.1:${PORTS[agreements]}"
export LABORCOOP_PLACEMENTS_URL="http://127.0.0.1:${PORTS[placements]}"
for service in "${SERVICES[@]}"; do
  export "LABORCOOP_${service^^}_DATABASE_URL=postgresql://$PG_AUTH@127.0.0.1:$PG_PORT/$service"
done

say() { printf 'services: %s\n' "$*"; }

pid_of() {
  local file="$RUN_DIR/$1.pid"
  [[ -f "$file" ]] && kill -0 "$(cat "$file")" 2>/dev/null && cat "$file"
}

wait_ready() {
  local service=$1 url="http://127.0.0.1:${PORTS[$1]}/readyz"
  for _ in $(seq 1 60); do
    if "${UV_CMD[@]}" run --frozen --quiet python -c \
      "import sys, httpx; sys.exit(httpx.get('$url', timeout=2).status_code != 200)" 2>/dev/null; then
      return 0
    fi
    pid_of "$service" >/dev/null || break
    sleep 1
  done
  printf 'services: %s did not become ready; see %s\n' "$service" "$RUN_DIR/$service.log" >&2
  return 1
}

start_service() {
  local service=$1
  if ! "${UV_CMD[@]}" run --frozen --quiet "laborcoop-$service" migrate >>"$RUN_DIR/$service.log" 2>&1; then
    printf 'services: migrating %s failed; see %s\n' "$service" "$RUN_DIR/$service.log" >&2
    return 1
  fi
  nohup "${UV_CMD[@]}" run --frozen --quiet "laborcoop-$service" serve --port "${PORTS[$service]}" \
    >>"$RUN_DIR/$service.log" 2>&1 &
  echo $! >"$RUN_DIR/$service.pid"
}

# Load the demo data: `seed` of each seeding service, stdout to the terminal, errors to its log.
# A failing seed stops here (non-zero) naming the log, and leaves no marker, so the next
# `make run` tries again.
seed() {
  mkdir -p "$RUN_DIR"
  read -r -a UV_CMD <<<"$UV"
  local service
  for service in "${SEEDED_SERVICES[@]}"; do
    if ! "${UV_CMD[@]}" run --frozen --quiet "laborcoop-$service" seed 2>>"$RUN_DIR/$service.log"; then
      printf 'services: loading the demo data of %s failed; see %s\n' \
        "$service" "$RUN_DIR/$service.log" >&2
      return 1
    fi
  done
  date -u +%Y-%m-%dT%H:%M:%SZ >"$SEEDED_MARKER"
}

start() {
  mkdir -p "$RUN_DIR"
  read -r -a UV_CMD <<<"$UV"
  "${UV_CMD[@]}" run --frozen --quiet laborcoop-gateway dev-keys
  local service
  for service in "${SERVICES[@]}"; do
    if pid_of "$service" >/dev/null; then
      say "$service already running on port ${PORTS[$service]}"
    else
      start_service "$service"
    fi
  done
  for service in "${SERVICES[@]}"; do
    wait_ready "$service"
    say "$service ready on http://127.0.0.1:${PORTS[$service]}"
  done
  if [[ ! -f "$SEEDED_MARKER" || "${LABORCOOP_SEED:-}" == always ]]; then
    seed
  else
    say "demo data loaded before (on $(cat "$SEEDED_MARKER")); LABORCOOP_SEED=always loads what is missing"
  fi
  cat <<MSG

laborcoop is running. Gateway: http://127.0.0.1:${PORTS[gateway]}  (OpenAPI: /docs)
A development token for Hunan's provincial system (more: make token PROVINCE=310000 ROLES=province):
  export TOKEN=$("${UV_CMD[@]}" run --frozen --quiet laborcoop-gateway dev-token --province 430000 --roles province)
Try:  curl -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:${PORTS[gateway]}/v1/brands
Logs: $RUN_DIR/<service>.log    Stop: make down
MSG
}

stop() {
  for service in "${SERVICES[@]}"; do
    local pid
    if pid=$(pid_of "$service"); then
      pkill -TERM -P "$pid" 2>/dev/null || true
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      say "$service stopped"
    fi
    rm -f "$RUN_DIR/$service.pid"
  done
}

status() {
  for service in "${SERVICES[@]}"; do
    local pid
    if pid=$(pid_of "$service"); then
      say "$service running (pid $pid) on port ${PORTS[$service]}"
    else
      say "$service stopped"
    fi
  done
}

case "${1:-}" in
  start) start ;;
  seed) seed ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|seed|stop|status" >&2; exit 2 ;;
esac

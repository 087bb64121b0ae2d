#!/usr/bin/env bash
# Local development stack for laborcoop: PostgreSQL + single-node Kafka (KRaft).
#
#   deploy/local/stack.sh up|down|status|kafka-start|kafka-stop
#
# Configuration (environment variables, defaults in brackets):
#   LABORCOOP_STACK_DIR              [<repo root>/.devstack]
#   LABORCOOP_PG_PORT                [55432]
#   LABORCOOP_PG_USER                [laborcoop]
#   LABORCOOP_PG_PASSWORD            [laborcoop]
#   LABORCOOP_KAFKA_PORT             [59092]
#   LABORCOOP_KAFKA_CONTROLLER_PORT  [59093]
# See deploy/local/README.md.
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/../.." && pwd -P)"

STACK_DIR="$(realpath -m -- "${LABORCOOP_STACK_DIR:-$REPO_ROOT/.devstack}")"
PG_PORT="${LABORCOOP_PG_PORT:-55432}"
PG_USER="${LABORCOOP_PG_USER:-laborcoop}"
PG_PASSWORD="${LABORCOOP_PG_PASSWORD:-laborcoop}"
KAFKA_PORT="${LABORCOOP_KAFKA_PORT:-59092}"
KAFKA_CONTROLLER_PORT="${LABORCOOP_KAFKA_CONTROLLER_PORT:-59093}"

PG_DATABASES=(registry agreements placements gateway)
HOST=127.0.0.1
PYTHON="${PYTHON:-python3}"

KAFKA_POM="$SCRIPT_DIR/kafka/pom.xml"
KAFKA_DIR="$STACK_DIR/kafka"
KAFKA_LIBS="$KAFKA_DIR/libs"
KAFKA_LIBS_MARKER="$KAFKA_LIBS/.pom.sha256"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_CONFIG="$KAFKA_DIR/server.properties"
KAFKA_LOG4J="$KAFKA_DIR/log4j2.properties"
KAFKA_CLUSTER_ID_FILE="$KAFKA_DIR/cluster.id"
KAFKA_PID_FILE="$KAFKA_DIR/kafka.pid"
KAFKA_STDOUT="$KAFKA_DIR/stdout.log"
KAFKA_LOG="$KAFKA_DIR/kafka.log"

IS_ROOT=0
if [[ "$(id -u)" -eq 0 ]]; then
  IS_ROOT=1
fi

# PostgreSQL refuses to run as root, and a repo under /root is not traversable
# by the postgres user: as root the cluster lives under /var/tmp, keyed by a
# hash of the stack dir, and $STACK_DIR/pgdata is a symlink to it.
if [[ "$IS_ROOT" -eq 1 ]]; then
  PG_HOME_ROOT=/var/tmp/laborcoop-pg
  PG_HOME="$PG_HOME_ROOT/$(printf '%s' "$STACK_DIR" | sha256sum | cut -c1-12)"
  PG_DATA="$PG_HOME/data"
  PG_LOG="$PG_HOME/postgres.log"
else
  PG_HOME="$STACK_DIR"
  PG_DATA="$STACK_DIR/pgdata"
  PG_LOG="$STACK_DIR/postgres.log"
fi
PG_LINK="$STACK_DIR/pgdata"

say() { printf 'stack: %s\n' "$*"; }
die() {
  printf 'stack: %s\n' "$*" >&2
  exit 1
}
missing() {
  printf 'missing prerequisite: %s\n' "$*" >&2
  exit 1
}

# ---------------------------------------------------------------- prerequisites

PG_BIN=""
find_pg_bin() {
  local dir best=""
  for dir in /usr/lib/postgresql/*/bin; do
    [[ -x "$dir/pg_ctl" && -x "$dir/initdb" ]] || continue
    if [[ -z "$best" ]] || [[ "$(printf '%s\n%s\n' "$best" "$dir" | sort -V | tail -n1)" == "$dir" ]]; then
      best="$dir"
    fi
  done
  if [[ -z "$best" ]] && command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    best="$(dirname -- "$(command -v pg_ctl)")"
  fi
  PG_BIN="$best"
}

PSQL=""
require_postgres() {
  find_pg_bin
  [[ -n "$PG_BIN" ]] || missing "PostgreSQL server binaries (apt-get install postgresql)"
  if [[ -x "$PG_BIN/psql" ]]; then
    PSQL="$PG_BIN/psql"
  elif command -v psql >/dev/null 2>&1; then
    PSQL="$(command -v psql)"
  else
    missing "psql client (apt-get install postgresql-client)"
  fi
  if [[ "$IS_ROOT" -eq 1 ]]; then
    id -u postgres >/dev/null 2>&1 || missing "system user 'postgres' to run PostgreSQL as root (apt-get install postgresql)"
    command -v runuser >/dev/null 2>&1 || missing "runuser (apt-get install util-linux)"
  fi
}

require_java() {
  command -v java >/dev/null 2>&1 || missing "java >= 17 (apt-get install openjdk-17-jre-headless)"
  local line version major
  line="$(java -version 2>&1 | grep -m1 ' version ' || true)"
  version="$(sed -E 's/.* version "([^"]*)".*/\1/' <<<"$line")"
  major="${version%%.*}"
  if [[ "$major" == "1" ]]; then
    major="$(cut -d. -f2 <<<"$version")"
  fi
  major="${major%%[!0-9]*}"
  if [[ -z "$major" ]] || ((major < 17)); then
    missing "java >= 17, found '${version:-unknown}' (apt-get install openjdk-17-jre-headless)"
  fi
}

require_mvn() {
  command -v mvn >/dev/null 2>&1 || missing "mvn to fetch the Kafka jars (apt-get install maven)"
}

require_python() {
  command -v "$PYTHON" >/dev/null 2>&1 || missing "python3 (apt-get install python3)"
}

# ---------------------------------------------------------------- helpers

port_in_use() {
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

# Run a PostgreSQL server binary as the right user.
as_pg() {
  if [[ "$IS_ROOT" -eq 1 ]]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# Write $2 to file $1 only if the content changed (keeps mtimes stable).
write_if_changed() {
  local file="$1" content="$2"
  if [[ ! -f "$file" ]] || [[ "$(cat -- "$file")" != "$content" ]]; then
    printf '%s\n' "$content" >"$file.tmp"
    mv -f -- "$file.tmp" "$file"
  fi
}

# ---------------------------------------------------------------- postgres

# Write a file inside the data directory, owned by the cluster's user.
pg_write_file() {
  write_if_changed "$1" "$2"
  if [[ "$IS_ROOT" -eq 1 ]]; then
    chown postgres:postgres "$1"
  fi
  chmod 600 "$1"
}

pg_pid() {
  # Prints the postmaster pid if it is running on $PG_DATA.
  local pid
  [[ -f "$PG_DATA/postmaster.pid" ]] || return 1
  pid="$(head -n1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  grep -q postgres "/proc/$pid/cmdline" 2>/dev/null || return 1
  printf '%s\n' "$pid"
}

pg_stop() {
  [[ -d "$PG_DATA" ]] || return 0
  if pg_pid >/dev/null; then
    [[ -n "$PG_BIN" ]] || require_postgres
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null ||
      die "could not stop postgres (data $PG_DATA), see $PG_LOG"
    say "postgres stopped"
  fi
}

pg_prepare_dirs() {
  mkdir -p -- "$STACK_DIR"
  if [[ "$IS_ROOT" -eq 1 ]]; then
    if [[ -d "$PG_LINK" && ! -L "$PG_LINK" ]]; then
      die "$PG_LINK is a plain directory (created as non-root?); remove it or run as that user"
    fi
    if [[ -d "$PG_HOME" && ! -L "$PG_LINK" ]]; then
      # The stack dir was reset (rm -rf) but the cluster under /var/tmp was not.
      say "removing stale postgres cluster $PG_HOME (stack dir was reset)"
      pg_stop
      rm -rf -- "$PG_HOME"
    fi
    mkdir -p -- "$PG_HOME_ROOT"
    chmod 755 "$PG_HOME_ROOT"
    if [[ ! -d "$PG_HOME" ]]; then
      mkdir -m 700 -- "$PG_HOME"
      printf '%s\n' "$STACK_DIR" >"$PG_HOME/stack_dir"
      chown -R postgres:postgres "$PG_HOME"
    fi
    ln -sfn -- "$PG_DATA" "$PG_LINK"
    ln -sfn -- "$PG_LOG" "$STACK_DIR/postgres.log"
  fi
}

pg_init() {
  [[ -f "$PG_DATA/PG_VERSION" ]] && return 0
  local pwfile="$PG_HOME/.pwfile"
  say "initialising postgres cluster in $PG_DATA"
  (umask 077 && printf '%s\n' "$PG_PASSWORD" >"$pwfile")
  if [[ "$IS_ROOT" -eq 1 ]]; then
    chown postgres:postgres "$pwfile"
  fi
  if ! as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_USER" --pwfile="$pwfile" \
    --auth=scram-sha-256 --encoding=UTF8 --no-locale >"$PG_HOME/initdb.log" 2>&1; then
    rm -f -- "$pwfile"
    die "initdb failed, see $PG_HOME/initdb.log"
  fi
  rm -f -- "$pwfile"
  # TCP on 127.0.0.1 only, password auth.
  pg_write_file "$PG_DATA/pg_hba.conf" "# laborcoop dev stack: TCP on 127.0.0.1 only, password auth
host all all 127.0.0.1/32 scram-sha-256"
}

pg_configure() {
  local conf
  conf="# generated by deploy/local/stack.sh on every up
listen_addresses = '$HOST'
port = $PG_PORT
unix_socket_directories = ''
max_connections = 200
shared_buffers = 128MB
password_encryption = scram-sha-256"
  if ! grep -q "^include_if_exists = 'laborcoop.conf'" "$PG_DATA/postgresql.conf"; then
    printf '\n%s\n' "include_if_exists = 'laborcoop.conf'" >>"$PG_DATA/postgresql.conf"
  fi
  pg_write_file "$PG_DATA/laborcoop.conf" "$conf"
}

pg_wait_ready() {
  local i
  for ((i = 0; i < 60; i++)); do
    if as_pg "$PG_BIN/pg_isready" -q -h "$HOST" -p "$PG_PORT" -U "$PG_USER"; then
      return 0
    fi
    sleep 0.5
  done
  die "postgres not ready on $HOST:$PG_PORT after 30s, see $PG_LOG"
}

pg_create_databases() {
  local db exists
  for db in "${PG_DATABASES[@]}"; do
    exists="$(PGPASSWORD="$PG_PASSWORD" "$PSQL" -X -q -h "$HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres \
      -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" ||
      die "cannot query postgres on $HOST:$PG_PORT as $PG_USER, see $PG_LOG"
    if [[ "$exists" != "1" ]]; then
      PGPASSWORD="$PG_PASSWORD" "$PSQL" -X -q -h "$HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres \
        -c "CREATE DATABASE \"$db\"" >/dev/null || die "could not create database $db"
      say "created database $db"
    fi
  done
}

pg_up() {
  pg_prepare_dirs
  if pg_pid >/dev/null; then
    local running_port
    running_port="$(sed -n 4p "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
    if [[ -n "$running_port" && "$running_port" != "$PG_PORT" ]]; then
      die "postgres for $STACK_DIR is running on port $running_port, not $PG_PORT; run down first"
    fi
    pg_wait_ready
    pg_create_databases
    say "postgres already running on $HOST:$PG_PORT (data $PG_DATA)"
    return 0
  fi
  pg_init
  local data_version bin_version
  data_version="$(cat -- "$PG_DATA/PG_VERSION")"
  bin_version="$("$PG_BIN/postgres" --version | sed -E 's/^[^0-9]*([0-9]+).*/\1/')"
  if [[ "$data_version" != "$bin_version" ]]; then
    die "postgres data in $PG_DATA is version $data_version but binaries are $bin_version; reset the stack (down, then rm -rf $STACK_DIR)"
  fi
  pg_configure
  if port_in_use "$PG_PORT"; then
    die "port $HOST:$PG_PORT is already in use; set LABORCOOP_PG_PORT"
  fi
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 30 start >/dev/null ||
    die "postgres failed to start, see $PG_LOG"
  pg_wait_ready
  pg_create_databases
  say "postgres up on $HOST:$PG_PORT (data $PG_DATA)"
}

pg_status() {
  local pid
  if pid="$(pg_pid)"; then
    printf 'postgres: running on %s:%s (pid %s, data %s, log %s)\n' "$HOST" "$PG_PORT" "$pid" "$PG_DATA" "$PG_LOG"
  else
    printf 'postgres: stopped (port %s, data %s)\n' "$PG_PORT" "$PG_DATA"
  fi
}

# ---------------------------------------------------------------- kafka

kafka_pid() {
  # Prints the broker pid if the recorded process is alive and is our broker.
  local pid
  [[ -f "$KAFKA_PID_FILE" ]] || return 1
  pid="$(cat -- "$KAFKA_PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$KAFKA_CONFIG" || return 1
  printf '%s\n' "$pid"
}

kafka_libs_current() {
  [[ -f "$KAFKA_LIBS_MARKER" ]] &&
    [[ "$(cat -- "$KAFKA_LIBS_MARKER")" == "$(sha256sum <"$KAFKA_POM" | cut -d' ' -f1)" ]]
}

kafka_libs() {
  kafka_libs_current && return 0
  require_mvn
  local tmp="$KAFKA_DIR/libs.tmp" mvn_log="$KAFKA_DIR/mvn.log"
  say "fetching kafka jars with maven (first run takes about a minute)"
  rm -rf -- "$tmp"
  if ! mvn -q -B -f "$KAFKA_POM" dependency:copy-dependencies -DoutputDirectory="$tmp" >"$mvn_log" 2>&1; then
    die "maven could not resolve the kafka jars, see $mvn_log"
  fi
  sha256sum <"$KAFKA_POM" | cut -d' ' -f1 >"$tmp/.pom.sha256"
  rm -rf -- "$KAFKA_LIBS"
  mv -- "$tmp" "$KAFKA_LIBS"
}

kafka_configure() {
  write_if_changed "$KAFKA_CONFIG" "# generated by deploy/local/stack.sh on every up
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DATA
num.partitions=6
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.cleaner.dedupe.buffer.size=4194304"
  write_if_changed "$KAFKA_LOG4J" "# generated by deploy/local/stack.sh: WARN and above to kafka.log
status = warn
name = laborcoop-kafka
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $KAFKA_LOG
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.file.ref = FILE"
}

kafka_format() {
  [[ -f "$KAFKA_DATA/meta.properties" ]] && return 0
  local cluster_id
  if [[ ! -s "$KAFKA_CLUSTER_ID_FILE" ]]; then
    java -cp "$KAFKA_LIBS/*" -Dlog4j2.configurationFile="$KAFKA_LOG4J" kafka.tools.StorageTool random-uuid \
      >"$KAFKA_CLUSTER_ID_FILE.tmp" 2>"$KAFKA_DIR/format.log" ||
      die "could not generate a kafka cluster id, see $KAFKA_DIR/format.log"
    mv -f -- "$KAFKA_CLUSTER_ID_FILE.tmp" "$KAFKA_CLUSTER_ID_FILE"
  fi
  cluster_id="$(tr -d '[:space:]' <"$KAFKA_CLUSTER_ID_FILE")"
  mkdir -p -- "$KAFKA_DATA"
  java -cp "$KAFKA_LIBS/*" -Dlog4j2.configurationFile="$KAFKA_LOG4J" kafka.tools.StorageTool format \
    -t "$cluster_id" -c "$KAFKA_CONFIG" >>"$KAFKA_DIR/format.log" 2>&1 ||
    die "kafka storage format failed, see $KAFKA_DIR/format.log"
}

kafka_wait_ready() {
  local pid="$1"
  if ! "$PYTHON" "$SCRIPT_DIR/kafka_ready.py" "$HOST" "$KAFKA_PORT" --timeout 60 --pid "$pid" >/dev/null; then
    die "kafka did not become ready, see $KAFKA_STDOUT and $KAFKA_LOG"
  fi
}

# kafka_start [wait|nowait]: with "nowait" (what `up` passes) a broker that is already running is
# not probed: `make run` after a service crash then goes straight on to start that service, and
# the services' clients reconnect to the broker by themselves. A broker it starts is always
# waited for.
kafka_start() {
  local if_running="${1:-wait}"
  require_java
  require_python
  mkdir -p -- "$KAFKA_DIR"
  local pid
  if pid="$(kafka_pid)"; then
    [[ "$if_running" == nowait ]] || kafka_wait_ready "$pid"
    say "kafka already running on $HOST:$KAFKA_PORT (pid $pid)"
    return 0
  fi
  kafka_libs
  kafka_configure
  kafka_format
  local port
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if port_in_use "$port"; then
      die "port $HOST:$port is already in use; set LABORCOOP_KAFKA_PORT / LABORCOOP_KAFKA_CONTROLLER_PORT"
    fi
  done
  (
    cd -- "$KAFKA_DIR"
    nohup java -Xmx512m -Xms256m -XX:+UseG1GC -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$KAFKA_LOG4J" \
      -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_CONFIG" \
      >"$KAFKA_STDOUT" 2>&1 </dev/null &
    printf '%s\n' "$!" >"$KAFKA_PID_FILE"
  )
  pid="$(cat -- "$KAFKA_PID_FILE")"
  kafka_wait_ready "$pid"
  say "kafka up on $HOST:$KAFKA_PORT (pid $pid, data $KAFKA_DATA)"
}

kafka_stop() {
  local pid i
  if ! pid="$(kafka_pid)"; then
    rm -f -- "$KAFKA_PID_FILE"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 60; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    say "kafka did not stop within 30s, killed pid $pid"
  fi
  rm -f -- "$KAFKA_PID_FILE"
  say "kafka stopped"
}

kafka_status() {
  local pid
  if pid="$(kafka_pid)"; then
    printf 'kafka: running on %s:%s (pid %s, data %s, log %s)\n' "$HOST" "$KAFKA_PORT" "$pid" "$KAFKA_DATA" "$KAFKA_LOG"
  else
    printf 'kafka: stopped (port %s, data %s)\n' "$KAFKA_PORT" "$KAFKA_DATA"
  fi
}

# ---------------------------------------------------------------- main

usage() {
  printf 'usage: %s up|down|status|kafka-start|kafka-stop\n' "$0" >&2
  exit 2
}

main() {
  [[ $# -eq 1 ]] || usage
  case "$1" in
    up)
      require_postgres
      require_java
      require_python
      kafka_libs_current || require_mvn
      pg_up
      kafka_start nowait
      ;;
    down)
      kafka_stop
      pg_stop
      ;;
    status)
      pg_status
      kafka_status
      ;;
    kafka-start)
      kafka_start
      ;;
    kafka-stop)
      kafka_stop
      ;;
    *)
      usage
      ;;
  esac
}

main "$@"

#!/usr/bin/env bash
# Real backing services for Tanqory integration tests, on loopback only.
#
#   scripts/services.sh up      [SERVICE...]   install if missing, start, wait until ready
#   scripts/services.sh down    [SERVICE...]   stop (SIGTERM, deadline, then SIGKILL)
#   scripts/services.sh restart [SERVICE...]
#   scripts/services.sh status  [SERVICE...]   exit 0 if all listed are up, 1 otherwise
#   scripts/services.sh env                    export lines: eval "$(scripts/services.sh env)"
#   scripts/services.sh pid     SERVICE        pid of the service's main process
#   scripts/services.sh reset   [SERVICE...]   stop and delete the service's data (keeps binaries)
#
# SERVICE is one of: postgres ferretdb redis clickhouse kafka stripe-mock (default: all, in
# that order; stopped in reverse order).
# `up` with no SERVICE also installs Chromium (Debian's chromium, chromium-driver) when it
# is missing: the dashboard's browser test drives it.
#
# Everything (data, logs, pid files, jars, binaries) lives under
# ${TANQORY_SERVICES_DIR:-<repo>/.services}. Ports and credentials come from the same
# TANQORY_* variables the Python settings read (see `env`). If TANQORY_PYTHON (or
# <repo>/.venv/bin/python) has aiokafka / pymongo, readiness is checked with a real
# Kafka metadata request / MongoDB ping; otherwise with ports and log lines. stripe-mock
# (Stripe's mock of its API, built with `go install`) is ready when it answers an API request.
#
# Kafka version and how it is obtained: docs/adr/0001-kafka-version.md.
set -euo pipefail
# Under pipefail, `cmd | grep -q` fails at random: grep exits at its first match and cmd dies of
# SIGPIPE. The pipelines below let grep read everything (`grep ... >/dev/null`) instead.

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
SD="$(realpath -m "${TANQORY_SERVICES_DIR:-$REPO_ROOT/.services}")"

PG_PORT="${TANQORY_POSTGRES_PORT:-15432}"
PG_USER="${TANQORY_POSTGRES_USER:-tanqory}"
PG_PASSWORD="${TANQORY_POSTGRES_PASSWORD:-tanqory}"
PG_DB="${TANQORY_POSTGRES_DB:-tanqory}"
REDIS_PORT="${TANQORY_REDIS_PORT:-16379}"
CH_PORT="${TANQORY_CLICKHOUSE_PORT:-19000}"
CH_HTTP_PORT="${TANQORY_CLICKHOUSE_HTTP_PORT:-18123}"
CH_DB="${TANQORY_CLICKHOUSE_DB:-tanqory}"
KAFKA_PORT="${TANQORY_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${TANQORY_KAFKA_CONTROLLER_PORT:-19093}"
MONGO_PORT="${TANQORY_MONGO_PORT:-17017}"
MONGO_DB="${TANQORY_MONGO_DB:-tanqory}"
FERRETDB_DEBUG_ADDR="${TANQORY_FERRETDB_DEBUG_ADDR:--}" # "-" = no debug/metrics listener
STRIPE_MOCK_PORT="${TANQORY_STRIPE_MOCK_PORT:-12111}"
TIMEOUT="${TANQORY_SERVICES_TIMEOUT:-120}"                # seconds, per service readiness

FERRETDB_VERSION="v1.24.2"
FERRETDB_MODULE="github.com/FerretDB/FerretDB"
STRIPE_MOCK_VERSION="v0.203.0"
STRIPE_MOCK_MODULE="github.com/stripe/stripe-mock"
# Fixed KRaft cluster id (only used when the log dir is formatted the first time).
KAFKA_CLUSTER_ID="lr3wFt2eQqCDt2y2f91Z2w"
KAFKA_POM="$SCRIPT_DIR/kafka/pom.xml"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM" | head -n1)"

ALL_SERVICES=(postgres ferretdb redis clickhouse kafka stripe-mock)

# Paths --------------------------------------------------------------------------------
PG_BASE="$SD/postgres"            # may become a symlink, see pg_prepare_dirs
REDIS_DIR="$SD/redis"
CH_DIR="$SD/clickhouse"
KAFKA_DIR="$SD/kafka"
KAFKA_LIBS="$KAFKA_DIR/libs"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_LOGS="$KAFKA_DIR/logs"
KAFKA_CONF="$KAFKA_DIR/server.properties"
KAFKA_PIDFILE="$KAFKA_DIR/kafka.pid"
FDB_DIR="$SD/ferretdb"
FDB_BIN="$SD/bin/ferretdb"
FDB_PIDFILE="$FDB_DIR/ferretdb.pid"
SM_DIR="$SD/stripe-mock"
SM_BIN="$SD/bin/stripe-mock"
SM_PIDFILE="$SM_DIR/stripe-mock.pid"

# Helpers ------------------------------------------------------------------------------
die() { echo "services.sh: error: $*" >&2; exit 1; }
note() { echo "services.sh: $*" >&2; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
secs_since() { local ms=$(( $(now_ms) - $1 )); printf '%d.%ds' $((ms / 1000)) $(((ms % 1000) / 100)); }
is_root() { [ "$(id -u)" = 0 ]; }

# True if PID is a live (non-zombie) process.
alive() {
  local pid="$1" state
  [ -n "$pid" ] && [ "$pid" -gt 0 ] 2>/dev/null || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  state="$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)"
  [ "$state" != Z ] && [ -n "$state" ]
}

# True if PID is alive and its command line contains MARKER or its cwd is MARKER.
pid_is_ours() {
  local pid="$1" marker="$2"
  alive "$pid" || return 1
  if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -F -- "$marker" >/dev/null; then return 0; fi
  [ "$(readlink "/proc/$pid/cwd" 2>/dev/null || true)" = "$marker" ]
}

pidfile_pid() { if [ -s "$1" ]; then head -n1 "$1" | tr -dc '0-9'; fi; }

# Something listens on TCP PORT (asked from the socket table, so no connection is made and
# servers do not log "client sent no data"; falls back to connecting to 127.0.0.1:PORT).
port_open() {
  local out
  if command -v ss >/dev/null 2>&1 && out="$(ss -ltnH "sport = :$1" 2>/dev/null)"; then
    [ -n "$out" ]
  else
    timeout 2 bash -c ": </dev/tcp/127.0.0.1/$1" 2>/dev/null
  fi
}

port_owner() {
  command -v ss >/dev/null 2>&1 || return 0
  ss -ltnpH "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\(.*\)))/\1/p' | head -n1
}

require_port_free() { # NAME PORT
  if port_open "$2"; then
    local who; who="$(port_owner "$2")"
    die "$1: port $2 on 127.0.0.1 is already in use by another process${who:+ ($who)}," \
        "not by our $1 under $SD. Stop it or choose another port (see 'env' for the TANQORY_* variables)."
  fi
}

# wait_for DEADLINE_EPOCH_MS PID COMMAND...: poll COMMAND until it succeeds.
# Returns 1 on deadline, 2 if PID (when non-empty) died.
wait_for() {
  local deadline="$1" pid="$2"; shift 2
  while :; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [ -n "$pid" ] && ! alive "$pid"; then
      "$@" >/dev/null 2>&1 && return 0
      return 2
    fi
    [ "$(now_ms)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

fail_start() { # NAME LOGFILE REASON
  echo "services.sh: error: $1 did not become ready: $3" >&2
  if [ -f "$2" ]; then
    echo "---- last lines of $2 ----" >&2
    tail -n 40 "$2" >&2 || true
    echo "----" >&2
  fi
  exit 1
}

wait_result_reason() { case "$1" in 1) echo "timed out after ${TIMEOUT}s";; 2) echo "process exited";; *) echo "failed";; esac; }

report_ready() { printf '%-10s ready            %-22s %6s  pid %s\n' "$1" "$2" "$(secs_since "$3")" "$4"; }
report_running() { printf '%-10s already running  %-22s %6s  pid %s\n' "$1" "$2" "$(secs_since "$3")" "$4"; }

# SIGTERM, wait until DEADLINE seconds, then SIGKILL.
stop_pid() { # NAME PID SECONDS
  local name="$1" pid="$2" secs="$3" deadline
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$(( $(now_ms) + secs * 1000 ))
  while alive "$pid" && [ "$(now_ms)" -lt "$deadline" ]; do sleep 0.2; done
  if alive "$pid"; then
    note "$name (pid $pid) still running after ${secs}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$(( $(now_ms) + 10000 ))
    while alive "$pid" && [ "$(now_ms)" -lt "$deadline" ]; do sleep 0.1; done
    alive "$pid" && die "$name (pid $pid) survived SIGKILL"
  fi
  return 0
}

urlencode() {
  local s="$1" out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c="${s:i:1}"
    case "$c" in [a-zA-Z0-9.~_-]) out+="$c";; *) out+="$(printf '%%%02X' "'$c")";; esac
  done
  printf '%s' "$out"
}

# Python used for protocol-level readiness checks (optional).
PYTHON=""
find_python() {
  if [ -n "${TANQORY_PYTHON:-}" ]; then PYTHON="$TANQORY_PYTHON"
  elif [ -x "$REPO_ROOT/.venv/bin/python" ]; then PYTHON="$REPO_ROOT/.venv/bin/python"
  fi
}
python_has() { [ -n "$PYTHON" ] && "$PYTHON" -c "import $1" >/dev/null 2>&1; }

# Package installs (only when something is missing) ---------------------------------------
APT_UPDATED=0
apt_install() {
  is_root || die "missing packages ($*): run as root or install them: apt-get install $*"
  export DEBIAN_FRONTEND=noninteractive
  local opts=(-o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  local log="$SD/apt.log"
  mkdir -p "$SD"
  if [ "$APT_UPDATED" = 0 ]; then
    note "apt-get update (log: $log)"
    apt-get "${opts[@]}" update -qq >>"$log" 2>&1 || { tail -n 20 "$log" >&2; die "apt-get update failed"; }
    APT_UPDATED=1
  fi
  note "apt-get install $* (log: $log)"
  apt-get "${opts[@]}" install -y -qq --no-install-recommends "$@" >>"$log" 2>&1 \
    || { tail -n 30 "$log" >&2; die "apt-get install $* failed"; }
}

# The browser the dashboard's browser test drives (Playwright, executable_path): no service.
browser_install() {
  command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 && return 0
  apt_install chromium chromium-driver
}

# A Debian package may start its own system instance at install time; ours runs privately.
stop_package_service() {
  if command -v service >/dev/null 2>&1; then service "$1" stop >/dev/null 2>&1 || true; fi
}

# PostgreSQL -----------------------------------------------------------------------------
PG_BIN=""
pg_find_bin() {
  local v=""
  if [ -f "$PG_BASE/data/PG_VERSION" ]; then v="$(cat "$PG_BASE/data/PG_VERSION")"; fi
  if [ -n "$v" ] && [ -x "/usr/lib/postgresql/$v/bin/pg_ctl" ]; then PG_BIN="/usr/lib/postgresql/$v/bin"; return 0; fi
  if [ -x /usr/lib/postgresql/15/bin/pg_ctl ]; then PG_BIN=/usr/lib/postgresql/15/bin; return 0; fi
  v="$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -n | tail -n1 || true)"
  if [ -n "$v" ] && [ -x "/usr/lib/postgresql/$v/bin/pg_ctl" ]; then PG_BIN="/usr/lib/postgresql/$v/bin"; return 0; fi
  return 1
}
pg_install() {
  pg_find_bin && return 0
  apt_install postgresql
  stop_package_service postgresql
  pg_find_bin || die "PostgreSQL binaries not found after install"
}
# Run a command as the postgres OS user (initdb/postgres refuse to run as root).
as_pg() {
  if is_root; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}
pg_data() { echo "$(readlink -f "$PG_BASE")/data"; }
pg_pid() {
  local data pid; data="$(pg_data)"
  pid="$(pidfile_pid "$data/postmaster.pid")"
  pid_is_ours "$pid" "$data" && echo "$pid"
}
pg_prepare_dirs() {
  mkdir -p "$SD"
  [ -e "$PG_BASE" ] || mkdir -p "$PG_BASE"
  is_root || return 0
  id postgres >/dev/null 2>&1 || die "no 'postgres' system user (is the postgresql package installed?)"
  chown postgres:postgres "$(readlink -f "$PG_BASE")"
  if ! as_pg test -w "$(readlink -f "$PG_BASE")"; then
    # The postgres user cannot reach $SD (e.g. a repo under /root): keep the cluster in a
    # directory it can reach and point $SD/postgres at it.
    local alt; alt="/var/tmp/tanqory-services-$(printf '%s' "$SD" | cksum | cut -d' ' -f1)/postgres"
    note "postgres user cannot access $PG_BASE; using $alt (symlinked from $PG_BASE)"
    mkdir -p "$alt"; chmod 755 "$(dirname "$alt")"; chown postgres:postgres "$alt"
    if [ -d "$PG_BASE" ] && [ ! -L "$PG_BASE" ]; then rmdir "$PG_BASE" 2>/dev/null || die "$PG_BASE is not empty"; fi
    ln -sfn "$alt" "$PG_BASE"
  fi
}
pg_up() {
  local t0 pid data run log rc
  pg_install
  t0="$(now_ms)"  # readiness is timed from here: installing may take minutes
  data="$(pg_data)"
  if pid="$(pg_pid)"; then
    pg_setup_db
    report_running postgres "127.0.0.1:$PG_PORT" "$t0" "$pid"; return 0
  fi
  require_port_free postgres "$PG_PORT"
  pg_prepare_dirs
  data="$(pg_data)"; run="$(dirname "$data")/run"; log="$(dirname "$data")/postgres.log"
  if [ ! -f "$data/PG_VERSION" ]; then
    note "initdb $data"
    rm -rf "$data"
    as_pg "$PG_BIN/initdb" -D "$data" -U postgres -E UTF8 --locale=C \
      --auth-local=peer --auth-host=scram-sha-256 --no-instructions >"$(dirname "$data")/initdb.log" 2>&1 \
      || fail_start postgres "$(dirname "$data")/initdb.log" "initdb failed"
    echo "include_if_exists = 'tanqory.conf'" >>"$data/postgresql.conf"
  fi
  as_pg mkdir -p "$run"; as_pg chmod 700 "$run"
  # Rewritten on every start so port changes take effect. fsync=off: test data only
  # (a killed postgres loses nothing; only an OS crash could).
  cat >"$data/tanqory.conf" <<EOF
# written by scripts/services.sh
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$run'
max_connections = 500
fsync = off
password_encryption = 'scram-sha-256'
EOF
  is_root && chown postgres:postgres "$data/tanqory.conf"
  rm -f "$data/postmaster.pid" # stale (we checked it is not our running server)
  rc=0
  as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$log" -w -t "$TIMEOUT" start >/dev/null 9>&- || rc=$?
  [ "$rc" = 0 ] || fail_start postgres "$log" "pg_ctl start failed"
  rc=0; wait_for $(( $(now_ms) + TIMEOUT * 1000 )) "" "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" || rc=$?
  [ "$rc" = 0 ] || fail_start postgres "$log" "$(wait_result_reason "$rc")"
  pg_setup_db
  report_ready postgres "127.0.0.1:$PG_PORT" "$t0" "$(pg_pid)"
}
# Role + databases, idempotently; then prove password auth over TCP works.
PG_SETUP_DONE=0
pg_setup_db() {
  [ "$PG_SETUP_DONE" = 0 ] || return 0
  local run; run="$(dirname "$(pg_data)")/run"
  as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$run" -p "$PG_PORT" -U postgres -d postgres \
    -v u="$PG_USER" -v p="$PG_PASSWORD" -v db="$PG_DB" -v fdb=ferretdb >/dev/null <<'SQL' || die "postgres: creating role/databases failed"
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', :'u', :'p')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'u') \gexec
SELECT format('ALTER ROLE %I LOGIN CREATEDB PASSWORD %L', :'u', :'p') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'u')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'fdb', :'u')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'fdb') \gexec
SQL
  PGPASSWORD="$PG_PASSWORD" PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -q -At -h 127.0.0.1 -p "$PG_PORT" \
    -U "$PG_USER" -d "$PG_DB" -c 'SELECT 1' >/dev/null \
    || die "postgres: password login as $PG_USER over TCP on port $PG_PORT failed"
  PG_SETUP_DONE=1
}
pg_down() {
  local pid data
  pg_find_bin || true
  pid="$(pg_pid)" || { echo "postgres   not running"; return 0; }
  data="$(pg_data)"
  if [ -n "$PG_BIN" ]; then as_pg "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1 || true; fi
  stop_pid postgres "$pid" 30
  echo "postgres   stopped"
}
pg_status() { local pid; pid="$(pg_pid)" && port_open "$PG_PORT" && echo "$pid"; }

# FerretDB -------------------------------------------------------------------------------
find_go() {
  if command -v go >/dev/null 2>&1; then command -v go
  elif [ -x /usr/local/go/bin/go ]; then echo /usr/local/go/bin/go
  else return 1
  fi
}
ferretdb_ok() { [ -x "$1" ] && "$1" --version 2>/dev/null | grep "^version: $FERRETDB_VERSION\$" >/dev/null; }
ferretdb_install() {
  ferretdb_ok "$FDB_BIN" && return 0
  mkdir -p "$SD/bin"
  local pre
  for pre in "${TANQORY_FERRETDB_BIN:-}" /tmp/gobin/ferretdb; do
    if [ -n "$pre" ] && ferretdb_ok "$pre"; then
      cp "$pre" "$FDB_BIN.tmp" && mv "$FDB_BIN.tmp" "$FDB_BIN"; note "ferretdb: copied $pre"; return 0
    fi
  done
  local go; go="$(find_go)" || die "ferretdb: Go toolchain not found (need go >= 1.22 on PATH or /usr/local/go/bin/go)"
  # A plain `go install ...@version` binary panics at start: the module zip lacks the generated
  # build/version/version.txt. So: fetch the module, add version.txt, build from that copy.
  note "ferretdb: building $FERRETDB_MODULE@$FERRETDB_VERSION with $go (takes a minute or two)"
  local b; b="$(mktemp -d "$SD/bin/ferretdb-build.XXXXXX")"
  local dir
  dir="$(cd "$b" && GOFLAGS='' GOWORK=off "$go" mod download -json "$FERRETDB_MODULE@$FERRETDB_VERSION" \
          | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')" || true
  if [ -z "$dir" ] || [ ! -d "$dir" ]; then rm -rf "$b"; die "ferretdb: go mod download $FERRETDB_MODULE@$FERRETDB_VERSION failed"; fi
  cp -R "$dir" "$b/src"; chmod -R u+w "$b/src"
  echo "$FERRETDB_VERSION" >"$b/src/build/version/version.txt"
  (cd "$b/src" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false "$go" build -trimpath -o "$b/ferretdb" ./cmd/ferretdb) >&2 \
    || { rm -rf "$b"; die "ferretdb: go build failed"; }
  mv "$b/ferretdb" "$FDB_BIN"; rm -rf "$b"
  ferretdb_ok "$FDB_BIN" || die "ferretdb: built binary does not report $FERRETDB_VERSION"
}
fdb_pid() { local pid; pid="$(pidfile_pid "$FDB_PIDFILE")"; pid_is_ours "$pid" "--state-dir=$FDB_DIR/state" && echo "$pid"; }
MONGO_PING_PY='
import sys, time
try:
    import pymongo
except ImportError:
    sys.exit(3)
uri, deadline = sys.argv[1], time.monotonic() + float(sys.argv[2])
last = None
while time.monotonic() < deadline:
    try:
        with pymongo.MongoClient(uri, serverSelectionTimeoutMS=1000, connectTimeoutMS=1000) as c:
            c.admin.command("ping")
            sys.exit(0)
    except Exception as e:
        last = e
    time.sleep(0.2)
print(f"ping failed: {last!r}", file=sys.stderr)
sys.exit(1)
'
fdb_ready_check() { # PID T0MS
  local deadline=$(( $2 + TIMEOUT * 1000 )) rc=0
  wait_for "$deadline" "$1" port_open "$MONGO_PORT" || return $?
  if python_has pymongo; then
    "$PYTHON" -c "$MONGO_PING_PY" "mongodb://127.0.0.1:$MONGO_PORT/" $(( (deadline - $(now_ms)) / 1000 + 1 )) >&2 || rc=$?
    return "$rc"
  fi
}
fdb_up() {
  local t0 pid rc=0 url
  # FerretDB stores everything in PostgreSQL (database "ferretdb").
  if pg_pid >/dev/null; then pg_install; pg_setup_db; else pg_up; fi
  ferretdb_install
  t0="$(now_ms)"  # readiness is timed from here: building it may take minutes
  mkdir -p "$FDB_DIR/state"
  if pid="$(fdb_pid)"; then
    fdb_ready_check "$pid" "$t0" || fail_start ferretdb "$FDB_DIR/ferretdb.log" "$(wait_result_reason $?)"
    report_running ferretdb "127.0.0.1:$MONGO_PORT" "$t0" "$pid"; return 0
  fi
  require_port_free ferretdb "$MONGO_PORT"
  # pool_max_conns: FerretDB 1.24 takes its metadata lock, then waits for a pooled
  # connection, to drop a database or create a collection or index, while a query may hold
  # a connection and wait for that lock: with its default pool of 50 full, both wait
  # forever. PostgreSQL allows 500 connections (pg_up); the platform's own use is far less.
  url="postgres://$(urlencode "$PG_USER"):$(urlencode "$PG_PASSWORD")@127.0.0.1:$PG_PORT/ferretdb?pool_max_conns=300"
  setsid nohup "$FDB_BIN" --handler=postgresql --postgresql-url="$url" \
    --listen-addr="127.0.0.1:$MONGO_PORT" --state-dir="$FDB_DIR/state" --telemetry=disable \
    --debug-addr="$FERRETDB_DEBUG_ADDR" --log-level=info --log-format=text \
    >>"$FDB_DIR/ferretdb.log" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$FDB_PIDFILE"
  fdb_ready_check "$pid" "$t0" || rc=$?
  [ "$rc" = 0 ] || { stop_pid ferretdb "$pid" 5; fail_start ferretdb "$FDB_DIR/ferretdb.log" "$(wait_result_reason "$rc")"; }
  report_ready ferretdb "127.0.0.1:$MONGO_PORT" "$t0" "$pid"
}
fdb_down() {
  local pid
  pid="$(fdb_pid)" || { echo "ferretdb   not running"; rm -f "$FDB_PIDFILE"; return 0; }
  stop_pid ferretdb "$pid" 20; rm -f "$FDB_PIDFILE"
  echo "ferretdb   stopped"
}
fdb_status() { local pid; pid="$(fdb_pid)" && port_open "$MONGO_PORT" && echo "$pid"; }

# Redis ------------------------------------------------------------------------------------
redis_install() {
  command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 && return 0
  apt_install redis-server redis-tools
  stop_package_service redis-server
}
redis_pid() { local pid; pid="$(pidfile_pid "$REDIS_DIR/redis.pid")"; pid_is_ours "$pid" "$REDIS_DIR/data" && echo "$pid"; }
redis_ping() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }
redis_up() {
  local t0 pid rc=0
  redis_install
  t0="$(now_ms)"  # readiness is timed from here: installing may take minutes
  if pid="$(redis_pid)"; then
    wait_for $(( t0 + TIMEOUT * 1000 )) "$pid" redis_ping || fail_start redis "$REDIS_DIR/redis.log" "$(wait_result_reason $?)"
    report_running redis "127.0.0.1:$REDIS_PORT" "$t0" "$pid"; return 0
  fi
  require_port_free redis "$REDIS_PORT"
  mkdir -p "$REDIS_DIR/data"
  rm -f "$REDIS_DIR/redis.pid"
  cat >"$REDIS_DIR/redis.conf" <<EOF
# written by scripts/services.sh
bind 127.0.0.1
port $REDIS_PORT
protected-mode yes
daemonize yes
pidfile $REDIS_DIR/redis.pid
logfile $REDIS_DIR/redis.log
dir $REDIS_DIR/data
save ""
appendonly no
databases 16
EOF
  (cd "$REDIS_DIR/data" && redis-server "$REDIS_DIR/redis.conf") >>"$REDIS_DIR/redis.log" 2>&1 9>&- \
    || fail_start redis "$REDIS_DIR/redis.log" "redis-server failed to start"
  rc=0; wait_for $(( t0 + TIMEOUT * 1000 )) "" redis_pid || rc=$?
  [ "$rc" = 0 ] || fail_start redis "$REDIS_DIR/redis.log" "no pid file"
  pid="$(redis_pid)"
  wait_for $(( t0 + TIMEOUT * 1000 )) "$pid" redis_ping || rc=$?
  [ "$rc" = 0 ] || fail_start redis "$REDIS_DIR/redis.log" "$(wait_result_reason "$rc")"
  report_ready redis "127.0.0.1:$REDIS_PORT" "$t0" "$pid"
}
redis_down() {
  local pid
  pid="$(redis_pid)" || { echo "redis      not running"; return 0; }
  stop_pid redis "$pid" 20; rm -f "$REDIS_DIR/redis.pid"
  echo "redis      stopped"
}
redis_status() { local pid; pid="$(redis_pid)" && port_open "$REDIS_PORT" && echo "$pid"; }

# ClickHouse -------------------------------------------------------------------------------
CH_SERVER=""
ch_find() {
  CH_SERVER="$(command -v clickhouse-server 2>/dev/null || true)"
  [ -n "$CH_SERVER" ] || { [ -x /usr/sbin/clickhouse-server ] && CH_SERVER=/usr/sbin/clickhouse-server; }
  [ -n "$CH_SERVER" ] && command -v clickhouse-client >/dev/null 2>&1
}
ch_install() {
  ch_find && return 0
  apt_install clickhouse-server clickhouse-client
  stop_package_service clickhouse-server # the package's own instance (ports 9000/8123/9009)
  ch_find || die "clickhouse-server/clickhouse-client not found after install"
}
ch_pid() { local pid; pid="$(pidfile_pid "$CH_DIR/clickhouse.pid")"; pid_is_ours "$pid" "$CH_DIR/config.xml" && echo "$pid"; }
ch_query() { clickhouse-client --host 127.0.0.1 --port "$CH_PORT" -q "$1"; }
ch_ping() { [ "$(ch_query 'SELECT 1' 2>/dev/null)" = 1 ]; }
ch_up() {
  local t0 pid rc=0
  ch_install
  t0="$(now_ms)"  # readiness is timed from here: installing may take minutes
  if pid="$(ch_pid)"; then
    wait_for $(( t0 + TIMEOUT * 1000 )) "$pid" ch_ping || fail_start clickhouse "$CH_DIR/log/clickhouse-server.err.log" "$(wait_result_reason $?)"
    ch_query "CREATE DATABASE IF NOT EXISTS \`$CH_DB\`" || die "clickhouse: CREATE DATABASE $CH_DB failed"
    report_running clickhouse "127.0.0.1:$CH_PORT" "$t0" "$pid"; return 0
  fi
  require_port_free clickhouse "$CH_PORT"
  require_port_free clickhouse "$CH_HTTP_PORT"
  mkdir -p "$CH_DIR/data" "$CH_DIR/tmp" "$CH_DIR/user_files" "$CH_DIR/format_schemas" "$CH_DIR/log"
  rm -f "$CH_DIR/clickhouse.pid"
  # No interserver_http_port: replication is not used, so 9009 is never opened.
  cat >"$CH_DIR/config.xml" <<EOF
<?xml version="1.0"?>
<!-- written by scripts/services.sh -->
<yandex>
    <logger>
        <level>information</level>
        <log>$CH_DIR/log/clickhouse-server.log</log>
        <errorlog>$CH_DIR/log/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>3</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>$CH_HTTP_PORT</http_port>
    <tcp_port>$CH_PORT</tcp_port>
    <max_connections>1024</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <path>$CH_DIR/data/</path>
    <tmp_path>$CH_DIR/tmp/</tmp_path>
    <user_files_path>$CH_DIR/user_files/</user_files_path>
    <format_schema_path>$CH_DIR/format_schemas/</format_schema_path>
    <users_config>$CH_DIR/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
</yandex>
EOF
  cat >"$CH_DIR/users.xml" <<'EOF'
<?xml version="1.0"?>
<!-- written by scripts/services.sh -->
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <use_uncompressed_cache>0</use_uncompressed_cache>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks replace="replace">
                <ip>::1</ip>
                <ip>127.0.0.1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF
  (cd "$CH_DIR" && exec setsid nohup "$CH_SERVER" --config-file="$CH_DIR/config.xml" --pid-file="$CH_DIR/clickhouse.pid" \
    >>"$CH_DIR/log/stdout.log" 2>&1 </dev/null 9>&-) &
  pid=$!
  rc=0; wait_for $(( t0 + TIMEOUT * 1000 )) "$pid" ch_ping || rc=$?
  [ "$rc" = 0 ] || { stop_pid clickhouse "$pid" 10; fail_start clickhouse "$CH_DIR/log/clickhouse-server.err.log" "$(wait_result_reason "$rc")"; }
  [ -s "$CH_DIR/clickhouse.pid" ] || echo "$pid" >"$CH_DIR/clickhouse.pid"
  ch_query "CREATE DATABASE IF NOT EXISTS \`$CH_DB\`" || die "clickhouse: CREATE DATABASE $CH_DB failed"
  report_ready clickhouse "127.0.0.1:$CH_PORT" "$t0" "$(ch_pid || echo "$pid")"
}
ch_down() {
  local pid
  pid="$(ch_pid)" || { echo "clickhouse not running"; return 0; }
  stop_pid clickhouse "$pid" 30; rm -f "$CH_DIR/clickhouse.pid"
  echo "clickhouse stopped"
}
ch_status() { local pid; pid="$(ch_pid)" && port_open "$CH_PORT" && echo "$pid"; }

# Kafka ------------------------------------------------------------------------------------
JAVA=""
find_java() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then JAVA="$JAVA_HOME/bin/java"
  else JAVA="$(command -v java 2>/dev/null || true)"; fi
  [ -n "$JAVA" ] || return 1
  local v; v="$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)"
  [ -n "$v" ] && [ "$v" -ge 17 ]
}
kafka_libs_current() {
  [ -f "$KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar" ] &&
    [ "$(cat "$KAFKA_LIBS/.pom.sha256" 2>/dev/null)" = "$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)" ]
}
kafka_install() {
  find_java || { apt_install openjdk-17-jre-headless; find_java || die "kafka: need Java 17+"; }
  [ -n "$KAFKA_VERSION" ] || die "kafka: cannot read <kafka.version> from $KAFKA_POM"
  kafka_libs_current && return 0
  local stamp; stamp="$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)"
  command -v mvn >/dev/null 2>&1 || apt_install maven
  note "kafka: fetching kafka_2.13 $KAFKA_VERSION and its runtime dependencies with mvn"
  mkdir -p "$KAFKA_DIR"
  rm -rf "$KAFKA_LIBS.tmp"
  mvn -B -q -Dstyle.color=never -f "$KAFKA_POM" dependency:copy-dependencies \
    -DoutputDirectory="$KAFKA_LIBS.tmp" >"$KAFKA_DIR/mvn.log" 2>&1 \
    || { tail -n 30 "$KAFKA_DIR/mvn.log" >&2; die "kafka: mvn dependency:copy-dependencies failed (log: $KAFKA_DIR/mvn.log)"; }
  [ -f "$KAFKA_LIBS.tmp/kafka_2.13-$KAFKA_VERSION.jar" ] || die "kafka: kafka_2.13-$KAFKA_VERSION.jar missing after mvn"
  echo "$stamp" >"$KAFKA_LIBS.tmp/.pom.sha256"
  rm -rf "$KAFKA_LIBS"; mv "$KAFKA_LIBS.tmp" "$KAFKA_LIBS"
}
kafka_pid() { local pid; pid="$(pidfile_pid "$KAFKA_PIDFILE")"; pid_is_ours "$pid" "$KAFKA_CONF" && echo "$pid"; }
KAFKA_READY_PY='
import asyncio, logging, os, sys, time
try:
    from aiokafka import AIOKafkaClient
except ImportError:
    sys.exit(3)
logging.disable(logging.CRITICAL)
bootstrap, deadline, pid = sys.argv[1], time.monotonic() + float(sys.argv[2]), int(sys.argv[3])
async def main():
    last = None
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            print("broker process exited", file=sys.stderr)
            return 2
        client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
        try:
            await client.bootstrap()
            if client.cluster.brokers():
                return 0
            last = "metadata has no brokers yet"
        except Exception as e:
            last = e
        finally:
            await client.close()
        await asyncio.sleep(0.2)
    print(f"metadata request failed: {last!r}", file=sys.stderr)
    return 1
sys.exit(asyncio.run(main()))
'
kafka_log_started() { # OFFSET: the broker logged that it finished starting after byte OFFSET
  tail -c +"$(( $1 + 1 ))" "$KAFKA_LOGS/server.log" 2>/dev/null | grep -E 'Kafka Server started|\[KafkaRaftServer nodeId=[0-9]+\] Kafka Server started' >/dev/null
}
kafka_ready_check() { # PID T0MS LOGOFFSET(or empty when already running)
  local deadline=$(( $2 + TIMEOUT * 1000 )) rc=0
  wait_for "$deadline" "$1" port_open "$KAFKA_PORT" || return $?
  if python_has aiokafka; then
    "$PYTHON" -c "$KAFKA_READY_PY" "127.0.0.1:$KAFKA_PORT" $(( (deadline - $(now_ms)) / 1000 + 1 )) "$1" >&2 || rc=$?
    [ "$rc" = 3 ] || return "$rc"
  fi
  [ -z "$3" ] || wait_for "$deadline" "$1" kafka_log_started "$3"
}
kafka_up() {
  local t0 pid rc=0 offset
  t0="$(now_ms)"
  if pid="$(kafka_pid)"; then
    # Never swap jars under a running broker.
    kafka_libs_current || note "kafka: $KAFKA_POM changed; 'scripts/services.sh restart kafka' to use it"
    kafka_ready_check "$pid" "$t0" "" || fail_start kafka "$KAFKA_LOGS/server.log" "$(wait_result_reason $?)"
    report_running kafka "127.0.0.1:$KAFKA_PORT" "$t0" "$pid"; return 0
  fi
  require_port_free kafka "$KAFKA_PORT"
  require_port_free kafka "$KAFKA_CONTROLLER_PORT"
  kafka_install
  t0="$(now_ms)"  # readiness is timed from here: fetching its jars may take minutes
  mkdir -p "$KAFKA_DATA" "$KAFKA_LOGS"
  sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" -e "s|@KAFKA_CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
      -e "s|@KAFKA_LOG_DIRS@|$KAFKA_DATA|g" "$SCRIPT_DIR/kafka/server.properties" >"$KAFKA_CONF"
  local jvm=(-Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
             -XX:+ExplicitGCInvokesConcurrent -XX:-UsePerfData -Djava.awt.headless=true
             "-Dkafka.logs.dir=$KAFKA_LOGS" "-Dlog4j2.configurationFile=$SCRIPT_DIR/kafka/log4j2.properties")
  if [ ! -f "$KAFKA_DATA/meta.properties" ]; then
    note "kafka: formatting $KAFKA_DATA (cluster id $KAFKA_CLUSTER_ID)"
    "$JAVA" "${jvm[@]}" -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool format --ignore-formatted \
      --config "$KAFKA_CONF" --cluster-id "$KAFKA_CLUSTER_ID" >"$KAFKA_LOGS/storage-format.log" 2>&1 \
      || fail_start kafka "$KAFKA_LOGS/storage-format.log" "storage format failed"
  fi
  offset="$(stat -c %s "$KAFKA_LOGS/server.log" 2>/dev/null || echo 0)"
  (cd "$KAFKA_DIR" && exec setsid nohup "$JAVA" "${jvm[@]}" -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_CONF" \
    >>"$KAFKA_LOGS/kafka.out" 2>&1 </dev/null 9>&-) &
  pid=$!
  echo "$pid" >"$KAFKA_PIDFILE"
  rc=0; kafka_ready_check "$pid" "$t0" "$offset" || rc=$?
  [ "$rc" = 0 ] || { stop_pid kafka "$pid" 10; fail_start kafka "$KAFKA_LOGS/server.log" "$(wait_result_reason "$rc")"; }
  report_ready kafka "127.0.0.1:$KAFKA_PORT" "$t0" "$pid"
}
kafka_down() {
  local pid
  pid="$(kafka_pid)" || { echo "kafka      not running"; rm -f "$KAFKA_PIDFILE"; return 0; }
  stop_pid kafka "$pid" 60; rm -f "$KAFKA_PIDFILE"
  echo "kafka      stopped"
}
kafka_status() { local pid; pid="$(kafka_pid)" && port_open "$KAFKA_PORT" && echo "$pid"; }

# stripe-mock ------------------------------------------------------------------------------
# Stateless: every call answers from Stripe's OpenAPI fixtures (no idempotency, no webhooks).
sm_ok() { [ -x "$1" ] && "$(find_go)" version -m "$1" 2>/dev/null | grep -E "^[[:space:]]*mod[[:space:]]+$STRIPE_MOCK_MODULE[[:space:]]+$STRIPE_MOCK_VERSION([[:space:]]|\$)" >/dev/null; }
sm_install() {
  local go; go="$(find_go)" || die "stripe-mock: Go toolchain not found (need go on PATH or /usr/local/go/bin/go)"
  sm_ok "$SM_BIN" && return 0
  note "stripe-mock: go install $STRIPE_MOCK_MODULE@$STRIPE_MOCK_VERSION into $SD/bin (takes a minute)"
  mkdir -p "$SD/bin"
  GOBIN="$SD/bin" GOFLAGS=-buildvcs=false GOWORK=off CGO_ENABLED=0 \
    "$go" install "$STRIPE_MOCK_MODULE@$STRIPE_MOCK_VERSION" >&2 || die "stripe-mock: go install failed"
  sm_ok "$SM_BIN" || die "stripe-mock: installed binary is not $STRIPE_MOCK_MODULE@$STRIPE_MOCK_VERSION"
}
sm_pid() { local pid; pid="$(pidfile_pid "$SM_PIDFILE")"; pid_is_ours "$pid" "$SM_BIN" && echo "$pid"; }
sm_ping() {
  command -v curl >/dev/null 2>&1 || { port_open "$STRIPE_MOCK_PORT"; return; }
  curl -fsS -o /dev/null -m 2 -H 'Authorization: Bearer sk_test_tanqory' \
    "http://127.0.0.1:$STRIPE_MOCK_PORT/v1/payment_intents"
}
sm_up() {
  local t0 pid rc=0
  sm_install
  t0="$(now_ms)"  # readiness is timed from here: building it may take a minute
  if pid="$(sm_pid)"; then
    wait_for $(( t0 + TIMEOUT * 1000 )) "$pid" sm_ping || fail_start stripe-mock "$SM_DIR/stripe-mock.log" "$(wait_result_reason $?)"
    report_running stripe-mock "127.0.0.1:$STRIPE_MOCK_PORT" "$t0" "$pid"; return 0
  fi
  require_port_free stripe-mock "$STRIPE_MOCK_PORT"
  mkdir -p "$SM_DIR"
  # -http-addr alone leaves its HTTPS listener on the default [::]:12112; keep that one on a
  # free loopback port (the platform uses HTTP only).
  (cd "$SM_DIR" && exec setsid nohup "$SM_BIN" -http-addr "127.0.0.1:$STRIPE_MOCK_PORT" -https-addr 127.0.0.1:0 \
    >>"$SM_DIR/stripe-mock.log" 2>&1 </dev/null 9>&-) &
  pid=$!
  echo "$pid" >"$SM_PIDFILE"
  wait_for $(( t0 + TIMEOUT * 1000 )) "$pid" sm_ping || rc=$?
  [ "$rc" = 0 ] || { stop_pid stripe-mock "$pid" 5; fail_start stripe-mock "$SM_DIR/stripe-mock.log" "$(wait_result_reason "$rc")"; }
  report_ready stripe-mock "127.0.0.1:$STRIPE_MOCK_PORT" "$t0" "$pid"
}
sm_down() {
  local pid
  pid="$(sm_pid)" || { echo "stripe-mock not running"; rm -f "$SM_PIDFILE"; return 0; }
  stop_pid stripe-mock "$pid" 10; rm -f "$SM_PIDFILE"
  echo "stripe-mock stopped"
}
sm_status() { local pid; pid="$(sm_pid)" && port_open "$STRIPE_MOCK_PORT" && echo "$pid"; }

# Dispatch ---------------------------------------------------------------------------------
svc_port() {
  case "$1" in
    postgres) echo "$PG_PORT";; ferretdb) echo "$MONGO_PORT";; redis) echo "$REDIS_PORT";;
    clickhouse) echo "$CH_PORT";; kafka) echo "$KAFKA_PORT";; stripe-mock) echo "$STRIPE_MOCK_PORT";;
  esac
}
svc_fn() {
  case "$1" in
    postgres) echo pg;; ferretdb) echo fdb;; redis) echo redis;; clickhouse) echo ch;; kafka) echo kafka;;
    stripe-mock) echo sm;;
    *) die "unknown service '$1' (expected one of: ${ALL_SERVICES[*]})";;
  esac
}
svc_data_dirs() {
  case "$1" in
    postgres) echo "$(dirname "$(pg_data)")/data";; ferretdb) echo "$FDB_DIR/state";; redis) echo "$REDIS_DIR/data";;
    clickhouse) echo "$CH_DIR/data $CH_DIR/tmp";; kafka) echo "$KAFKA_DATA";;
    stripe-mock) ;; # keeps no data
  esac
}

SERVICES=()
select_services() { # resolve names (default all) into SERVICES in start order
  local s want=("$@")
  SERVICES=()
  if [ ${#want[@]} = 0 ]; then SERVICES=("${ALL_SERVICES[@]}"); return; fi
  for s in "${want[@]}"; do svc_fn "$s" >/dev/null; done
  for s in "${ALL_SERVICES[@]}"; do
    case " ${want[*]} " in *" $s "*) SERVICES+=("$s");; esac
  done
}

# Serialises up/down/restart/reset. fd 9 must never leak into a service process (every
# launch closes it with 9>&-), or the daemon would hold the lock for its whole life.
lock() {
  mkdir -p "$SD"
  exec 9>"$SD/.lock"
  command -v flock >/dev/null 2>&1 || return 0
  flock -n 9 && return 0
  note "waiting for another services.sh up/down to finish (lock $SD/.lock)"
  flock -w 900 9 || die "another services.sh up/down still holds $SD/.lock after 900s"
}

cmd_up() {
  local s t0; t0="$(now_ms)"
  select_services "$@"; lock; find_python
  [ $# -gt 0 ] || browser_install
  for s in "${SERVICES[@]}"; do "$(svc_fn "$s")_up"; done
  echo "all requested services ready in $(secs_since "$t0") (services dir: $SD)"
}
cmd_down() {
  local i s
  select_services "$@"; lock
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do s="${SERVICES[i]}"; "$(svc_fn "$s")_down"; done
}
cmd_status() {
  local s pid all=0
  select_services "$@"
  for s in "${SERVICES[@]}"; do
    if pid="$("$(svc_fn "$s")_status")"; then
      printf '%-10s up    127.0.0.1:%-6s pid %s\n' "$s" "$(svc_port "$s")" "$pid"
    else
      printf '%-10s down  127.0.0.1:%s\n' "$s" "$(svc_port "$s")"; all=1
    fi
  done
  return "$all"
}
cmd_pid() {
  [ $# = 1 ] || die "usage: $0 pid SERVICE"
  local pid
  pid="$("$(svc_fn "$1")_pid")" || { echo "services.sh: $1 is not running" >&2; return 1; }
  echo "$pid"
}
cmd_reset() {
  local s d
  select_services "$@"
  cmd_down "${SERVICES[@]}"
  for s in "${SERVICES[@]}"; do
    if [ "$s" = ferretdb ] && pg_pid >/dev/null && pg_find_bin; then
      # FerretDB keeps its documents in the PostgreSQL database "ferretdb".
      as_pg "$PG_BIN/psql" -X -q -h "$(dirname "$(pg_data)")/run" -p "$PG_PORT" -U postgres -d postgres \
        -c 'DROP DATABASE IF EXISTS ferretdb WITH (FORCE)' >/dev/null || die "postgres: dropping database ferretdb failed"
    fi
    for d in $(svc_data_dirs "$s"); do rm -rf "$d"; done
    [ "$s" != kafka ] || rm -f "$KAFKA_LOGS/server.log"*
    echo "$(printf '%-10s' "$s") data removed"
  done
}
cmd_env() {
  local kv
  for kv in \
    "TANQORY_POSTGRES_HOST=127.0.0.1" \
    "TANQORY_POSTGRES_PORT=$PG_PORT" \
    "TANQORY_POSTGRES_USER=$PG_USER" \
    "TANQORY_POSTGRES_PASSWORD=$PG_PASSWORD" \
    "TANQORY_POSTGRES_DB=$PG_DB" \
    "TANQORY_KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT" \
    "TANQORY_MONGO_URI=mongodb://127.0.0.1:$MONGO_PORT/" \
    "TANQORY_MONGO_DB=$MONGO_DB" \
    "TANQORY_CLICKHOUSE_HOST=127.0.0.1" \
    "TANQORY_CLICKHOUSE_PORT=$CH_PORT" \
    "TANQORY_CLICKHOUSE_DB=$CH_DB" \
    "TANQORY_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0" \
    "TANQORY_STRIPE_API_BASE=http://127.0.0.1:$STRIPE_MOCK_PORT"; do
    printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"
  done
}

usage() { sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

main() {
  local cmd="${1:-}"; [ $# -gt 0 ] && shift
  case "$cmd" in
    up) cmd_up "$@";;
    down|stop) cmd_down "$@";;
    restart) cmd_down "$@"; cmd_up "$@";;
    status) cmd_status "$@";;
    env) cmd_env;;
    pid) cmd_pid "$@";;
    reset) cmd_reset "$@";;
    -h|--help|help) usage;;
    *) usage >&2; exit 2;;
  esac
}

main "$@"

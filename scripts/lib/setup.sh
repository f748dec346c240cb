# shellcheck shell=bash
# Sourced by scripts/run, scripts/test, scripts/psql and .ci/run (via scripts/test).
# Provides ensure_packages (system packages + swift on PATH) and ensure_postgres
# (a private, per-checkout PostgreSQL cluster, or an external one via DATABASE_URL).
set -euo pipefail

# Repository root, from this file's location (scripts/lib/setup.sh); -P so the
# path (and the hash derived from it) is the same however the repo was reached.
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
STATE_DIR="$REPO/.switchyard"   # git-ignored; all local state lives here

die() { echo "setup: error: $*" >&2; exit 1; }
note() { echo "setup: $*" >&2; }

# Run a command as root: CI runs as root, a developer may be a sudoer.
as_root() {
  if ((EUID == 0)); then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root (or sudo) to run: $*"
  fi
}

# apt-get update takes the lists lock, which DPkg::Lock::Timeout does not cover,
# so retry while another apt holds it (bounded: ~10 minutes).
_apt_update() {
  local out i
  for ((i = 0; i < 120; i++)); do
    if out="$(as_root apt-get -o DPkg::Lock::Timeout=600 -qq update 2>&1)"; then return 0; fi
    grep -qi 'lock' <<<"$out" || { echo "$out" >&2; return 1; }
    sleep 5
  done
  echo "$out" >&2; return 1
}

# Install with apt-get whatever is missing; a second run only checks, no apt at all.
ensure_packages() {
  local missing=()
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
  command -v curl >/dev/null || missing+=(curl)
  command -v jq >/dev/null || missing+=(jq)
  # The data plane's TLS links OpenSSL 3 (headers and pkg-config file); the tests make certificates with openssl.
  [[ -e /usr/include/openssl/ssl.h ]] || missing+=(libssl-dev)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v pkg-config >/dev/null || missing+=(pkg-config)
  if ((${#missing[@]})); then
    command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get: install them by hand"
    note "installing ${missing[*]}"
    _apt_update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
      -y -qq --no-install-recommends install "${missing[@]}" >/dev/null
  fi
  # The toolchain lives in /opt/swift on our machines and is not always on PATH.
  if ! command -v swift >/dev/null && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
  fi
  command -v swift >/dev/null || die "swift not found (looked on PATH and in /opt/swift/usr/bin)"
}

# --- PostgreSQL ---------------------------------------------------------------

# The newest PostgreSQL server's binaries into PG_BIN (Debian: /usr/lib/postgresql/<major>/bin).
pg_server_bin() {
  PG_BIN="$(printf "%s\n" /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  [[ -x $PG_BIN/pg_ctl ]] || die "no PostgreSQL server in /usr/lib/postgresql/*/bin (run ensure_packages)"
}

# The system user that owns a cluster when root starts it (Debian's package creates postgres).
pg_ensure_system_user() {
  if ! id -u "$1" >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "$1"
  fi
}

# Run a PostgreSQL tool as the cluster's owner. initdb/postgres refuse to run as
# root, so root uses PG_USER via runuser; cd / because PG_USER may not be able to
# read the caller's working directory.
_pg_as_owner() {
  if ((EUID == 0)); then (cd / && runuser -u "$PG_USER" -- "$@")
  else "$@"
  fi
}

# Decide where data, socket and log live. Prefer .switchyard/ in the repo; fall
# back to /var/tmp (symlinked from .switchyard/) when PG_USER cannot traverse the
# repo path (e.g. a checkout under /root, mode 700) or the socket path would be
# longer than the 107-byte unix socket limit.
_pg_layout() {
  local owner="" sock_len reachable=1
  mkdir -p "$STATE_DIR"
  if [[ -L $STATE_DIR/pg ]]; then   # an earlier call chose /var/tmp: stick to it
    PG_BASE="$(dirname "$(readlink -m "$STATE_DIR/pg")")"
  else
    PG_BASE=""
  fi
  _pg_paths
  [[ -e $PG_DATA ]] && owner="$(stat -c %U "$PG_DATA")"

  if ((EUID == 0)); then
    # Reuse the owner of an existing cluster; otherwise Debian's postgres user.
    if [[ -n $owner && $owner != root ]]; then PG_USER="$owner"; else PG_USER=postgres; fi
    pg_ensure_system_user "$PG_USER"
    runuser -u "$PG_USER" -- test -x "$STATE_DIR" || reachable=0
  else
    PG_USER="$(id -un)"
  fi
  PG_GROUP="$(id -gn "$PG_USER")"
  if [[ -n $owner && $owner != "$PG_USER" ]]; then
    die "$PG_DATA belongs to '$owner', not '$PG_USER': run as that user, or stop it and remove $STATE_DIR/pg*"
  fi

  # Fresh checkout: switch to the /var/tmp layout if the in-repo one cannot work.
  sock_len=$((${#PG_SOCK} + ${#PG_PORT} + 11))   # 11 = "/.s.PGSQL."
  if [[ ! -e $PG_DATA && -z $PG_BASE ]] && ((!reachable || sock_len > 100)); then
    PG_BASE="/var/tmp/switchyard-pg-$(printf %s "$REPO" | sha256sum | cut -c1-12)"
    _pg_paths
    ln -sfn "$PG_DATA" "$STATE_DIR/pg"
    ln -sfn "$PG_LOG" "$STATE_DIR/pg.log"
  fi
  if [[ -n $PG_BASE ]]; then
    if [[ -e $PG_BASE || -L $PG_BASE ]]; then
      # /var/tmp is world-writable: refuse a directory that someone else made.
      [[ ! -L $PG_BASE && -d $PG_BASE && $(stat -c %U "$PG_BASE") == "$PG_USER" ]] ||
        die "$PG_BASE exists but is not a directory owned by $PG_USER"
    else
      install -d -m 755 -o "$PG_USER" -g "$PG_GROUP" "$PG_BASE"
    fi
  fi
}

# Data dir, socket dir and log: in .switchyard/ or, when PG_BASE is set, under it.
_pg_paths() {
  if [[ -n $PG_BASE ]]; then
    PG_DATA="$PG_BASE/data"; PG_SOCK="$PG_BASE/socket"; PG_LOG="$PG_BASE/pg.log"
  else
    PG_DATA="$STATE_DIR/pg"; PG_SOCK="$STATE_DIR/pg-socket"; PG_LOG="$STATE_DIR/pg.log"
  fi
}

# Is the postmaster named in postmaster.pid alive and serving PG_DATA? Stricter
# than `pg_ctl status`, which trusts any live process with that pid.
_pg_running() {
  local pid i
  pid="$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null)" || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  # A postmaster that just died stays a zombie until PID 1 reaps it (a second or
  # two here); postgres would refuse to start while it exists, so wait it out.
  for ((i = 0; i < 20; i++)); do
    [[ $(cut -d ')' -f 2 "/proc/$pid/stat" 2>/dev/null) == " Z"* ]] || break
    sleep 0.5
  done
  [[ $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") == *"$PG_DATA"* ]] && return 0
  # After a crash and reboot the pid may now belong to an unrelated process,
  # which would make postgres refuse to start: drop the stale file.
  if [[ -d /proc/$pid ]]; then rm -f "$PG_DATA/postmaster.pid"; fi
  return 1
}

# Create/start the cluster if needed. Runs under a lock so that concurrent
# callers (scripts/run and scripts/test at once) do not race on initdb/start.
_pg_start_locked() {
  local pid_port
  if [[ ! -s $PG_DATA/PG_VERSION ]]; then
    note "initializing PostgreSQL cluster in $PG_DATA"
    install -d -m 700 -o "$PG_USER" -g "$PG_GROUP" "$PG_DATA"
    local out
    # Superuser "postgres" over the (private) socket with trust; TCP needs a password.
    if ! out="$(_pg_as_owner "$PG_BIN/initdb" -D "$PG_DATA" --username=postgres \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --no-locale 2>&1)"; then
      echo "$out" >&2; die "initdb failed (remove $PG_DATA to retry)"
    fi
    echo "include_if_exists = 'switchyard.conf'" | _pg_as_owner tee -a "$PG_DATA/postgresql.conf" >/dev/null
  fi

  if _pg_running; then
    # Already running: just make sure it is the port the caller expects.
    pid_port="$(sed -n 4p "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
    [[ -z $pid_port || $pid_port == "$PG_PORT" ]] ||
      die "cluster in $PG_DATA already runs on port $pid_port, not $PG_PORT; stop it first: $PG_BIN/pg_ctl -D $PG_DATA stop (as $PG_USER)"
    return 0
  fi

  # Settings are rewritten on every start so that SWITCHYARD_PG_PORT changes apply.
  # fsync stays on: we measure real write latency.
  install -d -m 700 -o "$PG_USER" -g "$PG_GROUP" "$PG_SOCK"
  [[ -e $PG_LOG ]] || install -m 600 -o "$PG_USER" -g "$PG_GROUP" /dev/null "$PG_LOG"
  _pg_as_owner tee "$PG_DATA/switchyard.conf" >/dev/null <<EOF
# Written by scripts/lib/setup.sh on each start; edits here are overwritten.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK'
# Every test runs its own server with its own pool, and the suite runs its tests in parallel.
max_connections = 1000
fsync = on
EOF
  note "starting PostgreSQL on 127.0.0.1:$PG_PORT (log: $STATE_DIR/pg.log)"
  # 9>&- : the postmaster must not inherit the lock fd, or it would hold the lock forever.
  if ! _pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start >/dev/null 9>&-; then
    tail -n 30 "$PG_LOG" >&2 || true
    die "PostgreSQL failed to start (log above, full log: $PG_LOG)"
  fi
}

# Export DATABASE_URL: the caller's if set, otherwise a local cluster's.
ensure_postgres() {
  if [[ -n ${DATABASE_URL:-} ]]; then export DATABASE_URL; return 0; fi

  pg_server_bin
  export PATH="$PG_BIN:$PATH"   # psql/pg_isready matching the server
  PG_PORT="${SWITCHYARD_PG_PORT:-54329}"
  _pg_layout

  (
    flock -w 300 9 || die "timed out waiting for the lock $STATE_DIR/pg.lock"
    _pg_start_locked
  ) 9>"$STATE_DIR/pg.lock"

  local i
  for ((i = 0; i < 60; i++)); do
    pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && break
    sleep 0.5
  done
  if ! pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; then
    tail -n 30 "$PG_LOG" >&2 || true
    die "PostgreSQL on 127.0.0.1:$PG_PORT not ready after 30s (log above, full log: $PG_LOG)"
  fi

  # Role and database, idempotently. SUPERUSER: the tests create a database per test.
  _pg_as_owner psql -h "$PG_SOCK" -p "$PG_PORT" -U postgres -d postgres -qAtX -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
SELECT 'CREATE ROLE switchyard LOGIN SUPERUSER PASSWORD ''switchyard'''
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'switchyard') \gexec
SELECT 'CREATE DATABASE switchyard OWNER switchyard'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'switchyard') \gexec
SQL
  export DATABASE_URL="postgres://switchyard:switchyard@127.0.0.1:$PG_PORT/switchyard"
}

# --- Master key ---------------------------------------------------------------

# The key that encrypts certificates' private keys at rest: $SWITCHYARD_MASTER_KEY_FILE if set, else
# .switchyard/secrets/master-key, made on first use (32 random bytes as base64, mode 0600) and
# exported as SWITCHYARD_MASTER_KEY_FILE. Losing it loses every stored private key.
ensure_master_key() {
  local file="${SWITCHYARD_MASTER_KEY_FILE:-$STATE_DIR/secrets/master-key}"
  if [[ ! -e $file ]]; then
    mkdir -p "$(dirname "$file")"
    chmod 700 "$(dirname "$file")" 2>/dev/null || true
    (umask 077 && openssl rand -base64 32 >"$file")
    note "created the master key $file"
  fi
  export SWITCHYARD_MASTER_KEY_FILE="$file"
}

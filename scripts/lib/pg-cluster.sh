#!/usr/bin/env bash
# shellcheck shell=bash
# A replicated PostgreSQL cluster on loopback for tests of database role assignment:
# a primary (pg1) and two streaming replicas (pg2, pg3) made with pg_basebackup -R.
#
#   scripts/lib/pg-cluster.sh start DIR BASEPORT   # create (or restart) pg1..pg3 on BASEPORT, +1, +2
#   scripts/lib/pg-cluster.sh status DIR           # each member: port, running, primary or replica
#   scripts/lib/pg-cluster.sh stop DIR [--keep]    # stop every member; remove DIR unless --keep
#   scripts/lib/pg-cluster.sh stop-member DIR NAME # stop one member (a crashed primary, say)
#   scripts/lib/pg-cluster.sh start-member DIR NAME
#
# Sourced, it defines the same as functions (pg_cluster_start, pg_cluster_status, pg_cluster_stop,
# pg_cluster_stop_member, pg_cluster_start_member) and sets PG_CLUSTER_USER and PG_CLUSTER_PASSWORD.
# Every member accepts the superuser PG_CLUSTER_USER (default switchyard_dba, password
# PG_CLUSTER_PASSWORD, default switchyard_dba) over TCP on 127.0.0.1; replication uses the same role.
# Run as root, the servers run as the postgres user (PostgreSQL refuses root), so DIR must be
# reachable by that user (under /tmp or /var/tmp, not /root).

# shellcheck source=setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

PG_CLUSTER_USER="${PG_CLUSTER_USER:-switchyard_dba}"
PG_CLUSTER_PASSWORD="${PG_CLUSTER_PASSWORD:-switchyard_dba}"
PG_CLUSTER_MEMBERS=(pg1 pg2 pg3)

# The server binaries and the OS user that owns the data (setup.sh's _pg_as_owner runs as PG_USER).
_pg_cluster_env() {
  pg_server_bin
  if ((EUID == 0)); then
    PG_USER=postgres
    pg_ensure_system_user "$PG_USER"
  else
    PG_USER="$(id -un)"
  fi
  PG_GROUP="$(id -gn "$PG_USER")"
}

# The member's index (0, 1, 2) from its name.
_pg_cluster_index() {
  local i
  for i in "${!PG_CLUSTER_MEMBERS[@]}"; do
    [[ ${PG_CLUSTER_MEMBERS[$i]} == "$1" ]] && { echo "$i"; return 0; }
  done
  die "no member '$1' (members: ${PG_CLUSTER_MEMBERS[*]})"
}

# DIR as an absolute path, so that the running check and the passfile do not depend on the
# working directory.
_pg_cluster_dir() { # DIR
  [[ -d $1 ]] || die "$1 holds no cluster"
  (cd "$1" && pwd -P)
}

_pg_cluster_port() { # DIR NAME
  local base
  base="$(cat "$1/baseport" 2>/dev/null)" || die "$1 is not a cluster made by pg-cluster.sh (no baseport file)"
  echo $((base + $(_pg_cluster_index "$2")))
}

# psql as the cluster's superuser over TCP; the password comes from the passfile in DIR.
pg_cluster_psql() { # DIR NAME psql-args...
  local dir name="$2"
  dir="$(_pg_cluster_dir "$1")"
  shift 2
  [[ -n ${PG_BIN:-} ]] || pg_server_bin
  PGPASSFILE="$dir/pgpass" "$PG_BIN/psql" -h 127.0.0.1 -p "$(_pg_cluster_port "$dir" "$name")" \
    -U "$PG_CLUSTER_USER" -d postgres -qAtX -v ON_ERROR_STOP=1 "$@"
}

# Alive: the postmaster of postmaster.pid exists and serves this data directory.
_pg_cluster_running() { # DATA
  local pid
  pid="$(head -n 1 "$1/postmaster.pid" 2>/dev/null)" || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") == *"$1"* ]]
}

# Settings every member shares, rewritten on each start (the port may not change: the replicas'
# primary_conninfo names it). synchronous_standby_names only acts on a primary, so a promoted
# replica waits for one synchronous standby too, as the product expects.
_pg_cluster_write_conf() { # DIR NAME
  local data="$1/$2" port
  port="$(_pg_cluster_port "$1" "$2")"
  _pg_as_owner tee "$data/cluster.conf" >/dev/null <<EOF
# Written by scripts/lib/pg-cluster.sh on each start; edits here are overwritten.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = ''
max_connections = 50
shared_buffers = 16MB
wal_level = replica
hot_standby = on
max_wal_senders = 10
wal_keep_size = 64MB
wal_log_hints = on
synchronous_standby_names = 'ANY 1 (*)'
synchronous_commit = on
fsync = off
logging_collector = off
EOF
}

_pg_cluster_start_data() { # DIR NAME
  local data="$1/$2"
  _pg_cluster_running "$data" && return 0
  rm -f "$data/postmaster.pid"   # a stale file would make postgres refuse to start
  _pg_cluster_write_conf "$1" "$2"
  # 9>&- and friends: the postmaster must not keep a caller's lock or pipe open.
  if ! _pg_as_owner "$PG_BIN/pg_ctl" -D "$data" -l "$1/$2.log" -w -t 30 start >/dev/null 9>&-; then
    tail -n 20 "$1/$2.log" >&2 || true
    die "$2 failed to start (log: $1/$2.log)"
  fi
}

_pg_cluster_init_primary() { # DIR
  local dir="$1" out
  install -d -m 700 -o "$PG_USER" -g "$PG_GROUP" "$dir/pg1"
  # initdb reads the superuser's password from a file; it is the same as the passfile's.
  install -m 600 -o "$PG_USER" -g "$PG_GROUP" /dev/null "$dir/initdb-password"
  printf '%s\n' "$PG_CLUSTER_PASSWORD" >"$dir/initdb-password"
  if ! out="$(_pg_as_owner "$PG_BIN/initdb" -D "$dir/pg1" --username="$PG_CLUSTER_USER" \
      --pwfile="$dir/initdb-password" --auth-local=trust --auth-host=scram-sha-256 \
      --encoding=UTF8 --no-locale --no-sync 2>&1)"; then
    rm -f "$dir/initdb-password"
    echo "$out" >&2; die "initdb failed in $dir/pg1"
  fi
  rm -f "$dir/initdb-password"
  echo "include = 'cluster.conf'" | _pg_as_owner tee -a "$dir/pg1/postgresql.conf" >/dev/null
}

# A replica: a base backup of the primary with -R (standby.signal and primary_conninfo), whose
# application_name is the member's name so that pg_stat_replication and synchronous_standby_names
# can tell the replicas apart. The config files come with the backup, cluster.conf included.
_pg_cluster_init_replica() { # DIR NAME
  local dir="$1" name="$2" out
  install -d -m 700 -o "$PG_USER" -g "$PG_GROUP" "$dir/$name"
  if ! out="$(_pg_as_owner env PGPASSFILE="$dir/pgpass" "$PG_BIN/pg_basebackup" \
      -d "host=127.0.0.1 port=$(_pg_cluster_port "$dir" pg1) user=$PG_CLUSTER_USER application_name=$name passfile=$dir/pgpass" \
      -D "$dir/$name" -R -X stream --checkpoint=fast --no-sync 2>&1)"; then
    echo "$out" >&2; die "pg_basebackup of $name failed"
  fi
}

# Wait until the primary lists every running replica in pg_stat_replication as streaming.
_pg_cluster_wait_streaming() { # DIR PRIMARY WANT
  local i count=0
  for ((i = 0; i < 100; i++)); do
    count="$(pg_cluster_psql "$1" "$2" -c "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'" 2>/dev/null || echo 0)"
    ((count >= $3)) && return 0
    sleep 0.2
  done
  die "only $count of $3 replicas stream from $2 after 20 s (logs: $1/*.log)"
}

# Creates the cluster in DIR, or starts the members of an earlier one that are not running.
pg_cluster_start() { # DIR BASEPORT
  local dir="${1:?usage: start DIR BASEPORT}" baseport="${2:?usage: start DIR BASEPORT}" name
  [[ $baseport =~ ^[0-9]+$ ]] && ((baseport > 0 && baseport < 65534)) || die "bad BASEPORT '$baseport'"
  _pg_cluster_env
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd -P)"
  if [[ -e $dir/baseport ]]; then
    [[ $(cat "$dir/baseport") == "$baseport" ]] ||
      die "$dir was made with BASEPORT $(cat "$dir/baseport"); stop it (without --keep) to start afresh"
  else
    echo "$baseport" >"$dir/baseport"
  fi
  chown "$PG_USER:$PG_GROUP" "$dir"
  chmod 700 "$dir"
  if ((EUID == 0)) && ! runuser -u "$PG_USER" -- test -x "$dir"; then
    die "$PG_USER cannot reach $dir: use a directory under /tmp or /var/tmp"
  fi
  # The passfile is how every client of the cluster (psql, pg_basebackup, the replicas) logs in.
  install -m 600 -o "$PG_USER" -g "$PG_GROUP" /dev/null "$dir/pgpass"
  printf '127.0.0.1:*:*:%s:%s\n' "$PG_CLUSTER_USER" "$PG_CLUSTER_PASSWORD" >"$dir/pgpass"
  for name in "${PG_CLUSTER_MEMBERS[@]}"; do
    [[ -e $dir/$name.log ]] || install -m 600 -o "$PG_USER" -g "$PG_GROUP" /dev/null "$dir/$name.log"
  done

  [[ -s $dir/pg1/PG_VERSION ]] || _pg_cluster_init_primary "$dir"
  _pg_cluster_start_data "$dir" pg1
  for name in pg2 pg3; do
    if [[ ! -s $dir/$name/PG_VERSION ]]; then
      rm -rf "${dir:?}/$name"
      _pg_cluster_init_replica "$dir" "$name"
    fi
    _pg_cluster_start_data "$dir" "$name"
  done
  # A restarted cluster may have had a switchover: wait on whichever member is the primary now.
  # Two primaries (an old primary restarted as it was) are the caller's doing: no wait then.
  local primaries=()
  for name in "${PG_CLUSTER_MEMBERS[@]}"; do
    [[ $(pg_cluster_psql "$dir" "$name" -c 'SELECT pg_is_in_recovery()') == f ]] && primaries+=("$name")
  done
  ((${#primaries[@]} == 1)) && _pg_cluster_wait_streaming "$dir" "${primaries[0]}" 2
  for name in "${PG_CLUSTER_MEMBERS[@]}"; do
    echo "$name postgres://$PG_CLUSTER_USER:$PG_CLUSTER_PASSWORD@127.0.0.1:$(_pg_cluster_port "$dir" "$name")/postgres"
  done
}

pg_cluster_status() { # DIR
  local dir="${1:?usage: status DIR}" name role
  _pg_cluster_env
  dir="$(_pg_cluster_dir "$dir")"
  for name in "${PG_CLUSTER_MEMBERS[@]}"; do
    if ! _pg_cluster_running "$dir/$name"; then
      echo "$name port=$(_pg_cluster_port "$dir" "$name") stopped"
      continue
    fi
    role="$(pg_cluster_psql "$dir" "$name" -c "SELECT CASE WHEN pg_is_in_recovery() THEN 'replica' ELSE 'primary' END" 2>/dev/null || echo unreachable)"
    if [[ $role == primary ]]; then
      role="$role streaming=$(pg_cluster_psql "$dir" "$name" -c "SELECT coalesce(string_agg(application_name || ':' || sync_state, ',' ORDER BY application_name), '-') FROM pg_stat_replication WHERE state = 'streaming'")"
    fi
    echo "$name port=$(_pg_cluster_port "$dir" "$name") running $role"
  done
}

pg_cluster_stop_member() { # DIR NAME
  local dir="${1:?usage: stop-member DIR NAME}" name="${2:?usage: stop-member DIR NAME}"
  _pg_cluster_env
  dir="$(_pg_cluster_dir "$dir")"
  _pg_cluster_index "$name" >/dev/null
  _pg_cluster_running "$dir/$name" || return 0
  _pg_as_owner "$PG_BIN/pg_ctl" -D "$dir/$name" -m fast -w -t 30 stop >/dev/null
}

pg_cluster_start_member() { # DIR NAME
  local dir="${1:?usage: start-member DIR NAME}" name="${2:?usage: start-member DIR NAME}"
  _pg_cluster_env
  dir="$(_pg_cluster_dir "$dir")"
  _pg_cluster_index "$name" >/dev/null
  [[ -s $dir/$name/PG_VERSION ]] || die "$dir/$name holds no data directory"
  _pg_cluster_start_data "$dir" "$name"
}

# Stops every member; without --keep also removes DIR, so that the next start makes a new cluster.
pg_cluster_stop() { # DIR [--keep]
  local dir="${1:?usage: stop DIR [--keep]}" keep="${2:-}" name
  [[ -z $keep || $keep == --keep ]] || die "unknown option '$keep'"
  [[ -d $dir ]] || return 0
  _pg_cluster_env
  dir="$(_pg_cluster_dir "$dir")"
  for name in "${PG_CLUSTER_MEMBERS[@]}"; do
    if _pg_cluster_running "$dir/$name"; then
      # immediate without --keep: the data goes anyway, so skip the shutdown checkpoint.
      _pg_as_owner "$PG_BIN/pg_ctl" -D "$dir/$name" -m "$([[ -n $keep ]] && echo fast || echo immediate)" \
        -w -t 30 stop >/dev/null
    fi
  done
  if [[ -z $keep ]]; then
    [[ -e $dir/baseport ]] || die "$dir is not a cluster made by pg-cluster.sh (no baseport file); not removing it"
    rm -rf "$dir"
  fi
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  command="${1:-}"
  shift || true
  case "$command" in
    start) pg_cluster_start "$@" ;;
    status) pg_cluster_status "$@" ;;
    stop) pg_cluster_stop "$@" ;;
    stop-member) pg_cluster_stop_member "$@" ;;
    start-member) pg_cluster_start_member "$@" ;;
    *) die "usage: $0 start DIR BASEPORT | status DIR | stop DIR [--keep] | stop-member DIR NAME | start-member DIR NAME" ;;
  esac
fi

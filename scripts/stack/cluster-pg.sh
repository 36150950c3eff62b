# A streaming hot-standby replica of the local PostgreSQL (5432) on 5433 (service
# postgres-replica), for query-api's DATABASE_READ_URL. A physical replication slot on the primary
# keeps the WAL the replica has not received, so a stopped replica catches up when it starts.
# The primary is shared: it gets a replication role, a pg_hba line if it lacks one, a slot and a
# reload, never a restart. Sourced by scripts/stack/cluster.sh.
# shellcheck shell=bash

PG_REPLICA_PORT=5433
PG_REPLICA_CLUSTER=replica   # the Debian cluster <version>/replica
PG_REPLICA_SLOT=orders_replica
PG_REPLICA_APP=postgres-replica  # its application_name in pg_stat_replication
PG_REPL_USER=replicator
# Local development credentials, like orders/orders; the replica keeps them in its own
# postgresql.auto.conf (mode 0600, owner postgres), as pg_basebackup -R writes it.
PG_REPL_PASSWORD="${STACK_REPLICATION_PASSWORD:-replicator}"
# Settings a hot standby must have at least as high as its primary, or it refuses to start.
PG_REPLICA_COPIED=(max_connections max_worker_processes max_locks_per_transaction
  max_prepared_transactions max_wal_senders max_replication_slots)

pg_sql() { # port: runs the SQL on stdin as the postgres superuser, unaligned output
  (cd / && su postgres -c "psql -p $1 -qtAX -v ON_ERROR_STOP=1") 2>>"$CL_LOGS/postgres-replica.log"
}

pg_replica_datadir() { echo "/var/lib/postgresql/$(pg_version)/$PG_REPLICA_CLUSTER"; }
pg_replica_exists() { pg_lsclusters -h 2>/dev/null | awk -v v="$(pg_version)" -v c="$PG_REPLICA_CLUSTER" '$1 == v && $2 == c' | grep -q .; }

pg_primary_prepare() {
  port_open 5432 || die "the primary PostgreSQL (5432) is not running: scripts/stack.sh up"
  # wal_level, max_wal_senders and max_replication_slots need a restart of the primary to change:
  # refuse rather than restart a database other people use.
  local ok
  ok="$(pg_sql 5432 <<<"SELECT current_setting('wal_level') IN ('replica', 'logical')
      AND current_setting('max_wal_senders')::int >= 2
      AND (current_setting('max_replication_slots')::int > (SELECT count(*) FROM pg_replication_slots)
           OR EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = '$PG_REPLICA_SLOT'))")"
  [ "$ok" = t ] || die "the primary needs wal_level=replica, max_wal_senders >= 2 and a free replication slot (changing them restarts it: do that by hand)"
  pg_sql 5432 <<SQL >/dev/null || die "could not create the replication role (see $CL_LOGS/postgres-replica.log)"
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$PG_REPL_USER') THEN
    CREATE ROLE $PG_REPL_USER WITH REPLICATION LOGIN PASSWORD '${PG_REPL_PASSWORD//\'/\'\'}';
  END IF;
END \$\$;
SQL
  local rules hba
  rules="$(pg_sql 5432 <<<"SELECT count(*) FROM pg_hba_file_rules WHERE type = 'host' AND error IS NULL
      AND 'replication' = ANY(database) AND address = '127.0.0.1' AND user_name && ARRAY['all', '$PG_REPL_USER']")"
  if [ "$rules" = 0 ]; then
    hba="$(pg_sql 5432 <<<"SHOW hba_file")"
    log "allowing replication connections from 127.0.0.1 in $hba (reload, no restart)"
    printf 'host    replication     %s      127.0.0.1/32            scram-sha-256\n' "$PG_REPL_USER" >>"$hba"
    pg_sql 5432 <<<"SELECT pg_reload_conf()" >/dev/null
  fi
  # Reserved at once, so WAL from now on waits for the replica even before its first connection.
  pg_sql 5432 <<<"SELECT pg_create_physical_replication_slot('$PG_REPLICA_SLOT', true)
      WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = '$PG_REPLICA_SLOT')" >/dev/null
}

pg_replica_valid() { # a standby of this very primary (not of an earlier one on this machine)?
  pg_replica_exists || return 1
  local dir mine theirs; dir="$(pg_replica_datadir)"
  [ -f "$dir/standby.signal" ] || return 1
  mine="$("/usr/lib/postgresql/$(pg_version)/bin/pg_controldata" "$dir" 2>/dev/null | awk -F': *' '/system identifier/ {print $2}')"
  theirs="$(pg_sql 5432 <<<"SELECT system_identifier FROM pg_control_system()")"
  [ -n "$mine" ] && [ "$mine" = "$theirs" ]
}

pg_replica_build() { # a Debian cluster whose data dir is a base backup of the primary
  local v dir; v="$(pg_version)"; dir="$(pg_replica_datadir)"
  if ! pg_replica_exists; then
    log "creating the PostgreSQL cluster $v/$PG_REPLICA_CLUSTER on port $PG_REPLICA_PORT"
    # initdb's files are replaced by the base backup right away: no need to fsync them.
    pg_createcluster "$v" "$PG_REPLICA_CLUSTER" --port "$PG_REPLICA_PORT" --start-conf manual -- --no-sync \
      >>"$CL_LOGS/postgres-replica.log" 2>&1 || die "pg_createcluster failed (see $CL_LOGS/postgres-replica.log)"
  fi
  pg_ctlcluster "$v" "$PG_REPLICA_CLUSTER" stop -m fast >/dev/null 2>&1 || true
  log "base backup of the primary into $dir (slot $PG_REPLICA_SLOT)"
  find "$dir" -mindepth 1 -delete
  # The password goes through the environment, never a command line or a log. --no-sync: the
  # standby fsyncs its whole data dir when it first starts from the backup, once is enough.
  (cd / && PGPASSWORD="$PG_REPL_PASSWORD" su postgres -c "/usr/lib/postgresql/$v/bin/pg_basebackup \
    -d 'host=127.0.0.1 port=5432 user=$PG_REPL_USER application_name=$PG_REPLICA_APP' \
    -D '$dir' -R -S $PG_REPLICA_SLOT -X stream -c fast --no-sync") >>"$CL_LOGS/postgres-replica.log" 2>&1 ||
    die "pg_basebackup failed (see $CL_LOGS/postgres-replica.log)"
}

pg_replica_configure() { # standby settings in the Debian cluster's postgresql.conf
  local v name; v="$(pg_version)"
  pg_conftool "$v" "$PG_REPLICA_CLUSTER" set port "$PG_REPLICA_PORT"
  pg_conftool "$v" "$PG_REPLICA_CLUSTER" set listen_addresses localhost
  pg_conftool "$v" "$PG_REPLICA_CLUSTER" set hot_standby on
  # Long reads on the replica are not cancelled by vacuum on the primary.
  pg_conftool "$v" "$PG_REPLICA_CLUSTER" set hot_standby_feedback on
  for name in "${PG_REPLICA_COPIED[@]}"; do
    pg_conftool "$v" "$PG_REPLICA_CLUSTER" set "$name" "$(pg_sql 5432 <<<"SHOW $name")"
  done
}

pg_replica_streaming() {
  [ "$(pg_sql 5432 <<<"SELECT count(*) FROM pg_stat_replication
      WHERE application_name = '$PG_REPLICA_APP' AND state = 'streaming'")" = 1 ]
}

pg_replica_gone() { # after a SIGKILL: its children exit, and the dead postmaster must be reaped,
  # or the new one takes the pid in its lock files for a running server and refuses to start
  local f pid
  for f in "$(pg_replica_datadir)/postmaster.pid" "/var/run/postgresql/.s.PGSQL.$PG_REPLICA_PORT.lock"; do
    [ -f "$f" ] || continue
    pid="$(head -1 "$f")"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && return 1
  done
  ! pgrep -u postgres -f "postgres: $(pg_version)/$PG_REPLICA_CLUSTER:" >/dev/null
}

postgres_replica_start() {
  apt_install postgresql
  cluster_dirs
  pg_primary_prepare
  pg_replica_valid || pg_replica_build
  pg_replica_configure >/dev/null
  if ! port_open "$PG_REPLICA_PORT"; then
    wait_for "the end of the replica's previous processes" 30 pg_replica_gone
    log "starting postgres-replica (localhost:$PG_REPLICA_PORT)"
    pg_ctlcluster "$(pg_version)" "$PG_REPLICA_CLUSTER" start >>"$CL_LOGS/postgres-replica.log" 2>&1 ||
      die "the replica failed to start (see $CL_LOGS/postgres-replica.log and /var/log/postgresql/)"
  fi
  wait_for "postgres-replica listening" 60 port_open "$PG_REPLICA_PORT"
  wait_for "replica streaming from the primary" 120 pg_replica_streaming
}


postgres_replica_stop() {
  pg_replica_exists || return 0
  port_open "$PG_REPLICA_PORT" || return 0
  pg_ctlcluster "$(pg_version)" "$PG_REPLICA_CLUSTER" stop -m fast >>"$CL_LOGS/postgres-replica.log" 2>&1 || true
}

pg_replica_purge() { # drops the Debian cluster and, so the primary stops keeping WAL, the slot
  pg_replica_exists && pg_dropcluster "$(pg_version)" "$PG_REPLICA_CLUSTER" >>"$CL_LOGS/postgres-replica.log" 2>&1
  port_open 5432 || return 0
  wait_for "the replica's walsender gone" 30 pg_slot_inactive
  pg_sql 5432 <<<"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
      WHERE slot_name = '$PG_REPLICA_SLOT'" >/dev/null
}

pg_slot_inactive() {
  [ "$(pg_sql 5432 <<<"SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$PG_REPLICA_SLOT' AND active")" = 0 ]
}

postgres_replica_kill() { # the postmaster only; its children notice and exit, as after a crash
  sigkill_node postgres-replica "$CL/postgres-replica.nopid" "$PG_REPLICA_PORT"
}

pg_replica_status() {
  local rc=0 repl slot
  if port_open "$PG_REPLICA_PORT"; then
    printf '%-17s up    localhost:%s (in recovery: %s, replay paused: %s)\n' postgres-replica "$PG_REPLICA_PORT" \
      "$(pg_sql "$PG_REPLICA_PORT" <<<"SELECT pg_is_in_recovery()")" \
      "$(pg_sql "$PG_REPLICA_PORT" <<<"SELECT pg_get_wal_replay_pause_state()")"
  else printf '%-17s down  localhost:%s\n' postgres-replica "$PG_REPLICA_PORT"; rc=1; fi
  port_open 5432 || return 1
  repl="$(pg_sql 5432 <<<"SELECT format('state=%s lag_bytes=%s replay_lag=%s', state,
      pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), coalesce(replay_lag::text, '0'))
      FROM pg_stat_replication WHERE application_name = '$PG_REPLICA_APP'")"
  slot="$(pg_sql 5432 <<<"SELECT format('%s active=%s retained_wal=%s', slot_name, active,
      pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)))
      FROM pg_replication_slots WHERE slot_name = '$PG_REPLICA_SLOT'")"
  printf 'replica on 5432:  %s\n' "${repl:-not connected}"
  printf 'replication slot: %s\n' "${slot:-none}"
  [ -n "$repl" ] || rc=1
  return $rc
}

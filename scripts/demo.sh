#!/usr/bin/env bash
# `make demo`: a throwaway upstream with pgbench data, a container on a scratch btrfs,
# and what pgarchive shows about it. Everything is stopped and removed at the end
# (DEMO_KEEP=1 leaves it running and prints how to clean up). It fails unless the
# point-in-time clone holds exactly the rows committed before its target.
# PGARCHIVE_DEMO_BIN=/usr/bin/pgarchive runs it with that binary instead of a debug build
# (the package test does); DEMO_SCALE sets pgbench's scale (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
require_root "make demo"
install_packages
if [ -n "${PGARCHIVE_DEMO_BIN:-}" ]; then
    bin=$PGARCHIVE_DEMO_BIN
    [ -x "$bin" ] || die "PGARCHIVE_DEMO_BIN=$bin is not an executable"
else
    say "building pgarchive"
    swift build
    bin="$PWD/.build/debug/pgarchive"
fi
scale=${DEMO_SCALE:-10}
bindir=/usr/lib/postgresql/15/bin

work=$(mktemp -d /var/tmp/pgarchive-demo.XXXXXX)
chmod 0755 "$work"
upstream="$work/upstream"
cleanup() {
    if [ "${DEMO_KEEP:-0}" = 1 ]; then
        say "left running (DEMO_KEEP=1): container $work/mnt/demo, upstream $upstream"
        say "clean up: runuser -u $PGARCHIVE_USER -- $bin container purge --force -C $work/mnt/demo; runuser -u $PGARCHIVE_USER -- $bindir/pg_ctl -D $upstream/data stop; umount $work/mnt"
        return
    fi
    say "cleaning up"
    [ -f "$work/mnt/demo/pgarchive.conf" ] && as_user "$bin" container purge --force -C "$work/mnt/demo" || true
    [ -f "$upstream/data/postmaster.pid" ] && as_user "$bindir/pg_ctl" -D "$upstream/data" -m fast -w stop >/dev/null || true
    unmount_btrfs "$work"
    rm -rf "$work"
}
trap cleanup EXIT
mount_btrfs "$work" 4G

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
say "starting a throwaway upstream PostgreSQL 15 (port $port, socket in $upstream)"
install -d -o "$PGARCHIVE_USER" -m 0700 "$upstream"
as_user "$bindir/initdb" -D "$upstream/data" --auth=trust -U postgres --no-sync >/dev/null
cat >> "$upstream/data/postgresql.conf" <<CONF
port = $port
listen_addresses = ''
unix_socket_directories = '$upstream'
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
CONF
as_user "$bindir/pg_ctl" -D "$upstream/data" -l "$upstream/server.log" -w start >/dev/null
conninfo="host=$upstream port=$port user=postgres dbname=postgres"
say "loading pgbench data (scale $scale, $((scale * 100000)) rows)"
as_user "$bindir/pgbench" -i -q -s "$scale" -h "$upstream" -p "$port" postgres 2>&1 | tail -n 1

export PGARCHIVE="$work/mnt/demo"
say "pgarchive container init -C $PGARCHIVE --upstream '$conninfo'"
as_user env PGARCHIVE="$PGARCHIVE" "$bin" container init --upstream "$conninfo"

say "writing to the upstream for 5 seconds (pgbench) while pg_receivewal streams"
as_user "$bindir/pgbench" -n -T 5 -c 2 -h "$upstream" -p "$port" postgres 2>&1 | grep -E "^tps" || true

psql_up() { as_user "$bindir/psql" -X -q -At -h "$upstream" -p "$port" -d postgres "$@"; }
psql_up -c "CREATE TABLE demo_events (id int PRIMARY KEY, what text, at timestamptz DEFAULT clock_timestamp())"
psql_up -c "CHECKPOINT" -c "SELECT pg_switch_wal()" >/dev/null
sleep 2
say "pgarchive snapshot create   (a restartpoint on the standby, then a read-only btrfs snapshot)"
as_user env PGARCHIVE="$PGARCHIVE" "$bin" snapshot create
psql_up -c "INSERT INTO demo_events (id, what) VALUES (1, 'before the target'), (2, 'also before the target')"
sleep 1
target=$(psql_up -c "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
sleep 1
psql_up -c "INSERT INTO demo_events (id, what) VALUES (3, 'after the target: a mistake')" -c "DELETE FROM demo_events WHERE id = 1"
say "upstream now (row 1 deleted by mistake, row 3 added after the target time $target):"
psql_up -c "SELECT id, what FROM demo_events ORDER BY id"

say "pgarchive snapshot list"
as_user env PGARCHIVE="$PGARCHIVE" "$bin" snapshot list
say "pgarchive clone create before-mistake --time $target --start"
as_user env PGARCHIVE="$PGARCHIVE" "$bin" clone create before-mistake --time "$target" --start
say "the clone, recovered to $target and promoted, has rows 1 and 2 and not row 3:"
as_user env PGARCHIVE="$PGARCHIVE" "$bin" clone psql before-mistake -- -X -c "SELECT id, what FROM demo_events ORDER BY id" -c "SELECT pg_is_in_recovery() AS in_recovery"
rows=$(as_user env PGARCHIVE="$PGARCHIVE" "$bin" clone psql before-mistake -- -X -At -c "SELECT string_agg(id::text, ',' ORDER BY id) FROM demo_events" -c "SELECT pg_is_in_recovery()" | tr '\n' ' ')
[ "$rows" = "1,2 f " ] || die "the clone recovered to $target should hold rows 1,2 and be promoted (f); it shows: $rows"
say "pgarchive clone list --status"
as_user env PGARCHIVE="$PGARCHIVE" "$bin" clone list --status

say "pgarchive container status"
as_user env PGARCHIVE="$PGARCHIVE" "$bin" container status
say "pgarchive wal list (newest 3)"
as_user env PGARCHIVE="$PGARCHIVE" "$bin" wal list | tail -n 3
say "pgarchive status --all --root $work/mnt   (one line per container; exit code: the worst health)"
as_user "$bin" status --all --root "$work/mnt" || true

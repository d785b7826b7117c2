#!/usr/bin/env bash
# `make demo`: a throwaway upstream with pgbench data, a container on a scratch btrfs,
# and what pgarchive shows about it. Everything is stopped and removed at the end
# (DEMO_KEEP=1 leaves it running and prints how to clean up).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
require_root "make demo"
install_packages
say "building pgarchive"
swift build
bin="$PWD/.build/debug/pgarchive"
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
say "loading pgbench data (scale 10, 1 million rows)"
as_user "$bindir/pgbench" -i -q -s 10 -h "$upstream" -p "$port" postgres 2>&1 | tail -n 1

export PGARCHIVE="$work/mnt/demo"
say "pgarchive container init -C $PGARCHIVE --upstream '$conninfo'"
as_user env PGARCHIVE="$PGARCHIVE" "$bin" container init --upstream "$conninfo"

say "writing to the upstream for 5 seconds (pgbench), then inserting a marker row"
as_user "$bindir/pgbench" -n -T 5 -c 2 -h "$upstream" -p "$port" postgres 2>&1 | grep -E "^tps" || true
as_user "$bindir/psql" -X -q -h "$upstream" -p "$port" -d postgres \
    -c "CREATE TABLE demo_marker AS SELECT now() AS inserted_at" -c "SELECT pg_switch_wal()" >/dev/null
sleep 3
say "the standby replays it (query through the standby's socket in the container's run/):"
standby_port=$(sed -n "s/^standby_port = '\(.*\)'/\1/p" "$PGARCHIVE/pgarchive.conf")
as_user "$bindir/psql" -X -h "$PGARCHIVE/run" -p "$standby_port" -d postgres \
    -c "SELECT inserted_at AS marker_replayed_from_upstream, pg_is_in_recovery() AS standby_in_recovery FROM demo_marker"

say "pgarchive container status"
as_user env PGARCHIVE="$PGARCHIVE" "$bin" container status
say "pgarchive wal list (newest 5)"
as_user env PGARCHIVE="$PGARCHIVE" "$bin" wal list | tail -n 5
say "pgarchive wal du"
as_user env PGARCHIVE="$PGARCHIVE" "$bin" wal du

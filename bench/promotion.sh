#!/usr/bin/env bash
# Wall time of `clone create … --start` for two pgarchive binaries on one container, runs
# alternating, to measure a change of how clones end recovery (issue 16: pg_promote()
# instead of recovery_target_action = promote). As root:
#   BEFORE=/path/to/old/pgarchive AFTER=.build/debug/pgarchive RUNS=3 SCALE=10 bash bench/promotion.sh
# Prints one line per clone: binary, target, seconds, and how its server log says the
# end-of-recovery checkpoint ran.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
require_root "bench/promotion.sh"
before=${BEFORE:?BEFORE=path of the old binary}
after=${AFTER:-$PWD/.build/debug/pgarchive}
runs=${RUNS:-3}
scale=${SCALE:-10}
load=${LOAD_SECONDS:-20}
bindir=/usr/lib/postgresql/15/bin
work=$(mktemp -d /var/tmp/pgarchive-promotion.XXXXXX)
chmod 0755 "$work"
install -m 0755 "$before" "$work/pgarchive-before"
install -m 0755 "$after" "$work/pgarchive-after"
upstream="$work/upstream"
export PGARCHIVE="$work/mnt/c"
cleanup() {
    [ -f "$PGARCHIVE/pgarchive.conf" ] && as_user env PGARCHIVE="$PGARCHIVE" "$work/pgarchive-after" container purge --force >/dev/null 2>&1 || true
    [ -f "$upstream/data/postmaster.pid" ] && as_user "$bindir/pg_ctl" -D "$upstream/data" -m fast -w stop >/dev/null || true
    unmount_btrfs "$work"
    rm -rf "$work"
}
trap cleanup EXIT
mount_btrfs "$work" 6G
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
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
psql_up() { as_user "$bindir/psql" -X -q -At -h "$upstream" -p "$port" -d postgres "$@"; }
as_user "$bindir/pgbench" -i -q -s "$scale" -h "$upstream" -p "$port" postgres >/dev/null 2>&1
pa() { local b=$1; shift; as_user env PGARCHIVE="$PGARCHIVE" "$work/pgarchive-$b" "$@"; }
pa after container init --upstream "host=$upstream port=$port user=postgres dbname=postgres" >/dev/null 2>&1
pa after snapshot create >/dev/null 2>&1
say "pgbench for $load s after the snapshot (the WAL every clone replays)"
as_user "$bindir/pgbench" -n -T "$load" -c 2 -h "$upstream" -p "$port" postgres 2>&1 | grep -E "^tps" || true
target=$(psql_up -c "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
psql_up -c "CREATE TABLE after_target (id int)" -c "SELECT pg_switch_wal()" >/dev/null
sleep 3
n=0
for run in $(seq "$runs"); do
    for b in before after; do
        for kind in time latest; do
            n=$((n + 1))
            name="$b-$kind-$n"
            if [ $kind = time ]; then args=(--time "$target"); else args=(--latest); fi
            sync; (echo 3 > /proc/sys/vm/drop_caches) 2>/dev/null || true
            start=$(date +%s.%N)
            pa "$b" clone create "$name" "${args[@]}" --start >/dev/null 2>&1 || { echo "$name failed"; tail -20 "$PGARCHIVE/logs/clone_$name.log"; exit 1; }
            end=$(date +%s.%N)
            how=$(grep -o "checkpoint starting: [a-z -]*" "$PGARCHIVE/logs/clone_$name.log" | head -1)
            printf '%-6s %-6s %6.2f s  %s\n' "$b" "$kind" "$(awk "BEGIN { print $end - $start }")" "$how"
            pa after clone delete --force "$name" >/dev/null 2>&1
        done
    done
done

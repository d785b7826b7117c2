#!/usr/bin/env bash
# `make bench`: pgarchive side by side with pgBackRest on the SAME upstream, in one run.
# Per pgbench scale: one upstream PostgreSQL 15, pgbench data, a pgarchive container
# (on its own btrfs loop mount) and a pgBackRest stanza (repo on the normal disk), then
# CYCLES cycles of "update ~10% of pgbench_accounts, then snapshot / incremental backup",
# then storage and the time to a running restored server for both tools.
# Prints a Markdown table and writes bench/results/<UTC time>.json. See bench/README.md.
#
# Environment: SCALES (default "10 40"), CYCLES (default 7), PGBACKREST_COMPRESS_TYPE
# (default lz4), PGBACKREST_PROCESS_MAX (default nproc), BTRFS_SIZE (default 40G, sparse),
# DROP_CACHES (default 1: drop the page cache before each restore), BENCH_WORKDIR
# (default /var/tmp; must not be tmpfs or btrfs).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
require_root "make bench"

SCALES=${SCALES:-"10 40"}
CYCLES=${CYCLES:-7}
PGBACKREST_COMPRESS_TYPE=${PGBACKREST_COMPRESS_TYPE:-lz4}
PGBACKREST_PROCESS_MAX=${PGBACKREST_PROCESS_MAX:-$(nproc)}
BTRFS_SIZE=${BTRFS_SIZE:-40G}
DROP_CACHES=${DROP_CACHES:-1}
BENCH_WORKDIR=${BENCH_WORKDIR:-/var/tmp}
for s in $SCALES; do [[ "$s" =~ ^[1-9][0-9]*$ ]] || die "SCALES must be positive integers, got '$s'"; done
[[ "$CYCLES" =~ ^[1-9][0-9]*$ ]] || die "CYCLES must be a positive integer, got '$CYCLES'"

install_packages
# pgBackRest is the reference tool: only the bench needs it, so it is installed here.
if ! dpkg-query -W -f='${Status}' pgbackrest 2>/dev/null | grep -q "install ok installed"; then
    say "installing Debian package: pgbackrest"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pgbackrest >/dev/null
fi
say "building pgarchive"
# Build output goes to stderr: stdout carries only the table. One retry, for a source file
# edited while the build ran.
swift build >&2 || { sleep 5; swift build >&2; } || die "swift build failed"
bin="$PWD/.build/debug/pgarchive"
bindir=/usr/lib/postgresql/15/bin
as_user test -x "$bin" || die "user $PGARCHIVE_USER cannot run $bin (every parent directory needs o+x)"

fstype=$(findmnt -n -o FSTYPE -T "$BENCH_WORKDIR")
case "$fstype" in tmpfs|btrfs) die "BENCH_WORKDIR $BENCH_WORKDIR is on $fstype: the upstream and pgBackRest's repo must be on a normal disk";; esac

work=$(mktemp -d "$BENCH_WORKDIR/pgarchive-bench.XXXXXX")
chmod 0755 "$work"
meas="$work/measurements.tsv"   # scale <TAB> key <TAB> value
meta="$work/meta.tsv"           # key <TAB> value
: >"$meas"; : >"$meta"

# Stops and removes everything one scale started; idempotent, so the EXIT trap can call it
# for every scale directory whatever state a failure left it in.
teardown_scale() {
    local sdir=$1
    [ -d "$sdir" ] || return 0
    if [ -f "$sdir/pgbr-restore/postmaster.pid" ]; then
        as_user "$bindir/pg_ctl" -D "$sdir/pgbr-restore" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    if [ -f "$sdir/mnt/c/pgarchive.conf" ]; then
        # Needs the upstream running to drop the slot; --force deletes everything anyway.
        as_user "$bin" container purge --force -C "$sdir/mnt/c" >/dev/null 2>&1 || true
    fi
    if [ -f "$sdir/upstream/data/postmaster.pid" ]; then
        as_user "$bindir/pg_ctl" -D "$sdir/upstream/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    unmount_btrfs "$sdir"
    rm -rf "$sdir"   # pgBackRest's repo, spool, logs and restore target live here
}
cleanup() {
    local rc=$?
    if [ "$rc" != 0 ]; then
        # Keep the logs of a failed run: teardown deletes the container and the servers.
        local keep
        keep=$(mktemp -d "$BENCH_WORKDIR/pgarchive-bench-failed.XXXXXX")
        for sdir in "$work"/s*; do
            [ -d "$sdir" ] || continue
            mkdir -p "$keep/${sdir##*/}"
            cp -r "$sdir"/*.out "$sdir/upstream/server.log" "$sdir/pgbr-log" "$sdir/mnt/c/logs" "$keep/${sdir##*/}/" 2>/dev/null || true
        done
        say "logs of the failed run kept in $keep"
    fi
    say "cleaning up"
    for sdir in "$work"/s*; do teardown_scale "$sdir"; done
    rm -rf "$work"
    [ "$rc" = 0 ] || say "bench FAILED (exit $rc)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
rec() { printf '%s\t%s\t%s\n' "$scale" "$1" "$2" >>"$meas"; }
recmeta() { printf '%s\t%s\n' "$1" "$2" >>"$meta"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
drop_caches() {
    [ "$DROP_CACHES" = 1 ] || return 0
    sync
    echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || say "warning: could not drop the page cache"
}
# btrfs bytes in use: df after the cleaner has finished (DESIGN §3: `btrfs filesystem du` undercounts).
btrfs_used() {
    sync
    btrfs subvolume sync "$1" >/dev/null
    btrfs filesystem sync "$1" >/dev/null
    df -B1 --output=used "$1" | tail -n 1 | tr -d ' '
}
# wait_ready SOCKETDIR PORT: waits until pg_isready answers and the server is promoted
# (sets promoted_at), then until SELECT count(*) FROM pgbench_accounts succeeds (sets
# counted_at). The count reads the whole table, from a cold cache when DROP_CACHES=1.
wait_ready() {
    local host=$1 port=$2 deadline=$((SECONDS + 3600))
    until as_user "$bindir/pg_isready" -q -h "$host" -p "$port" \
        && [ "$(as_user "$bindir/psql" -X -At -h "$host" -p "$port" -d postgres -c "SELECT NOT pg_is_in_recovery()" 2>/dev/null)" = t ]; do
        [ $SECONDS -lt $deadline ] || die "server on $host port $port not promoted after an hour"
        sleep 0.05
    done
    promoted_at=$(now)
    until as_user "$bindir/psql" -X -At -h "$host" -p "$port" -d postgres -c "SELECT count(*) FROM pgbench_accounts" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || die "server on $host port $port: count(*) on pgbench_accounts failed for an hour"
        sleep 0.05
    done
    counted_at=$(now)
}
# verify WHO SOCKETDIR PORT: the restored server holds exactly the upstream's final state.
verify() {
    local who=$1 host=$2 port=$3 got
    got=$(as_user "$bindir/psql" -X -At -F ' ' -h "$host" -p "$port" -d postgres \
        -c "SELECT (SELECT count(*) FROM pgbench_accounts), (SELECT sum(abalance) FROM pgbench_accounts), (SELECT max(cycle) FROM bench_marker)")
    [ "$got" = "$expected" ] || die "$who restored the wrong state: got '$got' (count, sum(abalance), last marker), expected '$expected'"
    say "$who restore verified: count, sum(abalance), last marker = $got"
}

recmeta started_at "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
recmeta loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"

for scale in $SCALES; do
    sdir="$work/s$scale"
    mkdir -p "$sdir"; chmod 0755 "$sdir"
    say "scale $scale: btrfs loop mount for the pgarchive container ($BTRFS_SIZE sparse)"
    mount_btrfs "$sdir" "$BTRFS_SIZE"
    mnt="$sdir/mnt"
    baseline=$(btrfs_used "$mnt")
    rec btrfs_baseline_used_bytes "$baseline"

    upstream="$sdir/upstream"
    port=$(free_port)
    say "scale $scale: upstream PostgreSQL 15 on port $port (data on $fstype, $upstream)"
    install -d -o "$PGARCHIVE_USER" -m 0700 "$upstream"
    as_user "$bindir/initdb" -D "$upstream/data" --auth=trust -U postgres --no-sync >/dev/null
    cat >>"$upstream/data/postgresql.conf" <<CONF
port = $port
listen_addresses = ''
unix_socket_directories = '$upstream'
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
archive_mode = on
archive_command = '/bin/true'
# Vacuum runs inside each cycle instead (below): an autovacuum after the last backup
# writes ~a table's worth of WAL that both restores would then replay, and when it runs
# is luck.
autovacuum = off
CONF
    as_user "$bindir/pg_ctl" -D "$upstream/data" -l "$upstream/server.log" -w start >/dev/null
    psql_up() { as_user "$bindir/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$upstream" -p "$port" -d postgres "$@"; }
    conninfo="host=$upstream port=$port user=postgres dbname=postgres"

    say "scale $scale: pgbench -i -s $scale"
    t0=$(now)
    as_user "$bindir/pgbench" -i -q -s "$scale" -h "$upstream" -p "$port" postgres >/dev/null 2>&1
    rec pgbench_init_seconds "$(secs "$t0" "$(now)")"
    psql_up -c "CREATE TABLE bench_marker (cycle int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())" \
        -c "INSERT INTO bench_marker (cycle) VALUES (0)" -c "VACUUM ANALYZE" -c "CHECKPOINT"
    rec upstream_database_bytes "$(psql_up -c "SELECT pg_database_size('postgres')")"

    # pgBackRest: its own config, repo, spool, locks and logs under $sdir (normal disk).
    # The load's WAL went to /bin/true: neither tool keeps WAL from before its first backup.
    pgbr_cfg="$sdir/pgbackrest.conf"
    install -d -o "$PGARCHIVE_USER" -m 0750 "$sdir/pgbr-repo" "$sdir/pgbr-log" "$sdir/pgbr-lock" "$sdir/pgbr-spool" "$sdir/pgbr-conf.d"
    cat >"$pgbr_cfg" <<CONF
[global]
repo1-path=$sdir/pgbr-repo
repo1-retention-full=2
compress-type=$PGBACKREST_COMPRESS_TYPE
process-max=$PGBACKREST_PROCESS_MAX
start-fast=y
log-path=$sdir/pgbr-log
lock-path=$sdir/pgbr-lock
spool-path=$sdir/pgbr-spool
log-level-console=warn
log-level-file=info

[bench]
pg1-path=$upstream/data
pg1-port=$port
pg1-socket-path=$upstream
pg1-user=postgres
CONF
    chmod 0644 "$pgbr_cfg"
    pgbr() { as_user pgbackrest --config="$pgbr_cfg" --config-include-path="$sdir/pgbr-conf.d" --stanza=bench "$@"; }
    psql_up -c "ALTER SYSTEM SET archive_command = 'pgbackrest --config=$pgbr_cfg --config-include-path=$sdir/pgbr-conf.d --stanza=bench archive-push %p'" \
        -c "SELECT pg_reload_conf()" >/dev/null

    # The stanza must exist before pgarchive's base backup: with archive_mode on,
    # pg_basebackup --wal-method=none waits until its WAL is archived, i.e. forever while
    # archive-push fails.
    say "scale $scale: pgBackRest stanza-create and check"
    pgbr stanza-create
    pgbr check

    C="$mnt/c"
    say "scale $scale: pgarchive container init"
    t0=$(now)
    as_user "$bin" container init -C "$C" --upstream "$conninfo" >"$sdir/init.out" 2>&1 || { cat "$sdir/init.out" >&2; die "container init failed"; }
    rec pgarchive_init_seconds "$(secs "$t0" "$(now)")"
    standby_port=$(sed -n "s/^standby_port *= *'\{0,1\}\([0-9]*\).*/\1/p" "$C/pgarchive.conf")
    [ -n "$standby_port" ] || die "no standby_port in $C/pgarchive.conf"
    rec pgarchive_conf_compression "$(grep -E '^ *(btrfs_compression|wal_compression)' "$C/pgarchive.conf" | tr '\n' ';' || true)"
    rec pgarchive_btrfs_property_standby "$(btrfs property get "$C/standby" compression 2>/dev/null || echo none)"
    rec pgarchive_btrfs_property_wal_archive "$(btrfs property get "$C/wal_archive" compression 2>/dev/null || echo none)"

    t0=$(now)
    say "scale $scale: pgBackRest full backup (compress-type=$PGBACKREST_COMPRESS_TYPE, process-max=$PGBACKREST_PROCESS_MAX)"
    pgbr --type=full backup
    rec pgbackrest_full_backup_seconds "$(secs "$t0" "$(now)")"

    for k in $(seq 1 "$CYCLES"); do
        t0=$(now)
        psql_up -c "UPDATE pgbench_accounts SET abalance = abalance + $k WHERE aid % 10 = $((k % 10))" \
            -c "INSERT INTO bench_marker (cycle) VALUES ($k)" -c "VACUUM pgbench_accounts"
        rec "update_seconds.$k" "$(secs "$t0" "$(now)")"

        # pgarchive: a restartpoint needs an upstream checkpoint the standby has replayed,
        # and the standby replays complete segments only: checkpoint, switch, wait, snapshot.
        t0=$(now)
        psql_up -c "CHECKPOINT"
        lsn=$(psql_up -c "SELECT pg_current_wal_lsn()")
        psql_up -c "SELECT pg_switch_wal()" >/dev/null
        deadline=$((SECONDS + 600))
        until [ "$(as_user "$bindir/psql" -X -At -h "$C/run" -p "$standby_port" -d postgres \
                -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn" 2>/dev/null)" = t ]; do
            [ $SECONDS -lt $deadline ] || die "standby did not replay $lsn within 10 minutes"
            sleep 0.1
        done
        t1=$(now)
        as_user "$bin" snapshot create -C "$C" >"$sdir/snapshot.$k.out" 2>&1 || { cat "$sdir/snapshot.$k.out" >&2; die "snapshot create failed"; }
        t2=$(now)
        rec "pgarchive_wait_replay_seconds.$k" "$(secs "$t0" "$t1")"
        rec "pgarchive_snapshot_create_seconds.$k" "$(secs "$t1" "$t2")"
        rec "pgarchive_cycle_seconds.$k" "$(secs "$t0" "$t2")"

        t0=$(now)
        pgbr --type=incr backup
        rec "pgbackrest_incr_backup_seconds.$k" "$(secs "$t0" "$(now)")"
        say "scale $scale: cycle $k/$CYCLES done"
    done
    nsnap=$(find "$C/snapshots" -mindepth 1 -maxdepth 1 -type d ! -name '.*' | wc -l)
    rec pgarchive_snapshots "$nsnap"
    [ "$nsnap" -ge $((CYCLES + 1)) ] || die "expected $((CYCLES + 1)) snapshots (init + $CYCLES cycles), found $nsnap"
    rec pgbackrest_backups "$(pgbr info --output=json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[0]["backup"]))')"
    expected=$(psql_up -F ' ' -c "SELECT (SELECT count(*) FROM pgbench_accounts), (SELECT sum(abalance) FROM pgbench_accounts), (SELECT max(cycle) FROM bench_marker)")
    rec expected_state "$expected"

    say "scale $scale: storage"
    used=$(btrfs_used "$mnt")
    rec pgarchive_df_used_bytes "$used"
    rec pgarchive_bytes "$((used - baseline))"
    rec pgarchive_wal_archive_bytes "$(as_user "$bin" container status --json -C "$C" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("walArchiveBytes",""))' || true)"
    t0=$(now)
    as_user "$bin" cron compress-wal -C "$C" >"$sdir/compress.out" 2>&1 || { cat "$sdir/compress.out" >&2; die "cron compress-wal failed"; }
    rec pgarchive_compress_wal_seconds "$(secs "$t0" "$(now)")"
    used=$(btrfs_used "$mnt")
    rec pgarchive_compressed_df_used_bytes "$used"
    rec pgarchive_compressed_bytes "$((used - baseline))"
    rec pgarchive_compressed_wal_archive_bytes "$(as_user "$bin" container status --json -C "$C" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("walArchiveBytes",""))' || true)"
    rec pgbackrest_bytes "$(du -sb "$sdir/pgbr-repo" | cut -f1)"
    rec pgbackrest_allocated_bytes "$(du -s -B1 "$sdir/pgbr-repo" | cut -f1)"
    rec pgbackrest_backup_bytes "$(du -sb "$sdir/pgbr-repo/backup" | cut -f1)"
    rec pgbackrest_archive_bytes "$(du -sb "$sdir/pgbr-repo/archive" | cut -f1)"

    say "scale $scale: pgarchive restore (clone create --latest --start)"
    drop_caches
    t0=$(now)
    as_user "$bin" clone create latest --latest --start -C "$C" >"$sdir/clone.out" 2>&1 || { cat "$sdir/clone.out" >&2; die "clone create failed"; }
    t1=$(now)
    cport=$(as_user "$bin" clone list --json -C "$C" | python3 -c '
import json, sys
d = json.load(sys.stdin)
clones = d if isinstance(d, list) else d.get("clones", [])
print(next(c["port"] for c in clones if c["name"] == "latest"))')
    wait_ready "$C/run" "$cport"
    rec pgarchive_restore_seconds "$(secs "$t0" "$counted_at")"
    rec pgarchive_restore_to_promoted_seconds "$(secs "$t0" "$promoted_at")"
    rec pgarchive_clone_create_start_seconds "$(secs "$t0" "$t1")"
    verify pgarchive "$C/run" "$cport"
    # Where the time went, for the reader of the JSON: pgarchive's own output and the
    # recovery milestones from the clone's server log.
    rec pgarchive_clone_create_output "$(tr '\n' '|' <"$sdir/clone.out")"
    rec pgarchive_clone_server_log "$(grep -hE 'redo (starts|done)|selected new timeline|checkpoint (starting|complete)|ready to accept|consistent recovery' "$C/logs/clone_latest.log" 2>/dev/null | tr '\n' '|' || true)"
    as_user "$bin" clone stop latest -C "$C" >/dev/null 2>&1 || true

    say "scale $scale: pgBackRest restore into an empty directory + pg_ctl start"
    rdir="$sdir/pgbr-restore"; rsock="$sdir/pgbr-restore-sock"
    install -d -o "$PGARCHIVE_USER" -m 0700 "$rdir" "$rsock"
    rport=$(free_port)
    drop_caches
    t0=$(now)
    pgbr --pg1-path="$rdir" --archive-mode=off restore
    t1=$(now)
    as_user "$bindir/pg_ctl" -D "$rdir" -l "$sdir/pgbr-log/restored-server.log" -w -t 3600 \
        -o "-c port=$rport -c listen_addresses='' -c unix_socket_directories='$rsock'" start >/dev/null
    wait_ready "$rsock" "$rport"
    rec pgbackrest_restore_seconds "$(secs "$t0" "$counted_at")"
    rec pgbackrest_restore_to_promoted_seconds "$(secs "$t0" "$promoted_at")"
    rec pgbackrest_restore_command_seconds "$(secs "$t0" "$t1")"
    verify pgBackRest "$rsock" "$rport"
    rec pgbackrest_restored_server_log "$(grep -hE 'redo (starts|done)|selected new timeline|checkpoint (starting|complete)|ready to accept|consistent recovery' "$sdir/pgbr-log/restored-server.log" 2>/dev/null | tr '\n' '|' || true)"

    say "scale $scale: tearing down"
    teardown_scale "$sdir"
done

recmeta finished_at "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
recmeta loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)"
recmeta nproc "$(nproc)"
recmeta memory_bytes "$(awk '/^MemTotal:/ { printf "%.0f", $2 * 1024 }' /proc/meminfo)"
recmeta kernel "$(uname -r)"
recmeta cpu_model "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
src=$(findmnt -n -o SOURCE -T "$BENCH_WORKDIR")
recmeta workdir_disk "$BENCH_WORKDIR on $src ($fstype), $(lsblk -ndo SIZE,ROTA,MODEL "$src" 2>/dev/null | awk '{ printf "size %s, rotational %s, model %s", $1, $2, ($3 == "" ? "n/a" : $3) }')"
recmeta postgresql_version "$("$bindir/postgres" --version)"
recmeta pgbackrest_version "$(pgbackrest version)"
recmeta pgarchive_version "$("$bin" --version)"
recmeta pgarchive_commit "$(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- Sources Package.swift 2>/dev/null || echo ' (with uncommitted changes)')"
recmeta btrfs_progs_version "$(btrfs --version | head -n 1)"
recmeta scales "$SCALES"
recmeta cycles "$CYCLES"
recmeta pgbackrest_compress_type "$PGBACKREST_COMPRESS_TYPE"
recmeta pgbackrest_process_max "$PGBACKREST_PROCESS_MAX"
recmeta pgarchive_settings "container init defaults (MANUAL: btrfs_compression zstd, wal_compression zstd); see pgarchive_conf_compression and pgarchive_btrfs_property_* per scale"
recmeta drop_caches "$DROP_CACHES"
recmeta btrfs_size "$BTRFS_SIZE"

mkdir -p bench/results
out="bench/results/$(date -u +%Y-%m-%dT%H-%M-%SZ).json"
python3 bench/report.py "$meta" "$meas" "$out"
say "raw measurements written to $out"

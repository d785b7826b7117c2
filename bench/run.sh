#!/usr/bin/env bash
# `make bench`: pgarchive side by side with pgBackRest on the SAME upstream, in one run.
# Per pgbench scale: one upstream PostgreSQL 15, pgbench data, a pgarchive container (on its
# own btrfs loop mount) and a pgBackRest stanza (repo on the normal disk); CYCLES cycles of
# "update ~10% of the rows, then snapshot / incremental backup" (with the bytes each tool's
# backup read on the upstream); storage, compress-wal vs gzip; the time to a running restored
# server at the latest state; WAL ingest (pgbench TPS with and without pg_receivewal, lag);
# a restore to a point in time 60 s after the last snapshot / backup; operator latency with
# 500 snapshots. Then once more the cycles and storage on a less compressible data set (md5
# text). Prints Markdown tables and writes bench/results/<UTC time>.json. See bench/README.md.
#
# Environment: SCALES (default "10 40"), CYCLES (default 7), MD5_MB (size of the md5 data
# set, default 160; 0 skips it), INGEST_SECONDS (default 30), LATENCY_RUNS (default 11),
# LATENCY_SNAPSHOTS (default 500), GZIP_SAMPLE_SEGMENTS (default 16),
# PGBACKREST_COMPRESS_TYPE (default lz4), PGBACKREST_PROCESS_MAX (default nproc), BTRFS_SIZE
# (default 40G, sparse), DROP_CACHES (default 1: drop the page cache before each pgBackRest
# backup and each restore), BENCH_WORKDIR (default /var/tmp; must not be tmpfs or btrfs),
# BUILD_CONFIG (default release: the pgarchive build measured; or debug).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
require_root "make bench"

SCALES=${SCALES:-"10 40"}
CYCLES=${CYCLES:-7}
MD5_MB=${MD5_MB:-160}
INGEST_SECONDS=${INGEST_SECONDS:-30}
LATENCY_RUNS=${LATENCY_RUNS:-11}
LATENCY_SNAPSHOTS=${LATENCY_SNAPSHOTS:-500}
GZIP_SAMPLE_SEGMENTS=${GZIP_SAMPLE_SEGMENTS:-16}
PITR_AFTER_SECONDS=60
PGBACKREST_COMPRESS_TYPE=${PGBACKREST_COMPRESS_TYPE:-lz4}
PGBACKREST_PROCESS_MAX=${PGBACKREST_PROCESS_MAX:-$(nproc)}
BTRFS_SIZE=${BTRFS_SIZE:-40G}
DROP_CACHES=${DROP_CACHES:-1}
BENCH_WORKDIR=${BENCH_WORKDIR:-/var/tmp}
BUILD_CONFIG=${BUILD_CONFIG:-release}
case "$BUILD_CONFIG" in release|debug) ;; *) die "BUILD_CONFIG must be release or debug, got '$BUILD_CONFIG'";; esac
for s in $SCALES; do [[ "$s" =~ ^[1-9][0-9]*$ ]] || die "SCALES must be positive integers, got '$s'"; done
for v in CYCLES INGEST_SECONDS LATENCY_RUNS GZIP_SAMPLE_SEGMENTS; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
for v in MD5_MB LATENCY_SNAPSHOTS; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer, got '${!v}'"
done
[ "$INGEST_SECONDS" -le 45 ] || die "INGEST_SECONDS must be at most 45: the ingest run lies inside the $PITR_AFTER_SECONDS s before the point-in-time target"

install_packages
# pgBackRest is the reference tool: only the bench needs it, so it is installed here.
if ! dpkg-query -W -f='${Status}' pgbackrest 2>/dev/null | grep -q "install ok installed"; then
    say "installing Debian package: pgbackrest"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pgbackrest >/dev/null
fi
say "building pgarchive ($BUILD_CONFIG)"
# Build output goes to stderr: stdout carries only the tables. One retry, for a source file
# edited while the build ran. A release build by default, as `make install` makes: the
# restore_command of every restore (`pgarchive wal fetch`) runs once per segment.
swift build -c "$BUILD_CONFIG" >&2 || { sleep 5; swift build -c "$BUILD_CONFIG" >&2; } || die "swift build failed"
bin="$(swift build -c "$BUILD_CONFIG" --show-bin-path)/pgarchive"
bindir=/usr/lib/postgresql/15/bin
as_user test -x "$bin" || die "user $PGARCHIVE_USER cannot run $bin (every parent directory needs o+x)"
user_home=$(getent passwd "$PGARCHIVE_USER" | cut -d: -f6)
# as_user as an argv, for wrappers that take a command (rusage_bytes).
AS_USER=(runuser -u "$PGARCHIVE_USER" -- env HOME="$user_home" PATH="$PATH")

fstype=$(findmnt -n -o FSTYPE -T "$BENCH_WORKDIR")
case "$fstype" in tmpfs|btrfs) die "BENCH_WORKDIR $BENCH_WORKDIR is on $fstype: the upstream and pgBackRest's repo must be on a normal disk";; esac

work=$(mktemp -d "$BENCH_WORKDIR/pgarchive-bench.XXXXXX")
chmod 0755 "$work"
meas="$work/measurements.tsv"   # data set <TAB> key <TAB> value
meta="$work/meta.tsv"           # key <TAB> value
: >"$meas"; : >"$meta"

# Stops and removes everything one data set started; idempotent, so the EXIT trap can call
# it for every data set directory whatever state a failure left it in.
teardown_dataset() {
    local sdir=$1 d
    [ -d "$sdir" ] || return 0
    [ -f "$sdir/lag.stop" ] || touch "$sdir/lag.stop" 2>/dev/null || true
    for d in "$sdir"/pgbr-restore*; do
        if [ -f "$d/postmaster.pid" ]; then
            as_user "$bindir/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1 || true
        fi
    done
    if [ -f "$sdir/mnt/c/pgarchive.conf" ]; then
        # Needs the upstream running to drop the slot; --force deletes everything anyway.
        as_user "$bin" container purge --force -C "$sdir/mnt/c" >/dev/null 2>&1 || true
    fi
    if [ -f "$sdir/upstream/data/postmaster.pid" ]; then
        as_user "$bindir/pg_ctl" -D "$sdir/upstream/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    unmount_btrfs "$sdir"
    rm -rf "$sdir"   # pgBackRest's repo, spool, logs and restore targets live here
}
cleanup() {
    local rc=$?
    if [ "$rc" != 0 ]; then
        # Keep the logs of a failed run: teardown deletes the container and the servers.
        local keep
        keep=$(mktemp -d "$BENCH_WORKDIR/pgarchive-bench-failed.XXXXXX")
        for sdir in "$work"/d-*; do
            [ -d "$sdir" ] || continue
            mkdir -p "$keep/${sdir##*/}"
            cp -r "$sdir"/*.out "$sdir"/*.tsv "$sdir/upstream/server.log" "$sdir/pgbr-log" "$sdir/mnt/c/logs" "$keep/${sdir##*/}/" 2>/dev/null || true
        done
        cp "$meas" "$meta" "$keep/" 2>/dev/null || true
        say "logs of the failed run kept in $keep"
    fi
    say "cleaning up"
    for sdir in "$work"/d-*; do teardown_dataset "$sdir"; done
    rm -rf "$work"
    [ "$rc" = 0 ] || say "bench FAILED (exit $rc)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
rec() { printf '%s\t%s\t%s\n' "$ds" "$1" "$2" >>"$meas"; }
recmeta() { printf '%s\t%s\n' "$1" "$2" >>"$meta"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
drop_caches() {
    [ "$DROP_CACHES" = 1 ] || return 0
    sync
    echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || say "warning: could not drop the page cache"
}
# rusage_bytes OUTFILE CMD...: runs CMD, writes to OUTFILE the bytes it and every process
# below it (each waited for by its parent) read from storage: getrusage(RUSAGE_CHILDREN)
# ru_inblock * 512, the same counter as read_bytes in /proc/PID/io (page-cache hits are
# not reads). Exits with CMD's status.
rusage_bytes() {
    python3 -c '
import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as f:
    f.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_inblock * 512))
sys.exit(rc)' "$@"
}
# upstream_io FILE: "pid read_bytes kind" of every process of the upstream server (the
# postmaster and its children: backends, walsenders, checkpointer, archiver, ...).
upstream_io() {
    local pm p kind
    pm=$(head -n 1 "$upstream/data/postmaster.pid")
    for p in "$pm" $(pgrep -P "$pm"); do
        # A backend may end between pgrep and here: then it is skipped.
        kind=$(cat "/proc/$p/cmdline" 2>/dev/null | tr '\0' ' ' | awk '{ print ($1 == "postgres:" ? $2 : "postmaster") }') || continue
        [ -n "$kind" ] || continue
        awk -v p="$p" -v k="${kind:-unknown}" '/^read_bytes:/ { print p, $2, k }' "/proc/$p/io" 2>/dev/null || true
    done >"$1"
}
# upstream_io_delta BEFORE AFTER [KIND]: bytes the upstream's processes (of KIND: walsender,
# archiver, ...; all if none) read from storage in between. A process's counter includes its
# children once it has reaped them: the postmaster's holds every backend that ended, the
# archiver's every archive_command.
upstream_io_delta() {
    awk -v kind="${3:-}" 'NR == FNR { before[$1] = $2; next } kind == "" || $3 == kind { d += $2 - ($1 in before ? before[$1] : 0) }
         END { printf "%d\n", d }' "$1" "$2"
}
# upstream_io_kinds BEFORE AFTER: the same per kind of process ("archiver=N;postmaster=N;").
upstream_io_kinds() {
    awk 'NR == FNR { before[$1] = $2; next } { d[$3] += $2 - ($1 in before ? before[$1] : 0) }
         END { for (k in d) if (d[k]) printf "%s=%d;", k, d[k]; printf "\n" }' "$1" "$2"
}
# btrfs bytes in use: df after the cleaner has finished (DESIGN §3: `btrfs filesystem du` undercounts).
btrfs_used() {
    sync
    btrfs subvolume sync "$1" >/dev/null
    btrfs filesystem sync "$1" >/dev/null
    df -B1 --output=used "$1" | tail -n 1 | tr -d ' '
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print ""; exit } if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
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
# What a restored server must hold: rows, balance sum, pgbench history and the last marker.
STATE_SQL="SELECT (SELECT count(*) FROM pgbench_accounts), (SELECT sum(abalance) FROM pgbench_accounts), (SELECT count(*) FROM pgbench_history), (SELECT max(cycle) FROM bench_marker)"
# verify WHO SOCKETDIR PORT EXPECTED: the restored server holds exactly EXPECTED.
verify() {
    local who=$1 host=$2 port=$3 want=$4 got
    got=$(as_user "$bindir/psql" -X -At -F ' ' -h "$host" -p "$port" -d postgres -c "$STATE_SQL")
    [ "$got" = "$want" ] || die "$who restored the wrong state: got '$got' (count, sum(abalance), history rows, last marker), expected '$want'"
    say "$who restore verified: count, sum(abalance), history rows, last marker = $got"
}
server_log_milestones() {
    grep -hE 'redo (starts|done)|selected new timeline|checkpoint (starting|complete)|ready to accept|consistent recovery|recovery stopping' "$1" 2>/dev/null | tr '\n' '|' || true
}

# ---- set-up of one data set: btrfs mount, upstream, pgBackRest stanza, pgarchive container

# setup_upstream: a fresh PostgreSQL 15 in $sdir/upstream on the normal disk.
setup_upstream() {
    upstream="$sdir/upstream"
    port=$(free_port)
    say "$ds: upstream PostgreSQL 15 on port $port (data on $fstype, $upstream)"
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
    conninfo="host=$upstream port=$port user=postgres dbname=postgres"
}
psql_up() { as_user "$bindir/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$upstream" -p "$port" -d postgres "$@"; }
psql_standby() { as_user "$bindir/psql" -X -At -h "$C/run" -p "$standby_port" -d postgres "$@"; }

# setup_backups: pgBackRest stanza (its own config, repo, spool, locks and logs under $sdir,
# normal disk) and then the pgarchive container. The load's WAL went to /bin/true: neither
# tool keeps WAL from before its first backup.
setup_backups() {
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
    psql_up -c "ALTER SYSTEM SET archive_command = 'pgbackrest --config=$pgbr_cfg --config-include-path=$sdir/pgbr-conf.d --stanza=bench archive-push %p'" \
        -c "SELECT pg_reload_conf()" >/dev/null

    # The stanza must exist before pgarchive's base backup: with archive_mode on,
    # pg_basebackup --wal-method=none waits until its WAL is archived, i.e. forever while
    # archive-push fails.
    say "$ds: pgBackRest stanza-create and check"
    pgbr stanza-create
    pgbr check

    C="$mnt/c"
    say "$ds: pgarchive container init"
    local t0
    t0=$(now)
    as_user "$bin" container init -C "$C" --upstream "$conninfo" >"$sdir/init.out" 2>&1 || { cat "$sdir/init.out" >&2; die "container init failed"; }
    rec pgarchive_init_seconds "$(secs "$t0" "$(now)")"
    standby_port=$(sed -n "s/^standby_port *= *'\{0,1\}\([0-9]*\).*/\1/p" "$C/pgarchive.conf")
    [ -n "$standby_port" ] || die "no standby_port in $C/pgarchive.conf"
    rec pgarchive_conf_compression "$(grep -E '^ *(btrfs_compression|wal_compression)' "$C/pgarchive.conf" | tr '\n' ';' || true)"
    rec pgarchive_btrfs_property_standby "$(btrfs property get "$C/standby" compression 2>/dev/null || echo none)"
    rec pgarchive_btrfs_property_wal_archive "$(btrfs property get "$C/wal_archive" compression 2>/dev/null || echo none)"

    t0=$(now)
    say "$ds: pgBackRest full backup (compress-type=$PGBACKREST_COMPRESS_TYPE, process-max=$PGBACKREST_PROCESS_MAX)"
    pgbr --type=full backup
    rec pgbackrest_full_backup_seconds "$(secs "$t0" "$(now)")"
}
pgbr() { as_user pgbackrest --config="$pgbr_cfg" --config-include-path="$sdir/pgbr-conf.d" --stanza=bench "$@"; }

wait_replayed() {
    local lsn=$1 deadline=$((SECONDS + 600))
    until [ "$(psql_standby -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn" 2>/dev/null)" = t ]; do
        [ $SECONDS -lt $deadline ] || die "standby did not replay $lsn within 10 minutes"
        sleep 0.1
    done
}
wait_archived() {
    local lsn=$1 deadline=$((SECONDS + 600))
    until [ "$(psql_up -c "SELECT coalesce(last_archived_wal >= pg_walfile_name('$lsn'), false) FROM pg_stat_archiver")" = t ]; do
        [ $SECONDS -lt $deadline ] || die "pgBackRest did not archive the segment of $lsn within 10 minutes"
        sleep 0.1
    done
}

# pgarchive_backup KEY: one pgarchive backup step. A restartpoint needs an upstream
# checkpoint the standby has replayed, and the standby replays complete segments only:
# checkpoint, switch, wait, snapshot. pgarchive itself never opens the upstream's files: what
# it costs the upstream is its walsender, measured over the whole cycle (cycle_io_*). No
# page-cache drop here: the walsender streams WAL as it is written, from the page cache, as
# in production; a drop while it still streams the cycle's WAL would make it read that back.
pgarchive_backup() {
    local key=$1 t0 t1 t2 lsn
    t0=$(now)
    psql_up -c "CHECKPOINT"
    lsn=$(psql_up -c "SELECT pg_current_wal_lsn()")
    psql_up -c "SELECT pg_switch_wal()" >/dev/null
    wait_replayed "$lsn"
    t1=$(now)
    rusage_bytes "$sdir/rusage" "${AS_USER[@]}" "$bin" snapshot create -C "$C" >"$sdir/snapshot.$key.out" 2>&1 \
        || { cat "$sdir/snapshot.$key.out" >&2; die "snapshot create failed"; }
    t2=$(now)
    rec "pgarchive_wait_replay_seconds.$key" "$(secs "$t0" "$t1")"
    rec "pgarchive_snapshot_create_seconds.$key" "$(secs "$t1" "$t2")"
    rec "pgarchive_cycle_seconds.$key" "$(secs "$t0" "$t2")"
    # snapshot create reads the container (the standby), not the upstream: for the record.
    rec "pgarchive_snapshot_process_read_bytes.$key" "$(cat "$sdir/rusage")"
}
# pgbackrest_backup KEY: one pgBackRest incremental backup, with the bytes its processes
# (which read the upstream's data directory directly) read from storage. The page cache is
# dropped first: an incremental runs hours after the changes, when a database larger than
# memory is no longer cached (pgBackRest's own count of bytes copied is recorded as well).
pgbackrest_backup() {
    local key=$1 t0
    drop_caches
    t0=$(now)
    rusage_bytes "$sdir/rusage" "${AS_USER[@]}" pgbackrest --config="$pgbr_cfg" --config-include-path="$sdir/pgbr-conf.d" \
        --stanza=bench --type=incr backup || die "pgBackRest incremental backup failed"
    rec "pgbackrest_incr_backup_seconds.$key" "$(secs "$t0" "$(now)")"
    rec "pgbackrest_process_read_bytes.$key" "$(cat "$sdir/rusage")"
}
# cycle_io_start / cycle_io_mid / cycle_io_end KEY: what the upstream's own processes read
# from storage, by who it is for. Over the whole cycle (update + both backups): the
# walsender streams to pgarchive's pg_receivewal; the archiver runs pgBackRest's
# archive-push. Over the backups only (the update's own reads are the workload's): the rest
# (postmaster = ended backends, among them the bench's psql and pgBackRest's backup
# connection; checkpointer; ...), which serves both or neither.
cycle_io_start() { upstream_io "$sdir/cio0"; }
cycle_io_mid() { upstream_io "$sdir/cio1"; }
cycle_io_end() {
    local key=$1 all ws ar
    upstream_io "$sdir/cio2"
    rec "upstream_walsender_read_bytes.$key" "$(upstream_io_delta "$sdir/cio0" "$sdir/cio2" walsender)"
    rec "upstream_archiver_read_bytes.$key" "$(upstream_io_delta "$sdir/cio0" "$sdir/cio2" archiver)"
    rec "upstream_read_by_process.$key" "$(upstream_io_kinds "$sdir/cio0" "$sdir/cio2")"
    all=$(upstream_io_delta "$sdir/cio1" "$sdir/cio2")
    ws=$(upstream_io_delta "$sdir/cio1" "$sdir/cio2" walsender)
    ar=$(upstream_io_delta "$sdir/cio1" "$sdir/cio2" archiver)
    rec "upstream_other_read_bytes_during_backups.$key" "$((all - ws - ar))"
    rec "upstream_read_by_process_during_backups.$key" "$(upstream_io_kinds "$sdir/cio1" "$sdir/cio2")"
}

# cycles UPDATE_SQL_FUNCTION TABLE: CYCLES times update ~10% of the rows, a marker row, a
# VACUUM, then both tools back up.
cycles() {
    local update_sql=$1 table=$2 k t0
    for k in $(seq 1 "$CYCLES"); do
        cycle_io_start
        t0=$(now)
        psql_up -c "$($update_sql "$k")" -c "INSERT INTO bench_marker (cycle) VALUES ($k)" -c "VACUUM $table"
        rec "update_seconds.$k" "$(secs "$t0" "$(now)")"
        cycle_io_mid
        pgarchive_backup "$k"
        pgbackrest_backup "$k"
        cycle_io_end "$k"
        say "$ds: cycle $k/$CYCLES done"
    done
    local nsnap
    nsnap=$(find "$C/snapshots" -mindepth 1 -maxdepth 1 -type d ! -name '.*' | wc -l)
    rec pgarchive_snapshots "$nsnap"
    [ "$nsnap" -ge $((CYCLES + 1)) ] || die "expected $((CYCLES + 1)) snapshots (init + $CYCLES cycles), found $nsnap"
    # pgBackRest's own account of each incremental: bytes of data files it copied (read in full).
    pgbr info --output=json >"$sdir/pgbr-info.json"
    python3 - "$sdir/pgbr-info.json" "$meas" "$ds" <<'PY'
import json, sys
info = json.load(open(sys.argv[1]))[0]
with open(sys.argv[2], "a") as out:
    out.write(f"{sys.argv[3]}\tpgbackrest_backups\t{len(info['backup'])}\n")
    for i, b in enumerate(info["backup"]):
        if b["type"] == "incr":
            out.write(f"{sys.argv[3]}\tpgbackrest_incr_copied_bytes.{i}\t{b['info']['delta']}\n")
PY
}

# storage: bytes on disk after the cycles, before and after `cron compress-wal`, and
# compress-wal against gzip -6 on a sample of the same segments.
storage() {
    local used t0 t1 seg f n=0 sample_in=0 sample_pga=0 sample_gz=0 in_bytes=0 out_bytes=0 nseg=0
    say "$ds: storage"
    used=$(btrfs_used "$mnt")
    rec pgarchive_df_used_bytes "$used"
    rec pgarchive_bytes "$((used - baseline))"
    rec pgarchive_wal_archive_bytes "$(du -sb "$C/wal_archive" | cut -f1)"
    # The completed, uncompressed segments compress-wal will compress; a sample is copied to
    # the normal disk for gzip.
    mkdir -p "$sdir/gzip-sample"
    local -a segs=()
    while read -r seg; do segs+=("$seg"); done < <(find "$C/wal_archive" -maxdepth 1 -type f -regextype posix-extended -regex '.*/[0-9A-F]{24}' -printf '%f\n' | sort)
    for seg in "${segs[@]}"; do
        in_bytes=$((in_bytes + $(stat -c %s "$C/wal_archive/$seg")))
        nseg=$((nseg + 1))
        if [ "$n" -lt "$GZIP_SAMPLE_SEGMENTS" ]; then
            cp "$C/wal_archive/$seg" "$sdir/gzip-sample/"
            n=$((n + 1))
        fi
    done
    [ "$nseg" -gt 0 ] || die "no uncompressed segment in $C/wal_archive before compress-wal"
    t0=$(now)
    as_user "$bin" cron compress-wal -C "$C" >"$sdir/compress.out" 2>&1 || { cat "$sdir/compress.out" >&2; die "cron compress-wal failed"; }
    t1=$(now)
    for seg in "${segs[@]}"; do
        [ ! -e "$C/wal_archive/$seg" ] || die "compress-wal left $seg uncompressed"
        f=$(find "$C/wal_archive" -maxdepth 1 -type f -name "$seg.*" ! -name '*.partial' | head -n 1)
        [ -n "$f" ] || die "compress-wal: no compressed file for $seg"
        out_bytes=$((out_bytes + $(stat -c %s "$f")))
    done
    rec pgarchive_compress_wal_seconds "$(secs "$t0" "$t1")"
    rec pgarchive_compress_wal_segments "$nseg"
    rec pgarchive_compress_wal_in_bytes "$in_bytes"
    rec pgarchive_compress_wal_out_bytes "$out_bytes"
    rec pgarchive_compress_wal_format "$(find "$C/wal_archive" -maxdepth 1 -type f -name "${segs[0]}.*" -printf '%f\n' | head -n 1 | sed 's/^[0-9A-F]*\.//')"
    for f in "$sdir"/gzip-sample/*; do
        sample_in=$((sample_in + $(stat -c %s "$f")))
        seg=${f##*/}
        sample_pga=$((sample_pga + $(stat -c %s "$(find "$C/wal_archive" -maxdepth 1 -type f -name "$seg.*" ! -name '*.partial' | head -n 1)")))
    done
    cat "$sdir"/gzip-sample/* >/dev/null   # both read their input from the page cache
    t0=$(now)
    for f in "$sdir"/gzip-sample/*; do
        sample_gz=$((sample_gz + $(gzip -6 -c "$f" | wc -c)))
    done
    t1=$(now)
    rm -rf "$sdir/gzip-sample"
    rec gzip_sample_segments "$n"
    rec gzip_sample_in_bytes "$sample_in"
    rec gzip_sample_pgarchive_bytes "$sample_pga"
    rec gzip_sample_gzip_bytes "$sample_gz"
    rec gzip_sample_seconds "$(secs "$t0" "$t1")"
    used=$(btrfs_used "$mnt")
    rec pgarchive_compressed_df_used_bytes "$used"
    rec pgarchive_compressed_bytes "$((used - baseline))"
    rec pgarchive_compressed_wal_archive_bytes "$(du -sb "$C/wal_archive" | cut -f1)"
    rec pgbackrest_bytes "$(du -sb "$sdir/pgbr-repo" | cut -f1)"
    rec pgbackrest_allocated_bytes "$(du -s -B1 "$sdir/pgbr-repo" | cut -f1)"
    rec pgbackrest_backup_bytes "$(du -sb "$sdir/pgbr-repo/backup" | cut -f1)"
    rec pgbackrest_archive_bytes "$(du -sb "$sdir/pgbr-repo/archive" | cut -f1)"
}

# start_dataset NAME: directory, btrfs mount and upstream for one data set.
start_dataset() {
    ds=$1
    sdir="$work/d-$ds"
    mkdir -p "$sdir"; chmod 0755 "$sdir"
    say "$ds: btrfs loop mount for the pgarchive container ($BTRFS_SIZE sparse)"
    mount_btrfs "$sdir" "$BTRFS_SIZE"
    mnt="$sdir/mnt"
    baseline=$(btrfs_used "$mnt")
    rec btrfs_baseline_used_bytes "$baseline"
    setup_upstream
}

pgbench_update() { echo "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid % 10 = $(($1 % 10))"; }
MD5_PAYLOAD="md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text)"
md5_update() { echo "UPDATE md5_data SET payload = $MD5_PAYLOAD WHERE id % 10 = $(($1 % 10))"; }

# pgbench_tps SECONDS: a fixed-duration pgbench TPC-B run on the upstream; prints its TPS.
pgbench_tps() {
    as_user "$bindir/pgbench" -n -c 2 -j 2 -T "$1" -h "$upstream" -p "$port" postgres >"$sdir/pgbench.out" 2>&1 \
        || { cat "$sdir/pgbench.out" >&2; die "pgbench run failed"; }
    sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$sdir/pgbench.out"
}

recmeta started_at "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
recmeta loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"

for scale in $SCALES; do
    start_dataset "pgbench-$scale"
    rec scale "$scale"
    say "$ds: pgbench -i -s $scale"
    t0=$(now)
    as_user "$bindir/pgbench" -i -q -s "$scale" -h "$upstream" -p "$port" postgres >/dev/null 2>&1
    rec pgbench_init_seconds "$(secs "$t0" "$(now)")"
    psql_up -c "CREATE TABLE bench_marker (cycle int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())" \
        -c "INSERT INTO bench_marker (cycle) VALUES (0)" -c "VACUUM ANALYZE" -c "CHECKPOINT"
    rec upstream_database_bytes "$(psql_up -c "SELECT pg_database_size('postgres')")"
    setup_backups

    cycles pgbench_update pgbench_accounts
    expected=$(psql_up -F ' ' -c "$STATE_SQL")
    rec expected_state "$expected"
    storage

    # ---- (1a) time to a running restored server at the latest backed-up state
    say "$ds: pgarchive restore to the latest state (clone create --latest --start)"
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
    verify pgarchive "$C/run" "$cport" "$expected"
    rec pgarchive_clone_create_output "$(tr '\n' '|' <"$sdir/clone.out")"
    rec pgarchive_clone_server_log "$(server_log_milestones "$C/logs/clone_latest.log")"
    as_user "$bin" clone stop latest -C "$C" >/dev/null

    say "$ds: pgBackRest restore to the latest state, into an empty directory + pg_ctl start"
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
    verify pgBackRest "$rsock" "$rport" "$expected"
    rec pgbackrest_restored_server_log "$(server_log_milestones "$sdir/pgbr-log/restored-server.log")"
    as_user "$bindir/pg_ctl" -D "$rdir" -m fast -w stop >/dev/null
    rm -rf "$rdir"

    # ---- (4) WAL ingest: pgbench TPS without pg_receivewal streaming, then with it
    say "$ds: WAL ingest: pgbench ${INGEST_SECONDS}s with pg_receivewal stopped (wal stop)"
    as_user "$bin" wal stop -C "$C" >"$sdir/walstop.out" 2>&1 || { cat "$sdir/walstop.out" >&2; die "wal stop failed"; }
    deadline=$((SECONDS + 30))
    until [ -z "$(psql_up -c "SELECT pid FROM pg_stat_replication")" ]; do
        [ $SECONDS -lt $deadline ] || die "a walsender still streams 30 s after wal stop"
        sleep 0.2
    done
    rec tps_without_container "$(pgbench_tps "$INGEST_SECONDS")"
    as_user "$bin" wal start -C "$C" >"$sdir/walstart.out" 2>&1 || { cat "$sdir/walstart.out" >&2; die "wal start failed"; }

    # ---- (1b) the base of the point-in-time restore: one more snapshot and incremental
    # (not part of the storage figures above); pgarchive_backup waits until the standby has
    # replayed everything, i.e. pg_receivewal has caught up.
    say "$ds: one more snapshot and incremental backup, the base of the point-in-time restore"
    pgarchive_backup pitr
    pgbackrest_backup pitr
    base_done=$(date +%s)
    target_epoch=$((base_done + PITR_AFTER_SECONDS))
    target=$(date -u -d "@$target_epoch" '+%Y-%m-%d %H:%M:%S+00:00')
    rec pitr_target "$target"
    rec pitr_target_seconds_after_last_backup "$PITR_AFTER_SECONDS"

    say "$ds: WAL ingest: pgbench ${INGEST_SECONDS}s with pg_receivewal streaming; sampling pg_stat_replication"
    lagfile="$sdir/lag.tsv"; : >"$lagfile"; rm -f "$sdir/lag.stop"
    (
        while [ ! -e "$sdir/lag.stop" ]; do
            psql_up -F $'\t' -c "SELECT coalesce(extract(epoch FROM write_lag)::text, ''), coalesce(extract(epoch FROM flush_lag)::text, ''),
                pg_wal_lsn_diff(pg_current_wal_lsn(), write_lsn), pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn) FROM pg_stat_replication" >>"$lagfile" 2>/dev/null || true
            sleep 1
        done
    ) &
    lagpid=$!
    wal0=$(psql_up -c "SELECT pg_current_wal_lsn()")
    rec tps_with_container "$(pgbench_tps "$INGEST_SECONDS")"
    rec ingest_wal_bytes "$(psql_up -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$wal0')")"
    touch "$sdir/lag.stop"; wait "$lagpid"
    [ -s "$lagfile" ] || die "no pg_stat_replication sample during the ingest run (was pg_receivewal streaming?)"
    rec lag_samples "$(wc -l <"$lagfile")"
    rec lag_write_seconds_median "$(awk -F'\t' '$1 != "" { print $1 }' "$lagfile" | median)"
    rec lag_write_seconds_max "$(awk -F'\t' '$1 != "" { print $1 }' "$lagfile" | sort -n | tail -n 1)"
    rec lag_flush_seconds_median "$(awk -F'\t' '$2 != "" { print $2 }' "$lagfile" | median)"
    rec lag_flush_seconds_max "$(awk -F'\t' '$2 != "" { print $2 }' "$lagfile" | sort -n | tail -n 1)"
    rec lag_write_bytes_median "$(cut -f3 "$lagfile" | median)"
    rec lag_write_bytes_max "$(cut -f3 "$lagfile" | sort -n | tail -n 1)"
    rec lag_flush_bytes_median "$(cut -f4 "$lagfile" | median)"
    rec lag_flush_bytes_max "$(cut -f4 "$lagfile" | sort -n | tail -n 1)"

    # ---- (1b) markers around the target: the first before it, the second and a balance
    # change after it. A restore to the target must hold the first and neither of the others.
    psql_up -c "INSERT INTO bench_marker (cycle) VALUES (1000)"
    pitr_expected=$(psql_up -F ' ' -c "$STATE_SQL")
    rec pitr_expected_state "$pitr_expected"
    [ "$(date +%s)" -lt "$target_epoch" ] || die "the marker before the target came after it (the ingest run took too long)"
    while [ "$(date +%s)" -le "$target_epoch" ]; do sleep 0.2; done
    sleep 1
    psql_up -c "INSERT INTO bench_marker (cycle) VALUES (1001)" -c "UPDATE pgbench_accounts SET abalance = abalance + 1000000 WHERE aid = 1"
    rec pitr_marker_times "$(psql_up -F ' ' -c "SELECT string_agg(cycle || '@' || at, ', ' ORDER BY cycle) FROM bench_marker WHERE cycle >= 1000")"
    lsn=$(psql_up -c "SELECT pg_current_wal_lsn()")
    psql_up -c "SELECT pg_switch_wal()" >/dev/null
    wait_replayed "$lsn"
    wait_archived "$lsn"

    say "$ds: pgarchive restore to $target (clone create --time --start)"
    drop_caches
    t0=$(now)
    as_user "$bin" clone create pitr --time "$target" --start -C "$C" >"$sdir/clone-pitr.out" 2>&1 || { cat "$sdir/clone-pitr.out" >&2; die "clone create --time failed"; }
    t1=$(now)
    cport=$(as_user "$bin" clone list --json -C "$C" | python3 -c '
import json, sys
d = json.load(sys.stdin)
clones = d if isinstance(d, list) else d.get("clones", [])
print(next(c["port"] for c in clones if c["name"] == "pitr"))')
    wait_ready "$C/run" "$cport"
    rec pgarchive_pitr_restore_seconds "$(secs "$t0" "$counted_at")"
    rec pgarchive_pitr_restore_to_promoted_seconds "$(secs "$t0" "$promoted_at")"
    verify "pgarchive (point in time)" "$C/run" "$cport" "$pitr_expected"
    rec pgarchive_pitr_clone_create_output "$(tr '\n' '|' <"$sdir/clone-pitr.out")"
    rec pgarchive_pitr_clone_server_log "$(server_log_milestones "$C/logs/clone_pitr.log")"
    as_user "$bin" clone stop pitr -C "$C" >/dev/null

    say "$ds: pgBackRest restore --type=time to $target, into an empty directory + pg_ctl start"
    rdir="$sdir/pgbr-restore-pitr"
    install -d -o "$PGARCHIVE_USER" -m 0700 "$rdir"
    rport=$(free_port)
    drop_caches
    t0=$(now)
    pgbr --pg1-path="$rdir" --archive-mode=off --type=time --target="$target" --target-action=promote restore
    t1=$(now)
    as_user "$bindir/pg_ctl" -D "$rdir" -l "$sdir/pgbr-log/restored-pitr-server.log" -w -t 3600 \
        -o "-c port=$rport -c listen_addresses='' -c unix_socket_directories='$rsock'" start >/dev/null
    wait_ready "$rsock" "$rport"
    rec pgbackrest_pitr_restore_seconds "$(secs "$t0" "$counted_at")"
    rec pgbackrest_pitr_restore_to_promoted_seconds "$(secs "$t0" "$promoted_at")"
    rec pgbackrest_pitr_restore_command_seconds "$(secs "$t0" "$t1")"
    verify "pgBackRest (point in time)" "$rsock" "$rport" "$pitr_expected"
    rec pgbackrest_pitr_restored_server_log "$(server_log_milestones "$sdir/pgbr-log/restored-pitr-server.log")"
    as_user "$bindir/pg_ctl" -D "$rdir" -m fast -w stop >/dev/null
    rm -rf "$rdir"

    # ---- (5) operator latency, with LATENCY_SNAPSHOTS more snapshots (see fake_snapshots.py)
    say "$ds: operator latency: adding $LATENCY_SNAPSHOTS snapshots"
    t0=$(now)
    as_user python3 bench/fake_snapshots.py "$C" "$LATENCY_SNAPSHOTS"
    rec latency_fake_snapshots_seconds "$(secs "$t0" "$(now)")"
    nsnap=$(as_user "$bin" snapshot list --json -C "$C" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(len(d if isinstance(d, list) else d.get("snapshots", [])))')
    [ "$nsnap" -ge "$LATENCY_SNAPSHOTS" ] || die "snapshot list shows $nsnap snapshots, expected at least $LATENCY_SNAPSHOTS"
    rec latency_snapshots "$nsnap"
    as_user bash -c 'for ((i = 0; i < $1; i++)); do s=$EPOCHREALTIME; "$2" container status -C "$3" >/dev/null 2>&1; rc=$?; e=$EPOCHREALTIME; awk -v a="$s" -v b="$e" -v rc=$rc "BEGIN { printf \"%.3f\t%d\n\", (b - a) * 1000, rc }"; done' \
        _ "$LATENCY_RUNS" "$bin" "$C" >"$sdir/lat-status.tsv"
    as_user bash -c 'for ((i = 0; i < $1; i++)); do s=$EPOCHREALTIME; n=$("$2" snapshot list -C "$3" | wc -l); e=$EPOCHREALTIME; awk -v a="$s" -v b="$e" -v n=$n "BEGIN { printf \"%.3f\t%d\n\", (b - a) * 1000, n }"; done' \
        _ "$LATENCY_RUNS" "$bin" "$C" >"$sdir/lat-list.tsv"
    as_user bash bench/complete_latency.sh "$bin" "$C" "$LATENCY_RUNS" >"$sdir/lat-complete.tsv"
    # Checks: status ran (its exit code says health, recorded), list printed every snapshot,
    # completion offered every snapshot name.
    rec latency_status_exit_codes "$(cut -f2 "$sdir/lat-status.tsv" | sort -u | tr '\n' ' ')"
    awk -F'\t' -v n="$nsnap" '$2 < n { exit 1 }' "$sdir/lat-list.tsv" || die "snapshot list printed fewer than $nsnap lines"
    awk -F'\t' -v n="$nsnap" '$2 != n { exit 1 }' "$sdir/lat-complete.tsv" || die "completion did not offer all $nsnap snapshot names: $(cut -f2 "$sdir/lat-complete.tsv" | tr '\n' ' ')"
    rec latency_status_ms_median "$(cut -f1 "$sdir/lat-status.tsv" | median)"
    rec latency_snapshot_list_ms_median "$(cut -f1 "$sdir/lat-list.tsv" | median)"
    rec latency_completion_ms_median "$(cut -f1 "$sdir/lat-complete.tsv" | median)"
    rec latency_status_ms_all "$(cut -f1 "$sdir/lat-status.tsv" | tr '\n' ' ')"
    rec latency_snapshot_list_ms_all "$(cut -f1 "$sdir/lat-list.tsv" | tr '\n' ' ')"
    rec latency_completion_ms_all "$(cut -f1 "$sdir/lat-complete.tsv" | tr '\n' ' ')"

    say "$ds: tearing down"
    teardown_dataset "$sdir"
done

# ---- (2) storage on a less compressible data set: md5 text
if [ "$MD5_MB" -gt 0 ]; then
    start_dataset md5
    rows=$((MD5_MB * 3400))   # ~290 bytes per row on disk
    say "$ds: md5_data, $rows rows of 8 md5 hex strings (~$MD5_MB MB)"
    rec md5_rows "$rows"
    psql_up -c "CREATE TABLE md5_data (id int PRIMARY KEY, payload text NOT NULL)" \
        -c "INSERT INTO md5_data SELECT g, $MD5_PAYLOAD FROM generate_series(1, $rows) g" \
        -c "CREATE TABLE bench_marker (cycle int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())" \
        -c "INSERT INTO bench_marker (cycle) VALUES (0)" -c "VACUUM ANALYZE" -c "CHECKPOINT"
    rec upstream_database_bytes "$(psql_up -c "SELECT pg_database_size('postgres')")"
    setup_backups
    cycles md5_update md5_data
    storage
    say "$ds: tearing down"
    teardown_dataset "$sdir"
fi

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
recmeta pgarchive_build "$BUILD_CONFIG ($bin)"
recmeta pgarchive_commit "$(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- Sources Package.swift bench 2>/dev/null || echo ' (with uncommitted changes)')"
recmeta btrfs_progs_version "$(btrfs --version | head -n 1)"
recmeta gzip_version "$(gzip --version | head -n 1)"
recmeta scales "$SCALES"
recmeta cycles "$CYCLES"
recmeta md5_mb "$MD5_MB"
recmeta ingest_seconds "$INGEST_SECONDS"
recmeta latency_runs "$LATENCY_RUNS"
recmeta latency_snapshots "$LATENCY_SNAPSHOTS"
recmeta gzip_sample_segments "$GZIP_SAMPLE_SEGMENTS"
recmeta pitr_after_seconds "$PITR_AFTER_SECONDS"
recmeta pgbackrest_compress_type "$PGBACKREST_COMPRESS_TYPE"
recmeta pgbackrest_process_max "$PGBACKREST_PROCESS_MAX"
recmeta pgarchive_settings "container init defaults (MANUAL: btrfs_compression zstd, wal_compression zstd); see pgarchive_conf_compression and pgarchive_btrfs_property_* per data set"
recmeta drop_caches "$DROP_CACHES"
recmeta btrfs_size "$BTRFS_SIZE"

mkdir -p bench/results
out="bench/results/$(date -u +%Y-%m-%dT%H-%M-%SZ).json"
python3 bench/report.py "$meta" "$meas" "$out"
say "raw measurements written to $out"

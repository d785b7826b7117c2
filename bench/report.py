#!/usr/bin/env python3
"""Turns the raw measurements of bench/run.sh into a JSON file and Markdown tables.

usage: report.py META.tsv MEASUREMENTS.tsv OUT.json
META.tsv: key<TAB>value.  MEASUREMENTS.tsv: dataset<TAB>key<TAB>value; keys ending in .N
are per-cycle values (cycle N) and become lists.

Checks before printing: every data set has the figures the tables need, every restore was
verified by run.sh (it stops at a wrong restore), so a missing figure is an error here.
"""
import json
import statistics
import sys


def number(v):
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v


def ratio(a, b):
    return round(a / b, 2) if a is not None and b else None


def main():
    meta_path, meas_path, out_path = sys.argv[1:4]
    meta = {}
    with open(meta_path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            meta[k] = v
    datasets = {}
    order = []
    with open(meas_path) as f:
        for line in f:
            ds, key, value = line.rstrip("\n").split("\t", 2)
            if ds not in datasets:
                datasets[ds] = {"dataset": ds}
                order.append(ds)
            row = datasets[ds]
            base, dot, cycle = key.rpartition(".")
            if dot and cycle.isdigit():
                row.setdefault(base, []).append(number(value))
            else:
                row[key] = number(value)

    pgbench = [datasets[d] for d in order if d.startswith("pgbench-")]
    others = [datasets[d] for d in order if not d.startswith("pgbench-")]
    need_all = ["pgarchive_bytes", "pgarchive_compressed_bytes", "pgbackrest_bytes", "upstream_database_bytes",
                "upstream_walsender_read_bytes", "upstream_archiver_read_bytes", "upstream_other_read_bytes_during_backups", "pgbackrest_process_read_bytes",
                "pgarchive_compress_wal_in_bytes", "pgarchive_compress_wal_out_bytes", "pgarchive_compress_wal_seconds",
                "gzip_sample_in_bytes", "gzip_sample_gzip_bytes", "gzip_sample_pgarchive_bytes", "gzip_sample_seconds"]
    need_pgbench = ["pgarchive_restore_seconds", "pgbackrest_restore_seconds", "pgarchive_pitr_restore_seconds",
                    "pgbackrest_pitr_restore_seconds", "tps_without_container", "tps_with_container",
                    "latency_status_ms_median", "latency_snapshot_list_ms_median", "latency_completion_ms_median"]
    for row in datasets.values():
        need = need_all + (need_pgbench if row["dataset"].startswith("pgbench-") else [])
        missing = [k for k in need if row.get(k) in (None, "")]
        if missing:
            sys.exit(f"report.py: data set {row['dataset']} lacks {', '.join(missing)}: the run is incomplete")

    for row in datasets.values():
        row["ratio_storage_pgbackrest_over_pgarchive"] = ratio(row["pgbackrest_bytes"], row["pgarchive_bytes"])
        row["ratio_storage_pgbackrest_over_pgarchive_compressed"] = ratio(row["pgbackrest_bytes"], row["pgarchive_compressed_bytes"])
        # Per cycle: pgarchive = the upstream's walsender (streaming to pg_receivewal);
        # pgBackRest = its backup's processes + the archiver (archive-push); other = the
        # rest of the upstream during the backups (ended backends, checkpointer, ...), for
        # both or neither.
        row["pgarchive_read_bytes_per_cycle"] = list(row["upstream_walsender_read_bytes"])
        pgbr_reads = [a + b for a, b in zip(row["pgbackrest_process_read_bytes"], row["upstream_archiver_read_bytes"])]
        row["pgbackrest_read_bytes_per_cycle"] = pgbr_reads
        row["other_upstream_read_bytes_per_cycle"] = list(row["upstream_other_read_bytes_during_backups"])
        row["pgarchive_read_bytes_per_cycle_median"] = statistics.median(row["pgarchive_read_bytes_per_cycle"])
        row["pgbackrest_read_bytes_per_cycle_median"] = statistics.median(pgbr_reads)
        row["pgbackrest_archive_push_read_bytes_per_cycle_median"] = statistics.median(row["upstream_archiver_read_bytes"])
        row["other_upstream_read_bytes_per_cycle_median"] = statistics.median(row["other_upstream_read_bytes_per_cycle"])
        if row.get("pgbackrest_incr_copied_bytes"):
            row["pgbackrest_incr_copied_bytes_median"] = statistics.median(row["pgbackrest_incr_copied_bytes"])
        secs = row["pgarchive_compress_wal_seconds"]
        row["compress_wal_mb_per_second"] = round(row["pgarchive_compress_wal_in_bytes"] / 1e6 / secs, 1) if secs else None
        row["compress_wal_ratio"] = ratio(row["pgarchive_compress_wal_in_bytes"], row["pgarchive_compress_wal_out_bytes"])
        gsecs = row["gzip_sample_seconds"]
        row["gzip_mb_per_second"] = round(row["gzip_sample_in_bytes"] / 1e6 / gsecs, 1) if gsecs else None
        row["gzip_ratio_on_sample"] = ratio(row["gzip_sample_in_bytes"], row["gzip_sample_gzip_bytes"])
        row["compress_wal_ratio_on_sample"] = ratio(row["gzip_sample_in_bytes"], row["gzip_sample_pgarchive_bytes"])
    for row in pgbench:
        row["ratio_restore_pgbackrest_over_pgarchive"] = ratio(row["pgbackrest_restore_seconds"], row["pgarchive_restore_seconds"])
        row["ratio_restore_to_promoted_pgbackrest_over_pgarchive"] = ratio(row["pgbackrest_restore_to_promoted_seconds"], row["pgarchive_restore_to_promoted_seconds"])
        row["ratio_pitr_restore_pgbackrest_over_pgarchive"] = ratio(row["pgbackrest_pitr_restore_seconds"], row["pgarchive_pitr_restore_seconds"])
        row["tps_with_over_without"] = ratio(row["tps_with_container"], row["tps_without_container"])
        for k in ("tps_without_container", "tps_with_container"):
            row[k] = round(row[k], 1)
        for k in ("lag_write_seconds_median", "lag_write_seconds_max", "lag_flush_seconds_median", "lag_flush_seconds_max"):
            if isinstance(row.get(k), float):
                row[k] = round(row[k], 3)

    doc = {
        "machine": {k: number(meta[k]) for k in ("nproc", "memory_bytes", "cpu_model", "kernel", "workdir_disk") if k in meta},
        "versions": {k: meta[k] for k in ("postgresql_version", "pgbackrest_version", "pgarchive_version", "pgarchive_build", "pgarchive_commit",
                                          "btrfs_progs_version", "gzip_version") if k in meta},
        "parameters": {
            "scales": [int(s) for s in meta["scales"].split()],
            "cycles": int(meta["cycles"]),
            "md5_mb": int(meta.get("md5_mb", 0)),
            "update_per_cycle": {
                "pgbench": "UPDATE pgbench_accounts SET abalance = abalance + k WHERE aid % 10 = k % 10 (10% of rows), then VACUUM pgbench_accounts",
                "md5": "md5_data(id int, payload text of 8 md5 hex strings); UPDATE md5_data SET payload = <8 new md5s> WHERE id % 10 = k % 10, then VACUUM md5_data",
                "autovacuum": "off on the upstream",
            },
            "pgbackrest": {"compress_type": meta["pgbackrest_compress_type"], "process_max": int(meta["pgbackrest_process_max"]),
                           "start_fast": True, "repo": "normal disk (same file system as the upstream)",
                           "restore": "--archive-mode=off; latest: --type=default (end of archived WAL); point in time: --type=time --target-action=promote"},
            "pgarchive": meta.get("pgarchive_settings"),
            "drop_caches_before_pgbackrest_backups_and_restores": meta.get("drop_caches") == "1",
            "btrfs_loop_size": meta.get("btrfs_size"),
            "restore_done_when": "*_restore_seconds: from the restore command until pg_isready answers, pg_is_in_recovery() is false and then SELECT count(*) FROM pgbench_accounts has succeeded (a full scan, cold cache when drop_caches); *_restore_to_promoted_seconds: until promoted and answering, before the count. Then the restored state is checked (count, sum(abalance), pgbench_history rows, last marker row)",
            "pitr": f"target = {meta.get('pitr_after_seconds')} s after one more snapshot + incremental backup made after the storage figures; a pgbench run of ingest_seconds lies in between; marker 1000 before the target, marker 1001 and a balance change after it; the restored server must hold marker 1000 and the state recorded with it, and neither of the later changes",
            "storage": "pgarchive: df used on its own btrfs mount after btrfs subvolume sync + filesystem sync, minus the empty mount; pgBackRest: du -sb of the repo (backups + archived WAL)",
            "upstream_reads": "bytes read from storage per cycle (read_bytes of /proc/PID/io, which includes reaped children; getrusage(RUSAGE_CHILDREN).ru_inblock*512 for a command), page cache dropped before each pgBackRest backup: pgarchive = the upstream's walsender streaming to pg_receivewal over the whole cycle (pgarchive opens no upstream file; snapshot create reads only the container); pgBackRest = the processes of its incremental backup (they read the data directory directly) + the upstream's archiver over the whole cycle, whose children are pgBackRest's archive-push; other = the rest of the upstream's processes during the two backup steps (the postmaster counts ended backends: the bench's psql, pgBackRest's backup connection; checkpointer), for both tools or neither. pgbackrest_incr_copied_bytes is pgBackRest's own 'delta' (bytes of files it copied) per incremental",
            "ingest": f"pgbench -n -c 2 -j 2 -T {meta.get('ingest_seconds')} (TPC-B) on the upstream: first with pg_receivewal stopped (pgarchive wal stop), then streaming; pgBackRest archive-push is the archive_command in both; the container runs on the same 2 CPUs (receiver + standby replay). Lag sampled once a second from pg_stat_replication during the streaming run",
            "compress_wal": "cron compress-wal over every completed segment after the cycles (MB/s = uncompressed bytes / wall time, including fsync and the verification by decompression); gzip -6 -c on a sample of the first gzip_sample_segments of the same segments, from the page cache, to a pipe",
            "latency": f"median of {meta.get('latency_runs')} runs as the postgres user: container status, snapshot list, and bash completion of snapshot names (the bash-completion script's function run for 'pgarchive snapshot delete -C DIR <TAB>') with latency_snapshots extra snapshots (read-only btrfs snapshots of a real one with shifted names/times, see bench/fake_snapshots.py)",
        },
        "run": {k: meta.get(k) for k in ("started_at", "finished_at", "loadavg_start", "loadavg_end")},
        "results": [datasets[d] for d in order],
    }
    with open(out_path, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")

    def mb(b):
        return f"{b / 1e6:,.1f}"

    print(f"pgarchive {meta.get('pgarchive_version')} ({meta.get('pgarchive_build', '?').split()[0]} build) vs {meta.get('pgbackrest_version')} "
          f"(compress-type={meta['pgbackrest_compress_type']}, process-max={meta['pgbackrest_process_max']}), "
          f"{meta.get('postgresql_version')}; {meta['cycles']} cycles of a 10%-of-rows update; "
          f"{meta.get('nproc')} CPUs ({meta.get('cpu_model')}), kernel {meta.get('kernel')}; "
          f"load average {meta.get('loadavg_start')} at start, {meta.get('loadavg_end')} at end (shared machine)")
    print()
    print("Ratios are pgBackRest / pgarchive (above 1: pgarchive is faster or smaller), except TPS (with / without).")
    print()
    print("### Time to a running, checked restored server (s)")
    print()
    print("| scale | DB MB | latest: pgarchive | pgBackRest (restore command) | ratio | point in time +60 s: pgarchive | pgBackRest (restore command) | ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in pgbench:
        print(f"| {r['scale']} | {mb(r['upstream_database_bytes'])} | {r['pgarchive_restore_seconds']:.2f} | "
              f"{r['pgbackrest_restore_seconds']:.2f} ({r['pgbackrest_restore_command_seconds']:.2f}) | "
              f"{r['ratio_restore_pgbackrest_over_pgarchive']} | {r['pgarchive_pitr_restore_seconds']:.2f} | "
              f"{r['pgbackrest_pitr_restore_seconds']:.2f} ({r['pgbackrest_pitr_restore_command_seconds']:.2f}) | "
              f"{r['ratio_pitr_restore_pgbackrest_over_pgarchive']} |")
    print()
    print(f"### Storage after {meta['cycles']} cycles (MB on disk)")
    print()
    print("| data set | DB MB | pgarchive | after compress-wal | pgBackRest | ratio | ratio (compressed) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in datasets.values():
        print(f"| {r['dataset']} | {mb(r['upstream_database_bytes'])} | {mb(r['pgarchive_bytes'])} | {mb(r['pgarchive_compressed_bytes'])} | "
              f"{mb(r['pgbackrest_bytes'])} | {r['ratio_storage_pgbackrest_over_pgarchive']} | {r['ratio_storage_pgbackrest_over_pgarchive_compressed']} |")
    print()
    print("### Load on the upstream: MB read from storage per backup cycle (median over cycles; page cache dropped before each pgBackRest backup)")
    print()
    print("| data set | pgarchive (its walsender) | pgBackRest (incremental + archive-push) | of which archive-push | pgBackRest's count of bytes copied | rest of the upstream (both/neither) |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in datasets.values():
        copied = r.get("pgbackrest_incr_copied_bytes_median")
        print(f"| {r['dataset']} | {mb(r['pgarchive_read_bytes_per_cycle_median'])} | {mb(r['pgbackrest_read_bytes_per_cycle_median'])} | "
              f"{mb(r['pgbackrest_archive_push_read_bytes_per_cycle_median'])} | {mb(copied) if copied is not None else 'n/a'} | "
              f"{mb(r['other_upstream_read_bytes_per_cycle_median'])} |")
    print()
    print("### WAL ingest and compression")
    print()
    print(f"| scale | TPS without pg_receivewal | TPS with | with / without | write lag s (median / max) | flush lag s (median / max) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in pgbench:
        print(f"| {r['scale']} | {r['tps_without_container']} | {r['tps_with_container']} | {r['tps_with_over_without']} | "
              f"{r.get('lag_write_seconds_median', '')} / {r.get('lag_write_seconds_max', '')} | {r.get('lag_flush_seconds_median', '')} / {r.get('lag_flush_seconds_max', '')} |")
    print()
    print("| data set | compress-wal MB/s | compress-wal ratio (all segments) | on the gzip sample: compress-wal ratio | gzip -6 ratio | gzip -6 MB/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in datasets.values():
        print(f"| {r['dataset']} | {r['compress_wal_mb_per_second']} | {r['compress_wal_ratio']} | {r['compress_wal_ratio_on_sample']} | "
              f"{r['gzip_ratio_on_sample']} | {r['gzip_mb_per_second']} |")
    print()
    print("### Operator latency (median ms)")
    print()
    print("| scale | snapshots | container status | snapshot list | completion of snapshot names |")
    print("|---:|---:|---:|---:|---:|")
    for r in pgbench:
        print(f"| {r['scale']} | {r['latency_snapshots']} | {r['latency_status_ms_median']} | {r['latency_snapshot_list_ms_median']} | {r['latency_completion_ms_median']} |")
    print()
    print("Every restored server was checked against the upstream's state (rows, sum(abalance), pgbench_history rows, last "
          "marker; the point-in-time ones hold the marker before the target and not the one after). Timings are wall-clock "
          "on a shared machine; see bench/README.md for how each figure is measured.")


if __name__ == "__main__":
    main()

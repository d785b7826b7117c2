#!/usr/bin/env python3
"""Turns the raw measurements of bench/run.sh into a JSON file and a Markdown table.

usage: report.py META.tsv MEASUREMENTS.tsv OUT.json
META.tsv: key<TAB>value.  MEASUREMENTS.tsv: scale<TAB>key<TAB>value; keys ending in .N are
per-cycle values (cycle N) and become lists.
"""
import json
import sys


def number(v):
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v


def main():
    meta_path, meas_path, out_path = sys.argv[1:4]
    meta = {}
    with open(meta_path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            meta[k] = v
    scales = {}
    with open(meas_path) as f:
        for line in f:
            scale, key, value = line.rstrip("\n").split("\t", 2)
            row = scales.setdefault(scale, {"scale": int(scale)})
            base, dot, cycle = key.rpartition(".")
            if dot and cycle.isdigit():
                row.setdefault(base, []).append(number(value))
            else:
                row[key] = number(value)

    def ratio(a, b):
        return round(a / b, 2) if b else None

    rows = []
    for row in sorted(scales.values(), key=lambda r: r["scale"]):
        row["ratio_restore_pgbackrest_over_pgarchive"] = ratio(row["pgbackrest_restore_seconds"], row["pgarchive_restore_seconds"])
        row["ratio_restore_to_promoted_pgbackrest_over_pgarchive"] = ratio(row["pgbackrest_restore_to_promoted_seconds"], row["pgarchive_restore_to_promoted_seconds"])
        row["ratio_storage_pgbackrest_over_pgarchive"] = ratio(row["pgbackrest_bytes"], row["pgarchive_bytes"])
        row["ratio_storage_pgbackrest_over_pgarchive_compressed"] = ratio(row["pgbackrest_bytes"], row["pgarchive_compressed_bytes"])
        rows.append(row)

    doc = {
        "machine": {k: number(meta[k]) for k in ("nproc", "memory_bytes", "cpu_model", "kernel", "workdir_disk") if k in meta},
        "versions": {k: meta[k] for k in ("postgresql_version", "pgbackrest_version", "pgarchive_version", "pgarchive_commit", "btrfs_progs_version") if k in meta},
        "parameters": {
            "scales": [int(s) for s in meta["scales"].split()],
            "cycles": int(meta["cycles"]),
            "update_per_cycle": "UPDATE pgbench_accounts SET abalance = abalance + k WHERE aid % 10 = k % 10 (10% of rows), then VACUUM pgbench_accounts; autovacuum off on the upstream",
            "pgbackrest": {"compress_type": meta["pgbackrest_compress_type"], "process_max": int(meta["pgbackrest_process_max"]),
                           "start_fast": True, "repo": "normal disk (same file system as the upstream)", "restore": "--type=default (end of archived WAL), --archive-mode=off"},
            "pgarchive": meta.get("pgarchive_settings"),
            "drop_caches_before_restore": meta.get("drop_caches") == "1",
            "btrfs_loop_size": meta.get("btrfs_size"),
            "restore_done_when": "*_restore_seconds: from the restore command until pg_isready answers, pg_is_in_recovery() is false and then SELECT count(*) FROM pgbench_accounts has succeeded (a full scan, cold cache when drop_caches_before_restore); *_restore_to_promoted_seconds: until promoted and answering, before the count. Then the restored state is checked (count, sum(abalance), last marker row)",
            "storage": "pgarchive: df used on its own btrfs mount after btrfs subvolume sync + filesystem sync, minus the empty mount; pgBackRest: du -sb of the repo (backups + archived WAL)",
        },
        "run": {k: meta.get(k) for k in ("started_at", "finished_at", "loadavg_start", "loadavg_end")},
        "results": rows,
    }
    with open(out_path, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")

    def mb(b):
        return f"{b / 1e6:,.1f}"

    print(f"pgarchive {meta.get('pgarchive_version')} vs {meta.get('pgbackrest_version')} "
          f"(compress-type={meta['pgbackrest_compress_type']}, process-max={meta['pgbackrest_process_max']}), "
          f"{meta.get('postgresql_version')}; {meta['cycles']} cycles of a 10%-of-rows update; "
          f"{meta.get('nproc')} CPUs, kernel {meta.get('kernel')}; load average {meta.get('loadavg_start')} at start, {meta.get('loadavg_end')} at end")
    print()
    print("| scale | DB MB | restore s pgarchive | restore s pgBackRest | ratio | (promoted, before count: pgarchive / pgBackRest / ratio) "
          "| storage bytes pgarchive | pgarchive after compress-wal | pgBackRest | ratio | ratio (compressed) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['scale']} | {mb(r['upstream_database_bytes'])} | {r['pgarchive_restore_seconds']:.2f} | {r['pgbackrest_restore_seconds']:.2f} | "
              f"{r['ratio_restore_pgbackrest_over_pgarchive']} | {r['pgarchive_restore_to_promoted_seconds']:.2f} / {r['pgbackrest_restore_to_promoted_seconds']:.2f} / "
              f"{r['ratio_restore_to_promoted_pgbackrest_over_pgarchive']} | {r['pgarchive_bytes']} | {r['pgarchive_compressed_bytes']} | {r['pgbackrest_bytes']} | "
              f"{r['ratio_storage_pgbackrest_over_pgarchive']} | {r['ratio_storage_pgbackrest_over_pgarchive_compressed']} |")
    print()
    print("Ratios are pgBackRest / pgarchive (above 1: pgarchive is faster or smaller). Restore = from the restore command until "
          "pg_isready, promoted and SELECT count(*) FROM pgbench_accounts done (a full scan; cold page cache: "
          f"{meta.get('drop_caches') == '1'}). Both restored servers were checked against the upstream's final state. "
          "Timings are wall-clock on a shared machine.")


if __name__ == "__main__":
    main()

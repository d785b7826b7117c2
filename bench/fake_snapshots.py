#!/usr/bin/env python3
"""Adds COUNT older snapshots to a pgarchive container, for `snapshot list` and completion
latency with many snapshots (bench/run.sh, operator latency).

usage: fake_snapshots.py CONTAINER COUNT

A real snapshot is named after a restartpoint, and a new restartpoint needs an upstream
checkpoint the standby has replayed, one per segment switch: 500 real ones would take
longer than the whole bench. So each added snapshot is a read-only btrfs snapshot of the
container's oldest real snapshot (`btrfs subvolume snapshot -r`, so a real subvolume with
real data, shared by btrfs), with a copy of that snapshot's NAME.json whose name and times
are moved back by whole hours: hourly snapshots before the real ones. Their REDO LSNs are the
real one's, so they are fit for listing and completion only, not for restores (the bench
restores before it adds them). Runs as the container's owner.
"""
import datetime
import json
import os
import subprocess
import sys


def parse(text):
    # pgarchive writes 2026-11-21T08:15:00.123456Z (or without fraction).
    text = text.rstrip("Z")
    fmt = "%Y-%m-%dT%H:%M:%S.%f" if "." in text else "%Y-%m-%dT%H:%M:%S"
    return datetime.datetime.strptime(text, fmt).replace(tzinfo=datetime.timezone.utc)


def fmt_micro(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def main():
    container, count = sys.argv[1], int(sys.argv[2])
    snapdir = os.path.join(container, "snapshots")
    names = sorted(n for n in os.listdir(snapdir)
                   if not n.startswith(".") and not n.endswith(".json") and os.path.exists(os.path.join(snapdir, n + ".json")))
    if not names:
        sys.exit("fake_snapshots: no snapshot to copy in " + snapdir)
    source = names[0]
    with open(os.path.join(snapdir, source + ".json")) as f:
        meta = json.load(f)
    base = parse(source)
    for i in range(1, count + 1):
        shift = datetime.timedelta(hours=i)
        name = (base - shift).strftime("%Y-%m-%dT%H:%M:%SZ")
        m = dict(meta)
        m["name"] = name
        for key in ("takenAt", "checkpointTime", "consistentFrom"):
            if key in m and isinstance(m[key], str):
                m[key] = fmt_micro(parse(m[key]) - shift)
        subprocess.run(["btrfs", "subvolume", "snapshot", "-r", os.path.join(snapdir, source), os.path.join(snapdir, name)],
                       check=True, stdout=subprocess.DEVNULL)
        tmp = os.path.join(snapdir, "." + name + ".json.tmp")
        with open(tmp, "w") as f:
            json.dump(m, f, indent=2, sort_keys=True)
        os.rename(tmp, os.path.join(snapdir, name + ".json"))


if __name__ == "__main__":
    main()

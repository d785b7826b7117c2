#!/usr/bin/env python3
"""Splits the tests of `make test` into parallel lanes of about equal length.

Input: the output of `swift test list` (Module.Class/method lines), the seconds each test
took (scripts/test-times.txt) and, per PostgreSQL version, a regular expression choosing
its tests (empty: all). Output, one line per lane and version, tab-separated:

    LANE  VERSION  TESTS

where TESTS is the comma-separated list of test cases ("Module.Class/method") the XCTest
bundle takes as its argument, and the last line "total N" the number of test cases planned
(make test checks that this many ran). A class is never split within a version, so its
tests keep running one after another (the disk-full tests share one small file system), and
each module of unit tests stays together. Longest first onto the least loaded lane (LPT scheduling).
"""
import argparse
import re
import sys
from collections import defaultdict

DEFAULT_SECONDS = 20.0


def read_times(path):
    times = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            seconds, name = line.split(None, 1)
            times[name] = float(seconds)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lanes", type=int, default=2)
    parser.add_argument("--list", required=True, help="output of `swift test list`")
    parser.add_argument("--times", required=True, help="scripts/test-times.txt")
    parser.add_argument("--version", action="append", default=[], metavar="V=REGEX",
                        help="a version and the regex choosing its tests (empty: all); in order")
    args = parser.parse_args()

    with open(args.list) as f:
        # `swift test list` or the bundle's `--list-tests` (which starts with a "Listing" line).
        tests = [t for t in f.read().split() if "." in t and "/" in t]
    if not tests:
        sys.exit("test-lanes: no tests in " + args.list)
    times = read_times(args.times)

    # Jobs: (seconds, version, module, class, [tests]); order of versions kept per lane.
    jobs = []
    versions = []
    for spec in args.version:
        version, _, regex = spec.partition("=")
        versions.append(version)
        chosen = [t for t in tests if not regex or re.search(regex, t)]
        if not chosen:
            sys.exit(f"test-lanes: no test matches the filter of PostgreSQL {version}: {regex}")
        by_class = defaultdict(list)
        for t in chosen:
            module, rest = t.split(".", 1)
            cls = rest.split("/", 1)[0]
            # Each module of unit tests is one job: they take about a minute together.
            key = (module, cls if module == "IntegrationTests" else "")
            by_class[key].append(t)
        for (module, cls), members in by_class.items():
            if not cls:
                seconds = times.get(module, 5.0)
            else:
                seconds = sum(times.get(t.split(".", 1)[1], DEFAULT_SECONDS) for t in members)
            jobs.append((seconds, version, module, cls, members))

    lanes = [{"seconds": 0.0, "jobs": []} for _ in range(max(1, args.lanes))]
    for job in sorted(jobs, key=lambda j: -j[0]):
        lane = min(lanes, key=lambda l: l["seconds"])
        lane["seconds"] += job[0]
        lane["jobs"].append(job)

    total = 0
    for number, lane in enumerate(lanes, 1):
        for version in versions:
            members = [t for _, v, _, _, ms in lane["jobs"] if v == version for t in ms]
            if members:
                total += len(members)
                print(f"{number}\t{version}\t{','.join(sorted(members))}")
        print(f"lane {number}: about {lane['seconds']:.0f} s of tests", file=sys.stderr)
    print(f"total {total}")

if __name__ == "__main__":
    main()

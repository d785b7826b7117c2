#!/usr/bin/env bash
# `make test`: installs what is missing, builds as root (the package mirror is root-owned),
# mounts a scratch btrfs, and runs every test as the service user with
# PGARCHIVE_TEST_REQUIRE=1, so a missing PostgreSQL or btrfs fails instead of skipping.
# Always unmounts, even when a test fails. Without TEST_FILTER: every test in two parallel
# lanes while the Debian package builds at low priority, then the package test
# (scripts/test-deb.sh: install, the demo's flow with /usr/bin/pgarchive, man pages,
# completion, purge). TEST_FILTER=REGEX runs the matching tests in one lane and no package
# test; TEST_FILTER=deb runs only the package test.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
require_root "make test"
if [ "${TEST_FILTER:-}" = deb ]; then
    exec bash scripts/test-deb.sh
fi
install_packages

say "building (debug, with tests)"
swift build --build-tests

bin="$PWD/.build/debug/pgarchive"
say "checking that pgarchive refuses to run as root"
set +e
out=$("$bin" container status -C /nonexistent 2>&1); rc=$?
set -e
if [ "$rc" = 0 ] || ! grep -q "must not run as root" <<<"$out"; then
    die "pgarchive did not refuse to run as root (exit $rc): $out"
fi
echo "ok: root refused with: $out"

work=$(mktemp -d /var/tmp/pgarchive-test.XXXXXX)
chmod 0755 "$work"
trap 'unmount_btrfs "$work/small"; unmount_btrfs "$work"; rm -rf "$work"' EXIT
mount_btrfs "$work" 20G
# A second, small btrfs for the disk-full test, which fills it up on purpose.
mount_btrfs "$work/small" 400M --mixed --data single --metadata single

chown -R "$PGARCHIVE_USER:" .build
# SwiftPM keeps a lock file per build folder in /tmp; root's build created it.
chown "$PGARCHIVE_USER:" /tmp/"$(echo "$PWD/.build" | tr / _)"*.lock 2>/dev/null || true
as_user test -r Package.swift || die "user $PGARCHIVE_USER cannot read $PWD; clone the repository where $PGARCHIVE_USER can read it (every parent directory needs o+x)"

# The version matrix (issue 15): every test runs on Debian's PostgreSQL 15; the flows that
# matter run again on each other version, with its PyPI build's bin directory first in PATH
# (so pgarchive finds it as an operator's would: through pg_config). PGARCHIVE_TEST_PG_VERSIONS
# picks a subset, e.g. "18" or "15 16".
versions=${PGARCHIVE_TEST_PG_VERSIONS:-15 16 18}
# Every version: restore exactness (every target kind under load, --latest with the partial
# segment, restore --to), init of a loaded upstream, a killed receiver resuming, verify
# --restore. The newest (18) also: dumps, a promoted upstream followed onto timeline 2, and
# the kill -9 crash suite, and 18's idle_replication_slot_timeout invalidation. Together about 6
# minutes more than the 15 run.
matrix_core='PITRIntegrationTests/testEveryTargetKindIsExactUnderLoad|PITRIntegrationTests/testRestoreToPlainDirectoryMatchesClone|ContainerIntegrationTests/testInitOnLoadedUpstreamReplaysNewRows|ContainerIntegrationTests/testKilledReceiverResumesFromSlotWithoutGap|VerifyIntegrationTests/testRestorePassesLeavesNothingAndIsShown'
matrix_newest="$matrix_core|ContainerIntegrationTests/testPromotedUpstreamIsFollowedOntoTheNewTimeline|DumpIntegrationTests|CrashIntegrationTests|SlotRetentionIntegrationTests/testIdleTimeoutInvalidationOnPostgreSQL18IsNamedAsSuch"
declare -A bindirs
# The major-upgrade test (MajorUpgradeIntegrationTests, in the 15 leg) upgrades the 16 build to
# the 18 one with pg_upgrade: the 15 leg installs both, whatever the subset.
installs=$versions
case " $versions " in *" 15 "*) installs="$versions 16 18" ;; esac
for v in $installs; do [ -n "${bindirs[$v]:-}" ] || bindirs[$v]=$(pg_bindir_for "$v" "$PWD/.build/pg-versions"); done
chown -R "$PGARCHIVE_USER:" .build

# Runs, as the service user on PostgreSQL version $1, the rest of the command line.
test_env() {
    local v=$1 path=$PATH
    shift
    [ "$v" = 15 ] || path="${bindirs[$v]}:$PATH"
    as_user env PATH="$path" PGARCHIVE_TEST_PG_VERSION="$v" PGARCHIVE_TEST_PG_BINDIR="${bindirs[$v]}" \
        PGARCHIVE_TEST_PG16_BINDIR="${bindirs[16]:-}" PGARCHIVE_TEST_PG18_BINDIR="${bindirs[18]:-}" \
        PGARCHIVE_TEST_REQUIRE=1 PGARCHIVE_TEST_BTRFS="$work/mnt" PGARCHIVE_TEST_SMALL_BTRFS="$work/small/mnt" PGARCHIVE_BIN="$bin" "$@"
}
# swift test on version $1 with --filter $2.
run_tests() { test_env "$1" swift test --skip-build --disable-swift-testing --filter "$2"; }
# The XCTest bundle on version $1 with test cases $2 (Module.Class/method,…).
run_bundle() { test_env "$1" "$bundle" "$2"; }

if [ -n "${TEST_FILTER:-}" ]; then
    # A chosen subset: one version after another, in this terminal.
    for v in $versions; do
        say "running the tests matching '$TEST_FILTER' on PostgreSQL $v (${bindirs[$v]})"
        run_tests "$v" "$TEST_FILTER"
    done
else
    # Everything, in parallel lanes (PGARCHIVE_TEST_LANES, default 2): most of a test's time
    # is spent waiting for servers, so two lanes on two cores take little more than half as
    # long. scripts/test-lanes.py balances them by scripts/test-times.txt and never splits a
    # class within a version. Each lane logs to .build/test-logs/lane-N.log, printed whole
    # when the lane ends; the summary at the end names every failed test.
    lanes=${PGARCHIVE_TEST_LANES:-2}
    logs="$PWD/.build/test-logs"
    rm -rf "$logs"; mkdir -p "$logs"
    # The XCTest bundle itself runs the lanes' tests: `swift test` would hold SwiftPM's lock
    # on .build and so run one lane at a time.
    bundle="$PWD/.build/debug/pgarchivePackageTests.xctest"
    as_user "$bundle" --list-tests > "$logs/tests.txt"
    specs=()
    for v in $versions; do
        case $v in
            15) specs+=(--version "15=") ;;
            18) specs+=(--version "18=$matrix_newest") ;;
            *) specs+=(--version "$v=$matrix_core") ;;
        esac
    done
    python3 scripts/test-lanes.py --lanes "$lanes" --list "$logs/tests.txt" --times scripts/test-times.txt "${specs[@]}" > "$logs/plan.txt"
    chown -R "$PGARCHIVE_USER:" "$logs"
    planned_count=$(sed -n 's/^total //p' "$logs/plan.txt")
    # The release build of the Debian package runs meanwhile at the lowest priority: the
    # tests wait on servers most of the time, and the compiler takes what they leave.
    pids=()
    trap 'kill $(jobs -p) 2>/dev/null || true; wait || true; unmount_btrfs "$work/small"; unmount_btrfs "$work"; rm -rf "$work"' EXIT
    mkdir -p "$logs/deb"
    DEB_OUT="$logs/deb" nice -n 19 bash scripts/deb.sh > "$logs/deb-build.log" 2>&1 &
    deb_build=$!
    say "running $planned_count test cases on PostgreSQL $versions in $lanes lanes on btrfs at $work/mnt (plan: $logs/plan.txt)"
    for lane in $(grep -v '^total ' "$logs/plan.txt" | cut -f1 | sort -u); do
        (
            status=0
            while IFS=$'\t' read -r number v filter; do
                [ "$number" != total ] || continue
                [ "$number" = "$lane" ] || continue
                echo "==> lane $lane: PostgreSQL $v" >> "$logs/lane-$lane.log"
                if ! run_bundle "$v" "$filter" >> "$logs/lane-$lane.log" 2>&1; then
                    status=1
                    echo "FAILED: lane $lane, PostgreSQL $v" >> "$logs/failures.txt"
                fi
            done < "$logs/plan.txt"
            # One lane's log at a time on the terminal.
            flock "$logs/plan.txt" cat "$logs/lane-$lane.log"
            exit $status
        ) &
        pids+=($!)
    done
    failed=0
    for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
    if [ "$failed" != 0 ]; then
        say "tests failed:"
        cat "$logs/failures.txt" >&2
        grep -h -E "^/.*: error: |' failed \(" "$logs"/lane-*.log >&2 || true
        die "make test failed; the whole output of each lane is in $logs"
    fi
    # The bundle skips a test case name it does not know without a word: count what ran.
    planned=$(sed -n 's/^total //p' "$logs/plan.txt")
    ran=$(cat "$logs"/lane-*.log | sed -n "s/^Test Case '.*' \(passed\|failed\|skipped\) (.*/x/p" | wc -l)
    [ "$ran" = "$planned" ] || die "$ran test cases ran, $planned were planned (see $logs/plan.txt and the lane logs)"
    say "all $ran tests passed in $lanes lanes"
fi

if [ -z "${TEST_FILTER:-}" ]; then
    say "the Debian package"
    wait "$deb_build" || { cat "$logs/deb-build.log" >&2; die "building the Debian package failed (above)"; }
    DEB_FILE=$(tail -n 1 "$logs/deb-build.log") bash scripts/test-deb.sh
fi

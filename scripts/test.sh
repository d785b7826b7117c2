#!/usr/bin/env bash
# `make test`: installs what is missing, builds as root (the package mirror is root-owned),
# mounts a scratch btrfs, and runs every test as the service user with
# PGARCHIVE_TEST_REQUIRE=1, so a missing PostgreSQL or btrfs fails instead of skipping.
# Always unmounts, even when a test fails. Then the Debian package test (scripts/test-deb.sh:
# build, install, the demo's flow with /usr/bin/pgarchive, man pages, completion, purge),
# unless TEST_FILTER selects a subset; TEST_FILTER=deb runs only the package test.
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

for v in $versions; do
    if [ "$v" = 15 ]; then
        say "running the tests on PostgreSQL 15 as $PGARCHIVE_USER on btrfs at $work/mnt (small one at $work/small/mnt)"
        filter=${TEST_FILTER:-}
        path=$PATH
    else
        say "running the version matrix's tests on PostgreSQL $v (${bindirs[$v]})"
        if [ "$v" = 18 ]; then matrix_tests=$matrix_newest; else matrix_tests=$matrix_core; fi
        filter=${TEST_FILTER:-$matrix_tests}
        path="${bindirs[$v]}:$PATH"
    fi
    as_user env PATH="$path" PGARCHIVE_TEST_PG_VERSION="$v" PGARCHIVE_TEST_PG_BINDIR="${bindirs[$v]}" \
        PGARCHIVE_TEST_PG16_BINDIR="${bindirs[16]:-}" PGARCHIVE_TEST_PG18_BINDIR="${bindirs[18]:-}" \
        PGARCHIVE_TEST_REQUIRE=1 PGARCHIVE_TEST_BTRFS="$work/mnt" PGARCHIVE_TEST_SMALL_BTRFS="$work/small/mnt" PGARCHIVE_BIN="$bin" \
        swift test --skip-build --disable-swift-testing ${filter:+--filter "$filter"}
done

if [ -z "${TEST_FILTER:-}" ]; then
    say "the Debian package"
    bash scripts/test-deb.sh
fi

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

say "running the tests as $PGARCHIVE_USER on btrfs at $work/mnt (small one at $work/small/mnt)"
as_user env PGARCHIVE_TEST_REQUIRE=1 PGARCHIVE_TEST_BTRFS="$work/mnt" PGARCHIVE_TEST_SMALL_BTRFS="$work/small/mnt" PGARCHIVE_BIN="$bin" \
    swift test --skip-build --disable-swift-testing ${TEST_FILTER:+--filter "$TEST_FILTER"}

if [ -z "${TEST_FILTER:-}" ]; then
    say "the Debian package"
    bash scripts/test-deb.sh
fi

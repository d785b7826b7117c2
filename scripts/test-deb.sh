#!/usr/bin/env bash
# The Debian package end to end (run by `make test` after the Swift tests, or alone with
# `make test-deb`): builds it (scripts/deb.sh, lintian clean), installs it with apt as an
# operator would, runs the demo's flow (init, snapshot, a point-in-time clone whose rows are
# checked) with the installed /usr/bin/pgarchive as postgres, checks the man pages and that
# bash completion loads from the system directory in a fresh interactive bash, then purges
# the package and proves nothing of it is left. Purges it even when a step fails.
# DEB_FILE=path tests that package instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
require_root "the package test"
install_packages
started=$(date +%s)

if dpkg-query -W -f='${Status}' pgarchive 2>/dev/null | grep -q "ok installed\|config-files"; then
    die "a pgarchive package is already installed; this test installs and purges its own, so remove it first (apt-get purge pgarchive)"
fi
if grep -Eqs '^path-exclude[= ]+/usr/share/(man|doc)' /etc/dpkg/dpkg.cfg.d/*; then
    die "dpkg is configured to drop man pages or docs ($(grep -Els '^path-exclude' /etc/dpkg/dpkg.cfg.d/*)), as slim Docker images are; the package test checks them: remove those path-exclude lines"
fi
[ ! -e /usr/bin/pgarchive ] || die "/usr/bin/pgarchive exists but belongs to no package; move it away first"

work=$(mktemp -d /var/tmp/pgarchive-deb-test.XXXXXX)
chmod 0755 "$work"
cleanup() {
    if dpkg-query -W -f='${Status}' pgarchive 2>/dev/null | grep -q "installed\|config-files"; then
        say "purging the pgarchive package"
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq pgarchive >/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${DEB_FILE:-}" ]; then
    # make test builds the package in the background while the Swift tests run.
    cp "$DEB_FILE" "$work/"
    deb="$work/$(basename "$DEB_FILE")"
else
    deb=$(DEB_OUT="$work" bash scripts/deb.sh | tail -n 1)
fi
[ -f "$deb" ] || die "scripts/deb.sh did not report a .deb (got '$deb')"
built=$(date +%s)

say "apt-get install -y $deb"
# apt reads a local file as user _apt; the work directory is 0755 and the .deb 0644.
chmod 0644 "$deb"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >"$work/apt.log" 2>&1 \
    || { cat "$work/apt.log" >&2; die "apt-get install $deb failed"; }
dpkg -L pgarchive >"$work/files"
for path in /usr/bin/pgarchive /usr/share/man/man1/pgarchive.1.gz /usr/share/man/man5/pgarchive.conf.5.gz \
    /usr/share/bash-completion/completions/pgarchive /usr/share/doc/pgarchive/copyright \
    /usr/share/doc/pgarchive/changelog.gz /usr/share/doc/pgarchive/README.md.gz \
    /usr/share/doc/pgarchive/MANUAL.md.gz /usr/share/doc/pgarchive/examples/pgarchive.cron \
    /usr/share/doc/pgarchive/examples/pgarchive.conf; do
    grep -qx "$path" "$work/files" || die "the package lacks $path; it holds: $(tr '\n' ' ' <"$work/files")"
    [ -f "$path" ] || die "$path is listed by dpkg -L but missing"
done
version=$(sed -n 's/^ *public static let string = "\([^"]*\)".*/\1/p' Sources/PGArchiveCore/Support/Version.swift)
[ "$(as_user /usr/bin/pgarchive --version)" = "$version" ] || die "/usr/bin/pgarchive --version is not $version"
! ldd /usr/bin/pgarchive | grep -Eq 'swift|/opt/|not found' || die "/usr/bin/pgarchive needs libraries outside the package's Depends: $(ldd /usr/bin/pgarchive)"
! readelf -S /usr/bin/pgarchive | grep -q '\.symtab' || die "/usr/bin/pgarchive is not stripped (it has a .symtab)"
echo "ok: installed $(wc -l <"$work/files") paths; /usr/bin/pgarchive $version, $(du -h /usr/bin/pgarchive | cut -f1), links only: $(ldd /usr/bin/pgarchive | awk '{print $1}' | tr '\n' ' ')"

say "man pages"
man -w pgarchive | grep -qx /usr/share/man/man1/pgarchive.1.gz || die "man -w pgarchive: $(man -w pgarchive 2>&1)"
man -w pgarchive.conf | grep -qx /usr/share/man/man5/pgarchive.conf.5.gz || die "man -w pgarchive.conf: $(man -w pgarchive.conf 2>&1)"
for page in pgarchive pgarchive.conf; do
    warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$(man -w "$page")" 2>&1 >"$work/$page.txt") || die "man $page failed: $warnings"
    [ -z "$warnings" ] || die "man $page renders with warnings: $warnings"
done
grep -q "status" "$work/pgarchive.txt" && grep -q -- "--all" "$work/pgarchive.txt" || die "pgarchive(1) lacks the status command or --all"
grep -q "containers_root" "$work/pgarchive.conf.txt" || die "pgarchive.conf(5) lacks containers_root"
echo "ok: man -w pgarchive and pgarchive.conf; both render without warnings"

say "bash completion from /usr/share/bash-completion/completions in a fresh interactive bash"
# bash-completion's loader sources the file on first use (no eval); then complete `status --r`.
completion=$(as_user env -i HOME="$work" TERM=dumb PATH=/usr/bin:/bin bash --norc -i -c '
    . /usr/share/bash-completion/bash_completion || exit 90
    complete -p pgarchive >/dev/null 2>&1 && { echo "loaded before first use"; exit 91; }
    _completion_loader pgarchive
    spec=$(complete -p pgarchive) || exit 92
    echo "$spec"
    fn=${spec##*-F }; fn=${fn%% *}
    COMP_LINE="pgarchive status --r"; COMP_POINT=${#COMP_LINE}
    COMP_WORDS=(pgarchive status --r); COMP_CWORD=2; COMPREPLY=()
    "$fn" pgarchive --r status
    printf "reply %s\n" "${COMPREPLY[@]}"
    COMP_LINE="pgarchive check --a"; COMP_POINT=${#COMP_LINE}
    COMP_WORDS=(pgarchive check --a); COMP_CWORD=2; COMPREPLY=()
    "$fn" pgarchive --a check
    printf "reply %s\n" "${COMPREPLY[@]}"' 2>"$work/bash.err") || die "completion did not load (exit $?): $completion $(cat "$work/bash.err")"
grep -q "^complete .*-F __pgarchive_complete pgarchive$" <<<"$completion" || die "completion not registered: $completion"
grep -qx "reply --root" <<<"$completion" || die "'pgarchive status --r' did not complete to --root: $completion"
grep -qx "reply --all" <<<"$completion" || die "'pgarchive check --a' did not complete to --all: $completion"
echo "ok: $(head -n1 <<<"$completion")"

say "the example /etc/pgarchive.conf parses (every setting uncommented)"
sed -n 's/^#\([a-z_]* = .\+\)$/\1/p' /usr/share/doc/pgarchive/examples/pgarchive.conf >"$work/global.conf"
[ "$(wc -l <"$work/global.conf")" -gt 10 ] || die "the example has too few settings: $(cat "$work/global.conf")"
echo "containers_root = '$work'" >>"$work/global.conf"
chmod 0644 "$work/global.conf"
set +e
out=$(as_user env PGARCHIVE_CONF="$work/global.conf" /usr/bin/pgarchive status --all 2>&1); rc=$?
set -e
# The whole file is parsed for containers_root; no container under $work is the expected
# error, not a configuration error.
[ "$rc" = 1 ] && grep -q "no container (a directory with a pgarchive.conf) in $work" <<<"$out" \
    || die "pgarchive with the example as /etc/pgarchive.conf: exit $rc: $out"
echo "ok: $(wc -l <"$work/global.conf") settings"

say "the demo's flow with /usr/bin/pgarchive"
PGARCHIVE_DEMO_BIN=/usr/bin/pgarchive DEMO_SCALE=1 bash scripts/demo.sh >"$work/demo.log" 2>&1 \
    || { tail -n 40 "$work/demo.log" >&2; die "the demo failed with the installed binary (log above)"; }
grep -q "status --all" "$work/demo.log" || die "the demo did not run status --all"
echo "ok: init, snapshot, point-in-time clone with rows 1,2 and not 3, status --all"

say "apt-get purge -y pgarchive"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq pgarchive >"$work/apt.log" 2>&1 \
    || { cat "$work/apt.log" >&2; die "apt-get purge pgarchive failed"; }
dpkg-query -W -f='${Status}' pgarchive 2>/dev/null | grep -q "installed\|config-files" && die "pgarchive is still known to dpkg after purge"
left=""
while read -r path; do
    [ "$path" = /. ] && continue
    # Shared directories (/usr, /usr/share/man/man1, …) stay; everything of ours must go.
    if [ -e "$path" ] && ! { [ -d "$path" ] && [ -n "$(dpkg -S "$path" 2>/dev/null)" ]; }; then left="$left $path"; fi
done <"$work/files"
[ -z "$left" ] || die "left behind after purge:$left"
[ ! -e /usr/share/doc/pgarchive ] || die "/usr/share/doc/pgarchive is left behind"
echo "ok: purged; none of the $(wc -l <"$work/files") paths is left (shared directories excepted)"
say "package test passed in $(( $(date +%s) - started )) s (build $(( built - started )) s)"

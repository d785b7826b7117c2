#!/usr/bin/env bash
# Prints MANUAL.md's command reference: the --help of every pgarchive command, found by
# walking the SUBCOMMANDS lists. `make manual` puts it into MANUAL.md; a test compares.
set -euo pipefail
bin=${1:?usage: command-reference.sh PGARCHIVE_BINARY}
walk() {
    local out
    out=$(COLUMNS=100 "$bin" "$@" --help)
    printf '### `pgarchive%s`\n\n```\n%s\n```\n\n' "${*:+ $*}" "$out"
    printf '%s\n' "$out" | awk '/^SUBCOMMANDS:/ {f = 1; next} /^[A-Z]/ {f = 0} f && /^  [a-z]/ {print $1}' |
        tr -d ',' | while read -r sub; do
            [ "$sub" = help ] || walk "$@" "$sub"
        done
}
walk

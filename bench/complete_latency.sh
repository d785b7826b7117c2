#!/usr/bin/env bash
# usage: complete_latency.sh PGARCHIVE CONTAINER RUNS
# Times bash completion of snapshot names the way bash runs it on TAB: the script from
# `pgarchive bash-completion` is loaded, then its completion function is called for
# `pgarchive snapshot delete -C CONTAINER <TAB>`, which runs `pgarchive ---completion …`.
# Prints one line per run: milliseconds <TAB> number of candidates offered.
# No set -e: the generated completion functions are not written for it.
bin=$1 container=$2 runs=$3
eval "$("$bin" bash-completion)"
for ((run = 0; run < runs; run++)); do
    COMP_LINE="$bin snapshot delete -C $container "
    COMP_POINT=${#COMP_LINE}
    COMP_WORDS=("$bin" snapshot delete -C "$container" "")
    COMP_CWORD=5
    COMPREPLY=()
    start=$EPOCHREALTIME
    __pgarchive_complete "$bin" "" "$container"
    end=$EPOCHREALTIME
    awk -v a="$start" -v b="$end" -v n="${#COMPREPLY[@]}" 'BEGIN { printf "%.3f\t%d\n", (b - a) * 1000, n }'
done

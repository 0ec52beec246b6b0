#!/usr/bin/env bash
# Compares builds of a one-row example (benches/examples/*_prof.rs or
# yield_alone.rs): copies each binary three times (on these VMs the same
# binary runs 10-20% faster or slower from one file copy to another), runs
# the copies in alternation for ROUNDS rounds, and prints each build's
# median of the per-run medians.
#
#   benches/compare_builds.sh ROUNDS LABEL=BINARY [LABEL=BINARY ...]
#
# Environment: ARGS (arguments for every run, default "10": the example's
# round count).
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 ROUNDS LABEL=BINARY [LABEL=BINARY ...]" >&2
  exit 2
fi
rounds=$1
shift
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
labels=()
for pair in "$@"; do
  label=${pair%%=*}
  binary=${pair#*=}
  [ -x "$binary" ] || { echo "$0: $binary is not an executable" >&2; exit 2; }
  labels+=("$label")
  for copy in 1 2 3; do cp "$binary" "$dir/$label.$copy"; done
done
for _ in $(seq "$rounds"); do
  for label in "${labels[@]}"; do
    for copy in 1 2 3; do
      # shellcheck disable=SC2086
      "$dir/$label.$copy" ${ARGS:-10} | awk -v l="$label" '/^median/ {print l, $2}' >>"$dir/results"
    done
  done
done
for label in "${labels[@]}"; do
  awk -v l="$label" '$1 == l {print $2}' "$dir/results" | sort -n |
    awk -v l="$label" '{v[NR] = $1} END {printf "%s median %.1f (min %.1f, max %.1f, %d runs)\n", l, v[int((NR + 1) / 2)], v[1], v[NR], NR}'
done

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make lint`: every mutant (selftests/mutants/), every ablation
# (bench/ablations/) and every broken build of the torture's proof
# (torture/broken/) still applies to the sources as they are, with the
# same patch(1) options scripts/build-variant.sh and
# scripts/torture-proof.sh use (no fuzz).  A change to the code can move
# their context; this finds it at once, not when `make mutants`,
# `make ablation` or `make torture-proof` runs next.
# usage: patches-apply.sh
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
stale=0
for p in "$here"/selftests/mutants/*.patch "$here"/bench/ablations/*.patch \
	"$here"/torture/broken/*.patch; do
	if ! patch -d "$here" -p1 -F0 -s --dry-run <"$p" >/dev/null 2>&1; then
		echo "lint: ${p#"$here"/} does not apply any more" >&2
		stale=1
	fi
done
exit $stale

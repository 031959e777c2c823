#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fails if Rust code outside rust/abstractions/ names the kernel crate's
# raw bindings: leaf code calls abstractions (the kernel's
# Documentation/rust/general-information.rst, "Abstractions vs.
# bindings"), and rust/abstractions/ is what becomes the rust/kernel
# patches of make patches.
# usage: no-bindings.sh RUST_DIR
set -u
dir=$1
found=$(grep -rn --include='*.rs' -E '\bbindings(::|\b)' "$dir" |
	grep -v "^$dir/abstractions/" | grep -vE '^[^:]+:[0-9]+:\s*//')
if [ -n "$found" ]; then
	echo "no-bindings: Rust code outside $dir/abstractions/ uses bindings:" >&2
	echo "$found" >&2
	exit 1
fi

# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the scripts of the long first-run stages (scripts/deps.sh,
# scripts/kernel.sh): a progress line at least every 30 s.

# every_30s PID COMMAND...: runs COMMAND every 30 s while PID runs (not
# after it ends), then returns PID's exit status.
every_30s() {
	local pid=$1
	shift
	while kill -0 "$pid" 2>/dev/null; do
		for _ in $(seq 30); do
			kill -0 "$pid" 2>/dev/null || break 2
			sleep 1
		done
		"$@"
	done
	wait "$pid"
}

# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# booted.sh - sourced by vm.sh and libvirt.sh: once QEMU runs, waiting
# for the test guest to be the guest the tests describe.
#
#   wait_booted PROG RUNDIR TIMEOUT ALIVE T0
#
# Returns 0 once the guest's kh-truth answers "pong" on RUNDIR/truth.sock
# and its console shows no "kh-NAME: FAIL" (/init and the kh-* programs
# say so when a part of the workload the tests rely on is missing: tests
# would then fail far from the cause, or worse, pass on a guest without
# it), and writes RUNDIR/boot-seconds (since T0, date +%s.%N). ALIVE is a
# command that fails once QEMU is gone: then 1, and after TIMEOUT seconds
# without an answer 2, each with the console's tail shown. Uses $images.

wait_booted() {
	local prog=$1 rundir=$2 timeout=$3 alive=$4 t0=$5 end t1
	end=$((SECONDS + timeout))
	# grep reads all: with -q it could end truth by SIGPIPE first, and
	# pipefail would take the answer for a failure.
	until "$images/truth" -t 2 "$rundir/truth.sock" ping 2>/dev/null |
		grep -x pong >/dev/null; do
		if ! $alive; then
			echo "$prog: QEMU exited during boot; console.log tail:" >&2
			tail -n 40 "$rundir/console.log" >&2 || true
			if [ -s "$rundir/qemu-errors.log" ]; then
				echo "$prog: what QEMU said:" >&2
				tail -n 40 "$rundir/qemu-errors.log" >&2
			fi
			return 1
		fi
		if [ $SECONDS -ge "$end" ]; then
			echo "$prog: no pong within ${timeout}s; console.log tail:" >&2
			tail -n 40 "$rundir/console.log" >&2 || true
			return 2
		fi
		sleep 0.5
	done
	t1=$(date +%s.%N)
	echo "$t0 $t1" | awk '{ printf "%.1f\n", $2 - $1 }' >"$rundir/boot-seconds"
	if grep -q 'kh-[a-z-]*: FAIL' "$rundir/console.log"; then
		echo "$prog: the guest reported failures while it booted:" >&2
		grep 'kh-[a-z-]*: FAIL' "$rundir/console.log" >&2
		return 1
	fi
	return 0
}

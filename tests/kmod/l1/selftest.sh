#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# selftest.sh BUILD_DIR - proves that tests/kmod/run can fail.
#
# Runs tests/kmod/run on stand-in test programs (shell scripts, in a
# scratch build folder that borrows BUILD_DIR's L1 images, payload and the
# built kmod/keyhole.ko) that pass, skip (once as a documented environment
# skip, once not), fail, log a kernel WARNING, leave a process behind,
# crash the L1 kernel, stop the inner runner so the L1 hangs, and print
# what the kernel prints when the emulator loses a CPU or the end of an
# NMI. Checks that each gets the verdict it must, that the programs after
# the crash and after the hang still run in a fresh L1, that the tests
# during which a CPU or an NMI was lost run again in one, that the hang
# and the losses are reported as such, that the summary line adds up and
# that the exit status is non-zero. About 5 minutes.
set -u

O=$(cd "${1:?usage: selftest.sh BUILD_DIR}" && pwd) || exit 1
here=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d /tmp/kt-selftest.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM HUP

for f in "$O/kmod-l1/vmlinux" "$O/kmod-l1/initramfs.cpio.gz" \
	 "$O/tests/kmod/payload/counter.elf" "$O/tests/kmod/l1/kvm_holder" \
	 "$here/../../../kmod/keyhole.ko"; do
	[ -f "$f" ] || { echo "selftest: no $f (make kmod-test-build)" >&2; exit 1; }
done
mkdir -p "$scratch/kmod-l1" "$scratch/tests/kmod/payload" "$scratch/tests/kmod/l1"
ln -s "$O/kmod-l1/vmlinux" "$O/kmod-l1/initramfs.cpio.gz" "$scratch/kmod-l1/"
cp "$O/tests/kmod/payload/counter.elf" "$scratch/tests/kmod/payload/"
cp "$O/tests/kmod/l1/kvm_holder" "$scratch/tests/kmod/l1/"

# prog NAME BODY: a stand-in test program
prog() {
	printf '#!/bin/bash\n%s\n' "$2" >"$scratch/tests/kmod/$1"
	chmod +x "$scratch/tests/kmod/$1"
}
prog test_a_pass 'exit 0'
prog test_b_skip 'echo "nothing to do here"; exit 4'
prog test_b2_skip 'echo "skipping for no documented reason"; exit 4'
printf '# the selftest'"'"'s own list\nkmod/test_b_skip\ta stand-in\n' >"$scratch/env-skips"
prog test_c_fail 'echo "the output of a failing test"; exit 1'
prog test_d_warn 'echo "<4>WARNING: CPU: 0 PID: 1 at selftest.c:1 selftest+0x0" >/dev/kmsg'
prog test_e_leak 'sleep 1000 & exit 0'
prog test_f_crash 'echo 1 >/proc/sys/kernel/sysrq; echo c >/proc/sysrq-trigger; sleep 60'
prog test_g_after 'exit 0'
# stop the inner runner (the parent of timeout, our parent): no more
# results, the L1 itself stays up
prog test_h_stuck 'kill -STOP "$(ps -o ppid= -p "$PPID")"; exit 0'
prog test_i_after_hang 'exit 0'
# what the L1 kernel prints when the emulator stops running CPU 1 (the
# NMI sent to it is never answered), the first time only: tests/kmod/run
# must end this L1 and run the test again in a fresh one
prog test_j_lost '[ -e "$KT_BUILD/lost.once" ] && exit 0
touch "$KT_BUILD/lost.once"
for l in "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:" \
	"rcu: 	1-...!: (0 ticks this GP) idle=0540/0/0x0 softirq=1/1 fqs=0 (false positive?)" \
	"Sending NMI from CPU 0 to CPUs 1:" \
	"rcu: Stack dump where RCU GP kthread last ran:" \
	"Sending NMI from CPU 0 to CPUs 1:"; do
	echo "<3>$l" >/dev/kmsg
done
sleep 600'
prog test_k_after_lost 'exit 0'
# what the L1 kernel prints when the emulator drops the end of an NMI
# (tests/kmod/l1/nmi-leaked), the first time only: the L1 ends and the
# test runs again in a fresh one
prog test_l_nmi '[ -e "$KT_BUILD/nmi.once" ] && exit 0
touch "$KT_BUILD/nmi.once"
echo "<3>BUG: scheduling while atomic: CPU 0/KVM/612/0x00110001" >/dev/kmsg
exit 0'
prog test_m_after_nmi 'exit 0'

out=$scratch/out
KT_NO_BUILD=1 KT_TIMEOUT=25 KT_L1_BOOTS=4 KT_ENV_SKIPS=$scratch/env-skips \
	"$here/../run" --no-lint "$scratch" >"$out" 2>&1
rc=$?

fail=0
# expect "STATUS NAME" as a line of the run's output
expect() {
	if grep -Eq "^$1 +$2 " "$out"; then
		echo "ok   $1 $2"
	else
		echo "FAIL expected a line '$1 $2'"
		fail=1
	fi
}
expect PASS l1/kmsg-check
expect PASS kmod/insmod
expect PASS kmod/test_a_pass
expect SKIP kmod/test_b_skip
expect FAIL kmod/test_b2_skip
expect FAIL kmod/test_c_fail
expect FAIL kmod/test_d_warn
expect FAIL kmod/test_e_leak
expect FAIL kmod/test_f_crash
expect FAIL l1/clean-exit
expect PASS kmod/test_g_after
expect FAIL kmod/test_h_stuck
expect PASS kmod/test_i_after_hang
expect LOST kmod/test_j_lost
expect PASS kmod/test_j_lost
expect PASS kmod/test_k_after_lost
expect LOST kmod/test_l_nmi
expect PASS kmod/test_l_nmi
expect PASS kmod/test_m_after_nmi
expect PASS l1/vcpu-lost
expect PASS l1/nmi-leaked
expect PASS kmod/rmmod
grep -q 'the output of a failing test' "$out" ||
	{ echo "FAIL the failing test's output is not shown"; fail=1; }
grep -q '! .*WARNING: CPU: 0 PID: 1 at selftest.c:1' "$out" ||
	{ echo "FAIL the WARNING that failed a test is not shown"; fail=1; }
grep -q 'booting a fresh L1 for the tests after kmod/test_f_crash' "$out" ||
	{ echo "FAIL no fresh L1 after the crash"; fail=1; }
grep -q 'hung: no result' "$out" ||
	{ echo "FAIL the hang is not called a hang"; fail=1; }
grep -q 'booting a fresh L1 for the tests after kmod/test_h_stuck' "$out" ||
	{ echo "FAIL no fresh L1 after the hang"; fail=1; }
grep -qx 'L1 hang: 1 (during kmod/test_h_stuck)' "$out" ||
	{ echo "FAIL the summary does not tell the L1 hang apart"; fail=1; }
grep -q 'booting a fresh L1 to run kmod/test_j_lost again' "$out" ||
	{ echo "FAIL no fresh L1 to run the test again after the lost CPU"; fail=1; }
grep -q 'booting a fresh L1 to run kmod/test_l_nmi again' "$out" ||
	{ echo "FAIL no fresh L1 to run the test again after the dropped NMI"; fail=1; }
grep -q 'the emulator dropped the end of an NMI on an L1 CPU (CPU 0/KVM/612 0x00110001' "$out" ||
	{ echo "FAIL the dropped NMI is not named"; fail=1; }
grep -qx "L1 ended by the emulator's fault (a CPU or an NMI lost, or QEMU crashed): 2 (during kmod/test_j_lost kmod/test_l_nmi)" "$out" ||
	{ echo "FAIL the summary does not tell the emulator's faults apart"; fail=1; }
grep -q 'not a documented environment skip' "$out" ||
	{ echo "FAIL the undocumented skip is not explained"; fail=1; }
# vcpu-lost, nmi-leaked, kmsg-check, kvm_amd, insmod, a, g, i, j and l
# (each run again), k, m, rmmod pass; b2 c d e f h and two clean-exit
# fail; b is the one documented skip
if tail -n1 "$out" | grep -qx '13 passed, 8 failed, 1 skipped'; then
	echo "ok   summary: $(tail -n1 "$out")"
else
	echo "FAIL summary: $(tail -n1 "$out"), not 13 passed, 8 failed, 1 skipped"
	fail=1
fi
if [ $rc = 0 ]; then
	echo "FAIL tests/kmod/run exited 0"
	fail=1
fi
kept=$(sed -n 's/^ *kept \([^ ]*\)\/l1 .*/\1/p' "$out")
[ -n "$kept" ] && rm -rf "$kept"

if [ $fail = 1 ]; then
	echo "--- tests/kmod/run said:"
	cat "$out"
	echo "selftest: FAIL"
	exit 1
fi
echo "selftest: PASS"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# vm.sh - start and stop keyhole test guests (QEMU, daemonized).
#
#   vm.sh start RUNDIR [--boot bzimage|pvh] [--paging 4|5] [--ram memfd|anon]
#                      [--machine pc|q35] [--mem SIZE] [--name NAME] [--smp N]
#                      [--maxcpus N]
#                      [--no-qmp] [--timeout SECS] [--append 'KERNEL ARGS']
#                      [--images DIR] [--gdb] [--agent] [--user USER]
#   vm.sh stop RUNDIR
#   vm.sh truth RUNDIR REQUEST        (shortcut for: truth RUNDIR/truth.sock REQUEST)
#
# Why: keyhole inspects a live guest from the host, so tests need real
# guests in several shapes (KASLR or not, 4- or 5-level paging, memfd or
# anonymous RAM, RAM above 4 GiB) and a ground truth to compare against.
# Everything a guest uses lives in RUNDIR (qemu.pid, qmp.sock, truth.sock,
# console.log, options; gdb.sock with --gdb: QEMU's gdbstub; qga.sock with
# --agent: a virtio-serial port named org.qemu.guest_agent.0, served by
# qemu-ga in the guest), there are no TCP ports, so guests run side by side.
# With QMP there is a second monitor, qmp-watch.sock, for the tests alone:
# a QMP monitor serves one client at a time and keyhole holds qmp.sock
# while it has the guest paused, so only a second one can watch the run
# state meanwhile (keyhole uses the first -qmp it finds, never this one).
# `start` returns once the guest's kh-truth answers "pong" and prints the
# QEMU pid. A guest whose init or workload reported "FAIL" on its console
# is not the guest the tests describe: `start` fails then. On failure it
# shows the console tail and leaves no QEMU behind.
# With --user, QEMU runs as USER (its uid, gid and groups, from the start,
# so that USER may ptrace it) and RUNDIR is given to USER; USER must be
# able to read the images and, under KVM, open /dev/kvm.
# `stop` quits QEMU (QMP quit, then SIGTERM, then SIGKILL) and waits for it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
images=${KH_GUEST_IMAGES:-$here/../../build/guest}
# shellcheck source=tests/guest/booted.sh
. "$here/booted.sh"

usage() {
	sed -n '4,14p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
die() { echo "vm.sh: $*" >&2; exit 1; }

# pids of QEMUs started for this RUNDIR (found by their unique -pidfile
# argument, so it works even if qemu.pid is gone or stale)
qemu_pids() {
	local f pid
	for f in $(grep -laF -- "$rundir/qemu.pid" /proc/[0-9]*/cmdline 2>/dev/null); do
		pid=${f#/proc/}
		pid=${pid%/cmdline}
		# only QEMU itself (not this script or grep); a zombie has an
		# empty cmdline and never matches
		case "$(head -c 300 "$f" 2>/dev/null | tr '\0' '\n' | head -n1)" in
		*qemu-system*) echo "$pid" ;;
		esac
	done
}

wait_gone() {	# wait_gone SECS: 0 once no QEMU of RUNDIR is left
	local end=$((SECONDS + $1))
	while [ -n "$(qemu_pids)" ]; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.2
	done
	return 0
}

do_stop() {
	local pids all i pid
	pids=$(qemu_pids)
	all=$pids
	if [ -n "$pids" ]; then
		if [ -S "$rundir/qmp.sock" ]; then
			"$images/truth" --qmp -t 5 "$rundir/qmp.sock" \
				'{"execute":"quit"}' >/dev/null 2>&1 || true
			wait_gone 10 || true
		fi
		pids=$(qemu_pids)
		if [ -n "$pids" ]; then
			kill -TERM $pids 2>/dev/null || true
			wait_gone 5 || true
		fi
		pids=$(qemu_pids)
		if [ -n "$pids" ]; then
			kill -KILL $pids 2>/dev/null || true
			wait_gone 5 || die "QEMU $(qemu_pids) for $rundir does not go away"
		fi
		# QEMU is gone; give whoever inherited the daemon (init) a moment
		# to reap the zombie, so `pgrep qemu` right after stop is clean
		for i in $(seq 25); do
			for pid in $all; do
				[ -e "/proc/$pid" ] && { sleep 0.2; continue 2; }
			done
			break
		done
	fi
	rm -f "$rundir/qmp.sock" "$rundir/qmp-watch.sock" "$rundir/truth.sock" \
		"$rundir/qemu.pid" "$rundir/gdb.sock" "$rundir/qga.sock"
}

cmd=${1:-}
[ $# -ge 2 ] || usage
rundir=$2
shift 2
mkdir -p "$rundir"
rundir=$(cd "$rundir" && pwd)

case "$cmd" in
stop)
	[ $# -eq 0 ] || usage
	do_stop
	exit 0
	;;
truth)
	[ $# -eq 1 ] || usage
	exec "$images/truth" "$rundir/truth.sock" "$1"
	;;
start) ;;
*) usage ;;
esac

boot=bzimage paging=4 ram=memfd machine=pc mem=1G name=$(basename "$rundir")
smp=1 maxcpus='' qmp=1 timeout=180 append_extra='' gdb=0 agent=0 user=''
while [ $# -gt 0 ]; do
	case "$1" in
	--boot) boot=${2:?}; shift ;;
	--paging) paging=${2:?}; shift ;;
	--ram) ram=${2:?}; shift ;;
	--machine) machine=${2:?}; shift ;;
	--mem) mem=${2:?}; shift ;;
	--name) name=${2:?}; shift ;;
	--smp) smp=${2:?}; shift ;;
	--maxcpus) maxcpus=${2:?}; shift ;;
	--no-qmp) qmp=0 ;;
	--timeout) timeout=${2:?}; shift ;;
	--append) append_extra=${2?}; shift ;;
	--images) images=${2:?}; shift ;;
	--gdb) gdb=1 ;;
	--agent) agent=1 ;;
	--user) user=${2:?}; shift ;;
	*) echo "vm.sh: unknown option $1" >&2; usage ;;
	esac
	shift
done
case "$boot" in bzimage|pvh) ;; *) die "--boot bzimage|pvh" ;; esac
case "$paging" in 4|5) ;; *) die "--paging 4|5" ;; esac
case "$ram" in memfd|anon) ;; *) die "--ram memfd|anon" ;; esac
case "$machine" in pc|q35) ;; *) die "--machine pc|q35" ;; esac
[[ "$smp" =~ ^[1-9][0-9]*$ ]] || die "--smp N"
[[ "$maxcpus" =~ ^([1-9][0-9]*)?$ ]] || die "--maxcpus N"
[[ "$mem" =~ ^[0-9]+[MGmg]?$ ]] || die "--mem SIZE (e.g. 512M, 3G)"
[ ${#rundir} -lt 96 ] || die "RUNDIR path too long for unix sockets: $rundir"

[ -n "$(qemu_pids)" ] && die "a QEMU is already running for $rundir (vm.sh stop it first)"

"$here/build.sh" "$images" >/dev/null 2>"$rundir/build.log" ||
	{ cat "$rundir/build.log" >&2; die "build failed"; }
images=$(cd "$images" && pwd)

accel=tcg
[ "$("$here/kvm-usable.sh" "$images")" = yes ] && accel=kvm

# As USER: setpriv sets its uid, gid and groups before QEMU runs.
runas=()
if [ -n "$user" ]; then
	uid=$(id -u "$user" 2>/dev/null) || die "--user $user: no such user"
	runas=(setpriv --reuid="$uid" --regid="$(id -g "$user")" --init-groups --)
	chown "$uid:$(id -g "$user")" "$rundir"
	"${runas[@]}" test -r "$images/vmlinux" -a -r "$images/initramfs.cpio.gz" ||
		die "--user $user cannot read the images in $images"
	[ "$accel" != kvm ] || "${runas[@]}" test -r /dev/kvm -a -w /dev/kvm ||
		die "--user $user cannot open /dev/kvm"
fi

if [ "$boot" = bzimage ]; then
	kernel=$images/bzImage
else
	kernel=$images/vmlinux	# PVH entry: no decompressor, no KASLR, 4-level
fi
cpu=max
[ "$paging" = 4 ] && cpu=max,la57=off
# no_hash_pointers: /proc/net/* print each socket's struct sock address
# with %pK, hashed by default; unhashed, the guest's own view of the
# address keyhole reports can be compared with it.
append="console=ttyS0 panic=-1 oops=panic no_hash_pointers${append_extra:+ $append_extra}"

mach=$machine
# --maxcpus: CPUs the guest could hot-add, possible but not online
args=(-name "$name,debug-threads=on" -accel "$accel" -cpu "$cpu"
	-smp "$smp${maxcpus:+,maxcpus=$maxcpus}" -m "$mem")
if [ "$ram" = memfd ]; then
	args+=(-object "memory-backend-memfd,id=mem,size=$mem,share=on")
	mach=$machine,memory-backend=mem
fi
args+=(-machine "$mach" -nodefaults -display none -no-reboot
	-kernel "$kernel" -initrd "$images/initramfs.cpio.gz" -append "$append"
	-serial "file:$rundir/console.log"
	-chardev "socket,id=truth,path=$rundir/truth.sock,server=on,wait=off"
	-serial chardev:truth
	-device isa-debug-exit,iobase=0xf4,iosize=0x04
	# the NIC of most VMs, virtio-net, on QEMU's user network with no
	# way out (restrict): the guest's eth0, with counters to read
	-netdev user,id=kh-net,restrict=on
	-device virtio-net-pci,netdev=kh-net,romfile=)
[ "$qmp" = 1 ] && args+=(-qmp "unix:$rundir/qmp.sock,server=on,wait=off"
	-qmp "unix:$rundir/qmp-watch.sock,server=on,wait=off")
[ "$gdb" = 1 ] && args+=(
	-chardev "socket,id=gdb0,path=$rundir/gdb.sock,server=on,wait=off"
	-gdb chardev:gdb0)
[ "$agent" = 1 ] && args+=(-device virtio-serial-pci
	-chardev "socket,id=qga0,path=$rundir/qga.sock,server=on,wait=off"
	-device virtserialport,chardev=qga0,name=org.qemu.guest_agent.0)
# -daemonize sends QEMU's stderr to /dev/null unless it logs: with -D its
# messages after the fork (a KVM error, an abort) land in qemu-errors.log.
args+=(-daemonize -pidfile "$rundir/qemu.pid"
	-d guest_errors -D "$rundir/qemu-errors.log")

rm -f "$rundir/console.log" "$rundir/qmp.sock" "$rundir/qmp-watch.sock" \
	"$rundir/truth.sock" "$rundir/qemu.pid" "$rundir/boot-seconds" \
	"$rundir/gdb.sock" "$rundir/qga.sock" "$rundir/qemu-errors.log" \
	"$rundir/console-1.log"
{
	for v in boot paging ram machine mem name smp maxcpus qmp gdb agent accel cpu kernel append; do
		printf '%s=%s\n' "$v" "${!v@Q}"
	done
	printf 'kernel_release=%s\n' "$(cat "$images/kernel-release")"
	printf 'qemu=%s\n' "qemu-system-x86_64 ${args[*]@Q}"
	printf 'user=%s\n' "${user@Q}"
} >"$rundir/options"

started=0
cleanup() {
	if [ "$started" != 1 ]; then
		do_stop 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

qemu_alive() { [ -n "$(qemu_pids)" ]; }

# Nested KVM inside the emulated L1 of tests/kmod now and then loses an
# L2 early in its boot: QEMU ends as after a triple fault (-no-reboot), with
# the console cut mid-line and nothing in the L1's kernel log (CI,
# 2026-12-03: 12 s in, at "ACPI: PCI Root Bridge ["). No keyhole code has
# touched that guest yet, so under KVM one more boot follows, said on
# stderr with the first console kept as console-1.log. A guest that
# panicked, or reported FAIL, is not booted again.
tries=1
[ "$accel" = kvm ] && tries=2
for try in $(seq 1 "$tries"); do
	t0=$(date +%s.%N)
	if ! "${runas[@]}" qemu-system-x86_64 "${args[@]}" </dev/null >"$rundir/qemu.log" 2>&1; then
		cat "$rundir/qemu.log" >&2
		die "qemu-system-x86_64 failed to start"
	fi
	rc=0
	wait_booted vm.sh "$rundir" "$timeout" qemu_alive "$t0" || rc=$?
	[ "$rc" = 0 ] && break
	if [ "$rc" != 1 ] || [ "$try" = "$tries" ] || qemu_alive ||
	   grep -qE 'Kernel panic|BUG:|Oops|kh-[a-z-]*: FAIL' "$rundir/console.log"; then
		exit 1
	fi
	mv "$rundir/console.log" "$rundir/console-$try.log"
	echo "vm.sh: $name: QEMU ended during boot $try under nested KVM; booting again" >&2
done
pid=$(cat "$rundir/qemu.pid")
secs=$(cat "$rundir/boot-seconds")
echo "vm.sh: $name up in ${secs}s ($boot, paging $paging, $ram, $machine, $mem, $accel)" >&2
started=1
echo "$pid"

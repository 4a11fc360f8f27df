#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# libvirt.sh - start and stop keyhole test guests under libvirt.
#
#   libvirt.sh daemon-start STATEFILE
#   libvirt.sh daemon-stop STATEFILE
#   libvirt.sh start RUNDIR --name NAME [--ram anon|memfd] [--mem SIZE]
#                    [--smp N] [--agent] [--timeout SECS] [--uri URI]
#                    [--accel tcg|kvm] [--images DIR]
#   libvirt.sh stop RUNDIR
#
# Why: on many hosts the guests keyhole inspects are libvirt's, and
# there libvirtd holds QEMU's only QMP monitor (and the agent's socket), so
# keyhole cannot talk to QEMU itself: the tests must see that it copes.
# The guest is vm.sh's default one (bzImage, 4-level paging, machine pc,
# -cpu max,la57=off, 1 vCPU, 1G) as a TRANSIENT domain (virsh create, gone
# once destroyed; without vm.sh's NIC: eth0 is left out), with the same
# two serial ports in the same order:
# ttyS0 to RUNDIR/console.log, ttyS1 (the guest's kh-truth) on the unix
# socket RUNDIR/truth.sock; with --agent a virtio-serial port
# org.qemu.guest_agent.0 served by qemu-ga in the guest, whose socket
# libvirtd picks and holds (use `virsh qemu-agent-command`). There is no
# QMP socket of our own (use `virsh qemu-monitor-command`).
# `start` writes RUNDIR/domain.xml, options (vm.sh's keys where they mean
# something, plus libvirt=1, uri, name, uuid), qemu.pid and boot-seconds,
# returns once kh-truth answers "pong" and prints the QEMU pid, like
# vm.sh; it fails (console tail shown, domain destroyed) when the guest
# does not come up or reported "kh-*: FAIL" on its console.
# QEMU runs as another user (libvirt-qemu for qemu:///system) and libvirt
# chowns the kernel and initrd it boots, so they are copied into RUNDIR:
# the shared images are only read. The images must be built already
# (tests/guest/build.sh, or any vm.sh start).
# `stop` destroys the domain (fine if it is gone) and waits for its QEMU.
# `daemon-start` starts virtlogd and libvirtd (daemonized) unless a
# libvirtd already answers, and records in STATEFILE what it started;
# `daemon-stop` stops only that. Both are idempotent.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
images=${KH_GUEST_IMAGES:-$here/../../build/guest}
# shellcheck source=tests/guest/booted.sh
. "$here/booted.sh"

usage() {
	sed -n '4,11p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
die() { echo "libvirt.sh: $*" >&2; exit 1; }

# ---- daemons ---------------------------------------------------------

sys_uri=qemu:///system

answers() { virsh -c "$sys_uri" version >/dev/null 2>&1; }

# pidof_file PIDFILE COMM: the pid in PIDFILE if that process is COMM
pidof_file() {
	local pid
	pid=$(cat "$1" 2>/dev/null) || return 1
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || return 1
	echo "$pid"
}

alive() {	# alive PID COMM
	[ -n "$1" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]
}

wait_dead() {	# wait_dead SECS PID COMM
	local end=$((SECONDS + $1))
	while alive "$2" "$3"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.2
	done
}

# stop_daemon PID COMM: SIGTERM, then SIGKILL, wait until it is gone
stop_daemon() {
	alive "$1" "$2" || return 0
	kill -TERM "$1" 2>/dev/null || true
	wait_dead 30 "$1" "$2" && return 0
	echo "libvirt.sh: $2 ($1) ignores SIGTERM, killing it" >&2
	kill -KILL "$1" 2>/dev/null || true
	wait_dead 10 "$1" "$2" || die "$2 ($1) does not go away"
}

daemon_start() {
	local state=$1 started_libvirtd=0 started_virtlogd=0
	local libvirtd_pid='' virtlogd_pid='' end
	# already started by us (and still running): nothing to do
	if [ -r "$state" ] && answers; then
		return 0
	fi
	if answers; then
		printf 'started_libvirtd=0\nstarted_virtlogd=0\n' >"$state"
		echo "libvirt.sh: libvirtd was already running" >&2
		return 0
	fi
	mkdir -p /run/libvirt
	if ! virtlogd_pid=$(pidof_file /run/virtlogd.pid virtlogd); then
		virtlogd -d || die "virtlogd -d failed"
		started_virtlogd=1
		end=$((SECONDS + 30))
		until virtlogd_pid=$(pidof_file /run/virtlogd.pid virtlogd); do
			[ $SECONDS -ge $end ] && die "virtlogd wrote no /run/virtlogd.pid"
			sleep 0.1
		done
	fi
	if ! libvirtd_pid=$(pidof_file /run/libvirtd.pid libvirtd); then
		libvirtd -d || die "libvirtd -d failed"
		started_libvirtd=1
		end=$((SECONDS + 30))
		until libvirtd_pid=$(pidof_file /run/libvirtd.pid libvirtd); do
			[ $SECONDS -ge $end ] && die "libvirtd wrote no /run/libvirtd.pid"
			sleep 0.1
		done
	fi
	{
		printf 'started_libvirtd=%s\nlibvirtd_pid=%s\n' \
			"$started_libvirtd" "$libvirtd_pid"
		printf 'started_virtlogd=%s\nvirtlogd_pid=%s\n' \
			"$started_virtlogd" "$virtlogd_pid"
	} >"$state"
	end=$((SECONDS + 60))
	until answers; do
		alive "$libvirtd_pid" libvirtd || die "libvirtd ($libvirtd_pid) died"
		[ $SECONDS -ge $end ] && die "libvirtd does not answer on $sys_uri"
		sleep 0.2
	done
	echo "libvirt.sh: started libvirtd ($libvirtd_pid)" \
		"${started_virtlogd/1/and virtlogd ($virtlogd_pid)}" >&2
}

daemon_stop() {
	local state=$1 started_libvirtd=0 started_virtlogd=0
	local libvirtd_pid='' virtlogd_pid='' doms
	[ -r "$state" ] || return 0
	# shellcheck disable=SC1090
	. "$state"
	if [ "$started_libvirtd" = 1 ] && alive "$libvirtd_pid" libvirtd; then
		doms=$(virsh -c "$sys_uri" list --name 2>/dev/null |
			grep . | tr '\n' ' ' || true)
		[ -z "$doms" ] || echo "libvirt.sh: stopping libvirtd while" \
			"domains run (they keep running): $doms" >&2
		stop_daemon "$libvirtd_pid" libvirtd
	fi
	[ "$started_virtlogd" = 1 ] && stop_daemon "$virtlogd_pid" virtlogd
	rm -f "$state"
}

# ---- guests ----------------------------------------------------------

# pids of the QEMU of the domain with UUID $uuid (QEMU gets -uuid UUID, so
# this works without libvirtd, and whatever the URI keeps its pid files)
qemu_pids() {
	local f pid
	[ -n "${uuid:-}" ] || return 0
	grep -laF -- "$uuid" /proc/[0-9]*/cmdline 2>/dev/null |
	while IFS= read -r f; do
		pid=${f#/proc/}
		pid=${pid%/cmdline}
		case "$(head -c 300 "$f" 2>/dev/null | tr '\0' '\n' | head -n1)" in
		*qemu-system*) echo "$pid" ;;
		esac
	done
	return 0
}

wait_gone() {	# wait_gone SECS: 0 once the domain's QEMU is gone
	local end=$((SECONDS + $1))
	while [ -n "$(qemu_pids)" ]; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.2
	done
	return 0
}

do_stop() {
	local -a pids
	if [ -n "${uuid:-}" ]; then
		# by UUID: the name may since belong to another domain
		virsh -c "$uri" destroy "$uuid" >/dev/null 2>&1 || true
		wait_gone 30 || true
		# libvirtd gone, or did not manage: do it ourselves
		mapfile -t pids < <(qemu_pids)
		if [ ${#pids[@]} -gt 0 ]; then
			kill -TERM "${pids[@]}" 2>/dev/null || true
			wait_gone 5 || true
			mapfile -t pids < <(qemu_pids)
			[ ${#pids[@]} -eq 0 ] || kill -KILL "${pids[@]}" 2>/dev/null || true
			wait_gone 5 || die "QEMU $(qemu_pids) of $name does not go away"
		fi
	fi
	rm -f "$rundir/truth.sock" "$rundir/qemu.pid" "$rundir/bzImage" \
		"$rundir/initramfs.cpio.gz"
}

# opt KEY: the value of KEY in RUNDIR/options (written with ${v@Q}; not
# sourced as a whole: the qemu= line is vm.sh's, a list of quoted words)
opt() {
	local line
	line=$(grep -m1 "^$1=" "$rundir/options" 2>/dev/null) || return 0
	eval "printf '%s' ${line#*=}"
}

# ---- main ------------------------------------------------------------

cmd=${1:-}
[ $# -ge 2 ] || usage
case "$cmd" in
daemon-start)
	[ $# -eq 2 ] || usage
	daemon_start "$2"
	exit 0
	;;
daemon-stop)
	[ $# -eq 2 ] || usage
	daemon_stop "$2"
	exit 0
	;;
esac

rundir=$2
shift 2
mkdir -p "$rundir"
rundir=$(cd "$rundir" && pwd)

case "$cmd" in
stop)
	[ $# -eq 0 ] || usage
	uri=$(opt uri) name=$(opt name) uuid=$(opt uuid)
	uri=${uri:-$sys_uri}
	do_stop
	exit 0
	;;
start) ;;
*) usage ;;
esac

name='' ram=anon mem=1G smp=1 agent=0 timeout=180 uri=$sys_uri accel=tcg
while [ $# -gt 0 ]; do
	case "$1" in
	--name) name=${2:?}; shift ;;
	--ram) ram=${2:?}; shift ;;
	--mem) mem=${2:?}; shift ;;
	--smp) smp=${2:?}; shift ;;
	--agent) agent=1 ;;
	--timeout) timeout=${2:?}; shift ;;
	--uri) uri=${2:?}; shift ;;
	--accel) accel=${2:?}; shift ;;
	--images) images=${2:?}; shift ;;
	*) echo "libvirt.sh: unknown option $1" >&2; usage ;;
	esac
	shift
done
[[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || die "--name NAME ([A-Za-z0-9_.-])"
case "$ram" in memfd|anon) ;; *) die "--ram memfd|anon" ;; esac
case "$accel" in tcg) dtype=qemu ;; kvm) dtype=kvm ;; *) die "--accel tcg|kvm" ;; esac
[[ "$smp" =~ ^[1-9][0-9]*$ ]] || die "--smp N"
[[ "$timeout" =~ ^[1-9][0-9]*$ ]] || die "--timeout SECS"
[[ "$mem" =~ ^[0-9]+[MGmg]?$ ]] || die "--mem SIZE (e.g. 512M, 3G)"
[ ${#rundir} -lt 96 ] || die "RUNDIR path too long for unix sockets: $rundir"
for f in bzImage initramfs.cpio.gz kernel-release truth; do
	[ -r "$images/$f" ] || die "$images/$f missing (run tests/guest/build.sh $images)"
done
images=$(cd "$images" && pwd)
# as QEMU's -m: a plain number is MiB
case "$mem" in
*[Gg]) mib=$((${mem%?} * 1024)) ;;
*[Mm]) mib=${mem%?} ;;
*) mib=$mem ;;
esac

uuid=$(opt uuid)
[ -z "$(qemu_pids)" ] ||
	die "a domain is already running for $rundir (libvirt.sh stop it first)"
virsh -c "$uri" domstate "$name" >/dev/null 2>&1 &&
	die "a domain $name exists already on $uri (libvirt.sh stop, or virsh destroy it)"

# what vm.sh passes for its default guest (bzimage, paging 4); the
# variables only go to RUNDIR/options (write_options reads them by name)
# shellcheck disable=SC2034
boot=bzimage paging=4 machine=pc maxcpus='' qmp=0 gdb=0 cpu=max,la57=off
kernel=$rundir/bzImage
initrd=$rundir/initramfs.cpio.gz
append="console=ttyS0 panic=-1 oops=panic no_hash_pointers"
# shellcheck disable=SC2034
libvirt=1
uuid=$(cat /proc/sys/kernel/random/uuid)

rm -f "$rundir/console.log" "$rundir/truth.sock" "$rundir/qemu.pid" \
	"$rundir/boot-seconds" "$rundir/options" "$rundir/domain.xml"
# QEMU runs as another user (libvirt-qemu): every folder above the rundir
# must let it through, or it fails late with "Permission denied".
d=$rundir
while [ "$d" != / ]; do
	case $(stat -c %A "$d") in
	?????????[xt]) ;;
	*) die "QEMU (another user) cannot get through $d: chmod o+x it, or use another RUNDIR" ;;
	esac
	d=$(dirname "$d")
done
cp "$images/bzImage" "$kernel"
cp "$images/initramfs.cpio.gz" "$initrd"

memback=''
[ "$ram" = memfd ] && memback="
  <memoryBacking>
    <source type='memfd'/>
    <access mode='shared'/>
  </memoryBacking>"
agentdev=''
[ "$agent" = 1 ] && agentdev="
    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>"
# Without <acpi/> libvirt passes -no-acpi (QEMU's pc has ACPI); without
# usb/memballoon model='none' it adds a USB controller and a balloon
# (vm.sh runs -nodefaults with neither). No isa-debug-exit: only
# kvm-usable.sh's probe uses it, never the guest, and it would need
# <qemu:commandline>. on_*=destroy: -no-reboot, panic=-1 ends the domain.
cat >"$rundir/domain.xml" <<EOF
<domain type='$dtype'>
  <name>$name</name>
  <uuid>$uuid</uuid>
  <memory unit='MiB'>$mib</memory>$memback
  <vcpu>$smp</vcpu>
  <os>
    <type arch='x86_64' machine='$machine'>hvm</type>
    <kernel>$kernel</kernel>
    <initrd>$initrd</initrd>
    <cmdline>$append</cmdline>
  </os>
  <features>
    <acpi/>
  </features>
  <cpu mode='maximum' check='none'>
    <feature policy='disable' name='la57'/>
  </cpu>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <serial type='file'>
      <source path='$rundir/console.log'/>
      <target port='0'/>
    </serial>
    <serial type='unix'>
      <source mode='bind' path='$rundir/truth.sock'/>
      <target port='1'/>
    </serial>$agentdev
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
EOF

write_options() {
	local v
	for v in boot paging ram machine mem name smp maxcpus qmp gdb agent accel cpu kernel append libvirt uri uuid; do
		printf '%s=%s\n' "$v" "${!v@Q}"
	done
	printf 'kernel_release=%s\n' "$(cat "$images/kernel-release")"
}
write_options >"$rundir/options"

started=0
cleanup() {
	if [ "$started" != 1 ]; then
		do_stop 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

running() { [ "$(virsh -c "$uri" domstate "$uuid" 2>/dev/null)" = running ]; }

t0=$(date +%s.%N)
if ! virsh -c "$uri" create "$rundir/domain.xml" >"$rundir/virsh.log" 2>&1; then
	cat "$rundir/virsh.log" >&2
	die "virsh create failed"
fi
got=$(virsh -c "$uri" domuuid "$name")
[ "$got" = "$uuid" ] || die "domain $name has uuid '$got', not $uuid"
pid=$(qemu_pids)
[[ "$pid" =~ ^[0-9]+$ ]] || die "no single QEMU process of $name: '$pid'"
echo "$pid" >"$rundir/qemu.pid"

domain_alive() { running && [ -n "$(qemu_pids)" ]; }
if ! wait_booted libvirt.sh "$rundir" "$timeout" domain_alive "$t0"; then
	# QEMU's stderr, as libvirtd's virtlogd keeps it (qemu:///system)
	qlog=/var/log/libvirt/qemu/$name.log
	if [ -r "$qlog" ]; then
		echo "libvirt.sh: $qlog tail:" >&2
		tail -n 5 "$qlog" >&2
	fi
	exit 1
fi
secs=$(cat "$rundir/boot-seconds")
{
	# where libvirtd put the agent's socket (it is libvirtd's to use)
	if [ "$agent" = 1 ]; then
		printf 'agent_socket=%s\n' "$(virsh -c "$uri" dumpxml "$uuid" |
			grep -o "path='[^']*/org\.qemu\.guest_agent\.0'" |
			sed "s/^path='//; s/'\$//" | sed -n 1p)"
	fi
	printf 'qemu_pid=%s\n' "$pid"
	printf 'qemu=%s\n' "$(tr '\0' '\n' <"/proc/$pid/cmdline" |
		while IFS= read -r a; do printf '%s ' "${a@Q}"; done)"
} >>"$rundir/options"
echo "libvirt.sh: $name up in ${secs}s (libvirt $uri, $ram, $mem, $accel)" >&2
started=1
echo "$pid"

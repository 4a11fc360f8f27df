#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# kvm-usable.sh [CACHEDIR] - print "yes" if QEMU's KVM accelerator can really
# run a guest here, else "no" (exit 0 either way).
#
# Why: /dev/kvm can exist and open fine yet be unable to run an ordinary
# guest (e.g. a PVM-only KVM), so its presence proves nothing.  We run a
# 64 KiB flat -bios payload under -accel kvm whose reset vector (file
# offset 0xFFF0) does `mov al,0x2a; out 0xf4,al; hlt` (B0 2A E6 F4 F4);
# with isa-debug-exit on port 0xf4 QEMU then exits with (0x2a<<1)|1 = 85.
# Anything else within ~10 s means no. The probe uses -cpu max, as vm.sh
# does: a PVM-only KVM runs the payload with QEMU's default CPU model yet
# aborts on -cpu max's MSR setup ("failed to set MSR 0x10a"). A newer PVM
# KVM runs the payload and then fails on a Linux guest's first page
# tables ("kvm-pvm: INTERNAL_ERROR in batch emul", the guest silent
# forever), so the payload alone proves too little: an ordinary guest
# needs hardware virtualization, and a CPU without vmx or svm in
# /proc/cpuinfo says no before anything runs. The answer is cached in
# CACHEDIR/kvm-usable together with the host's boot id, so it is recomputed
# after a reboot.
set -u

cache=${1:-}
boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
if [ -n "$cache" ] && [ -r "$cache/kvm-usable" ]; then
	read -r id answer <"$cache/kvm-usable"
	if [ "$id" = "$boot_id" ] && [ -n "$answer" ]; then
		echo "$answer"
		exit 0
	fi
fi

answer=no
if grep -qwE 'vmx|svm' /proc/cpuinfo &&
	command -v qemu-system-x86_64 >/dev/null; then
	tmp=$(mktemp -d /tmp/kvm-usable.XXXXXX)
	head -c 65536 /dev/zero >"$tmp/bios.bin"
	printf '\xb0\x2a\xe6\xf4\xf4' |
		dd of="$tmp/bios.bin" bs=1 seek=$((0xfff0)) conv=notrunc status=none
	# In a subshell so that QEMU's abort is not reported by this shell.
	(timeout -k 2 10 qemu-system-x86_64 -accel kvm -cpu max \
		-bios "$tmp/bios.bin" -m 16 -nodefaults -display none \
		-no-reboot -serial none \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		</dev/null >"$tmp/log" 2>&1; echo $? >"$tmp/rc") 2>/dev/null
	[ "$(cat "$tmp/rc")" = 85 ] && answer=yes
	rm -rf "$tmp"
fi

if [ -n "$cache" ]; then
	mkdir -p "$cache" && echo "$boot_id $answer" >"$cache/kvm-usable"
fi
echo "$answer"

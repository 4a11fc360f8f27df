#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# build.sh OUTDIR - build the keyhole test guest.
#
# Produces, in OUTDIR:
#   kernel-release     V, the newest Debian kernel with /boot/vmlinuz-V
#                      (never `uname -r`: the host kernel is not Debian's)
#   bzImage            copy of /boot/vmlinuz-V (boots with KASLR)
#   vmlinux            the uncompressed ELF inside it (PVH entry: QEMU
#                      -kernel vmlinux boots it directly, no KASLR)
#   initramfs.cpio.gz  busybox-static + /init + the static khguest programs
#                      + the kernel modules in $modules (and their
#                      dependencies) from /lib/modules/V, uncompressed so
#                      that busybox insmod can load them
#   khrootkit.ko       tests/guest/rootkit built by kbuild against V's
#                      headers (in OUTDIR/rootkit.d, W=1, no warnings);
#                      in the initramfs but not loaded at boot
#   truth              host-side client for the guest's truth daemon
#   qga.d/             Debian's qemu-guest-agent unpacked (apt-get download +
#                      dpkg-deb -x): qemu-ga and the host's copies of the
#                      shared libraries it needs go into the initramfs, for
#                      the agent technique (class I); Debian's bash (the
#                      host's /bin/bash) and its libraries likewise, for
#                      kh-bash
# Idempotent: a step is skipped when its outputs are newer than its inputs.
# Concurrent runs are serialised with a lock in OUTDIR.  No root is needed:
# the /dev/console node comes from a hand-written cpio entry, not mknod.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)

exec 9>"$out/.build.lock"
flock 9

say() { echo "build.sh: $*" >&2; }

# uptodate OUT IN...: OUT exists and is newer than every IN
uptodate() {
	local o=$1 i
	shift
	[ -e "$o" ] || return 1
	for i; do
		[ "$o" -nt "$i" ] || return 1
	done
}

# --- kernel -----------------------------------------------------------
V=$(ls /boot/vmlinuz-* 2>/dev/null | sed 's|^/boot/vmlinuz-||' | sort -V | tail -n1)
[ -n "$V" ] || { say "no /boot/vmlinuz-* (apt-get install linux-image-amd64)"; exit 1; }
vmlinuz=/boot/vmlinuz-$V
if [ "$(cat "$out/kernel-release" 2>/dev/null)" != "$V" ]; then
	echo "$V" >"$out/kernel-release"
fi

if ! uptodate "$out/bzImage" "$vmlinuz" "$out/kernel-release"; then
	say "bzImage <- $vmlinuz"
	cp "$vmlinuz" "$out/bzImage.tmp"
	mv "$out/bzImage.tmp" "$out/bzImage"
fi

if ! uptodate "$out/vmlinux" "$out/bzImage"; then
	say "vmlinux <- xz payload of bzImage"
	ok=
	for off in $(LC_ALL=C grep -obUaP '\xfd\x37\x7a\x58\x5a\x00' "$out/bzImage" | cut -d: -f1); do
		# (tail may die of SIGPIPE when xz stops after one stream)
		if { tail -c +$((off + 1)) "$out/bzImage" || true; } |
		   xz -dc --single-stream >"$out/vmlinux.tmp" 2>/dev/null &&
		   [ "$(head -c 4 "$out/vmlinux.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
			ok=1
			break
		fi
	done
	[ -n "$ok" ] || { say "no xz-compressed ELF found in $vmlinuz"; rm -f "$out/vmlinux.tmp"; exit 1; }
	mv "$out/vmlinux.tmp" "$out/vmlinux"
fi

# --- guest programs ---------------------------------------------------
if ! uptodate "$out/khguest" "$here/khguest.c"; then
	say "khguest (static)"
	gcc -static -O2 -Wall -Werror -o "$out/khguest.tmp" "$here/khguest.c" -lpthread
	mv "$out/khguest.tmp" "$out/khguest"
fi

if ! uptodate "$out/truth" "$here/truth.c"; then
	say "truth (host)"
	cc -O2 -Wall -Werror -o "$out/truth.tmp" "$here/truth.c"
	mv "$out/truth.tmp" "$out/truth"
fi

# --- kernel modules ---------------------------------------------------
# Real Debian modules, loaded by /init, so keyhole has a module list to
# read: dummy (provides khdummy0) and crc7 (tiny, no dependencies);
# virtio_pci + virtio_console for the guest agent's virtio-serial port;
# virtio_net for eth0, the NIC vm.sh gives every guest.
modules="dummy crc7 virtio_pci virtio_console virtio_net"
moddir=/lib/modules/$V
[ -e "$moddir/modules.dep" ] ||
	{ say "no $moddir/modules.dep (apt-get install linux-image-$V)"; exit 1; }
# modfiles: the .ko[.xz|.zst|.gz] files, dependencies first, no duplicates
modfiles=
for m in $modules; do
	deps=$(modprobe -S "$V" --show-depends "$m" | awk '$1 == "insmod" { print $2 }') ||
		{ say "modprobe -S $V --show-depends $m failed"; exit 1; }
	[ -n "$deps" ] || { say "module $m: not found (or built in) in $V"; exit 1; }
	for f in $deps; do
		case " $modfiles " in *" $f "*) ;; *) modfiles="$modfiles $f" ;; esac
	done
done

# --- test rootkit -----------------------------------------------------
# khrootkit.ko (rootkit/khrootkit.c), a test-only rootkit: in the
# initramfs, but loaded only by kh-truth's "rootkit" request, never at
# boot (so it is not in /etc/kh-modules). kbuild builds it against V's
# headers in a copy under OUTDIR (no build products in the source tree),
# with W=1; any warning fails the build.
kdir=$moddir/build
rkdir=$out/rootkit.d
rksrcs="$here/rootkit/khrootkit.c $here/rootkit/Kbuild"
if ! uptodate "$out/khrootkit.ko" $rksrcs "$here/build.sh" "$out/kernel-release"; then
	[ -e "$kdir/Makefile" ] ||
		{ say "no kbuild in $kdir (apt-get install linux-headers-$V)"; exit 1; }
	wflag=
	[ -e "$kdir/scripts/Makefile.extrawarn" ] && wflag=W=1
	say "khrootkit.ko (kbuild $wflag)"
	rm -rf "$rkdir"
	mkdir -p "$rkdir"
	cp $rksrcs "$rkdir/"
	# a make above (make guest O=...) must not pass its O= and jobserver on
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		make -C "$kdir" M="$rkdir" O= $wflag modules >"$rkdir/build.log" 2>&1 ||
		{ cat "$rkdir/build.log" >&2; say "khrootkit.ko: kbuild failed"; exit 1; }
	if grep -E '[Ww]arning:|WARNING:' "$rkdir/build.log" >&2; then
		say "khrootkit.ko: warnings (see $rkdir/build.log)"
		exit 1
	fi
	# without its DWARF (~400 KB; rootkit.d keeps the full one)
	strip --strip-debug -o "$out/khrootkit.ko.tmp" "$rkdir/khrootkit.ko"
	mv "$out/khrootkit.ko.tmp" "$out/khrootkit.ko"
fi

# --- guest agent ------------------------------------------------------
# qemu-ga is dynamically linked: it runs on the host's own copies of its
# libraries (those of the same Debian release, which QEMU itself needs).
if [ ! -x "$out/qga.d/usr/sbin/qemu-ga" ]; then
	say "qemu-ga <- apt-get download qemu-guest-agent"
	rm -rf "$out/qga.dl" "$out/qga.d"
	mkdir -p "$out/qga.dl"
	# A fresh machine may have no package lists yet: update once.
	(cd "$out/qga.dl" && apt-get download -q qemu-guest-agent >&2) ||
	{ apt-get update -q >&2 &&
	  (cd "$out/qga.dl" && apt-get download -q qemu-guest-agent >&2); } ||
		{ say "apt-get download qemu-guest-agent failed (apt-get update needs root)"; exit 1; }
	dpkg-deb -x "$out"/qga.dl/qemu-guest-agent_*.deb "$out/qga.d"
	rm -rf "$out/qga.dl"
	[ -x "$out/qga.d/usr/sbin/qemu-ga" ] ||
		{ say "no usr/sbin/qemu-ga in the qemu-guest-agent package"; exit 1; }
fi
qga_libs=$(ldd "$out/qga.d/usr/sbin/qemu-ga" | awk '
	/not found/ { print "MISSING:" $1; next }
	$2 == "=>" && $3 ~ /^\// { print $3; next }
	$1 ~ /^\// { print $1 }')
case "$qga_libs" in
*MISSING:*)
	say "qemu-ga needs libraries the host lacks: $(echo "$qga_libs" | sed -n 's/^MISSING://p' | tr '\n' ' ')"
	exit 1 ;;
esac

# Debian's bash for kh-bash (keyhole bash reads its history), with its
# libraries, as qemu-ga's: the host's copies.
bash_libs=$(ldd /bin/bash | awk '
	/not found/ { print "MISSING:" $1; next }
	$2 == "=>" && $3 ~ /^\// { print $3; next }
	$1 ~ /^\// { print $1 }')
case "$bash_libs" in
*MISSING:*)
	say "bash needs libraries the host lacks: $(echo "$bash_libs" | sed -n 's/^MISSING://p' | tr '\n' ' ')"
	exit 1 ;;
esac

# --- initramfs --------------------------------------------------------
busybox=
for b in /bin/busybox /usr/bin/busybox; do
	if [ -x "$b" ] && file -L "$b" 2>/dev/null | grep -q 'statically linked'; then
		busybox=$b
		break
	fi
done
[ -n "$busybox" ] || { say "no static busybox (apt-get install busybox-static)"; exit 1; }

# cpio_newc_entry NAME MODE MAJOR MINOR: one newc header for an empty inode
cpio_newc_entry() {
	local name=$1 mode=$2 rmaj=$3 rmin=$4 namesize hdr pad
	namesize=$(( ${#name} + 1 ))
	hdr=$(printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		0 "$mode" 0 0 1 0 0 0 0 "$rmaj" "$rmin" "$namesize" 0)
	printf '%s%s\0' "$hdr" "$name"
	pad=$(( (4 - (110 + namesize) % 4) % 4 ))
	head -c "$pad" /dev/zero
}

if ! uptodate "$out/initramfs.cpio.gz" "$here/init" "$out/khguest" "$busybox" \
	"$here/build.sh" "$out/kernel-release" $modfiles "$out/khrootkit.ko" \
	"$out/qga.d/usr/sbin/qemu-ga" /bin/bash; then
	say "initramfs.cpio.gz"
	root=$out/initramfs.d
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,root,etc}
	cp "$busybox" "$root/bin/busybox"
	for a in $("$busybox" --list-full); do
		[ -e "$root/$a" ] || ln -s /bin/busybox "$root/$a"
	done
	cp "$out/khguest" "$root/bin/khguest"
	for p in kh-tree kh-files kh-listen kh-threads kh-churn kh-sockets \
		 kh-netns kh-maps kh-webload kh-bash kh-truth; do
		ln -sf khguest "$root/bin/$p"
	done
	# modules flat in /lib/modules/V/NAME.ko; /etc/kh-modules lists
	# them in load order (dependencies first)
	mkdir -p "$root/lib/modules/$V"
	for f in $modfiles; do
		b=$(basename "$f")
		case "$b" in
		*.ko) cat "$f" ;;
		*.ko.xz) xz -dc "$f" ;;
		*.ko.zst) zstd -dcq "$f" ;;
		*.ko.gz) gzip -dc "$f" ;;
		*) say "unknown module file type: $f"; exit 1 ;;
		esac >"$root/lib/modules/$V/${b%.ko*}.ko"
		echo "${b%.ko*}" >>"$root/etc/kh-modules"
	done
	# not in /etc/kh-modules: only kh-truth's "rootkit" request loads it
	cp "$out/khrootkit.ko" "$root/lib/modules/$V/khrootkit.ko"
	install -m 0755 "$here/init" "$root/init"
	install -m 0755 "$out/qga.d/usr/sbin/qemu-ga" "$root/usr/sbin/qemu-ga"
	# /usr/local/bin: not one of busybox's applet links
	install -D -m 0755 /bin/bash "$root/usr/local/bin/bash"
	for l in $qga_libs $bash_libs; do
		mkdir -p "$root$(dirname "$l")"
		cp -L "$l" "$root$l"
	done
	mkdir -p "$root/var/lib" && ln -s /run "$root/var/run"
	echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
	echo 'kh:x:1000:1000:kh:/tmp:/bin/sh' >>"$root/etc/passwd"
	printf 'root:x:0:\nkh:x:1000:\n' >"$root/etc/group"
	{
		(cd "$root" && find . -mindepth 1 | sed 's|^\./||' | LC_ALL=C sort |
			cpio -o -H newc -R 0:0 --quiet)
		# a second archive (the kernel accepts concatenated ones) with
		# device nodes, written by hand so no mknod/root is needed;
		# it must come after the archive that creates dev/
		cpio_newc_entry dev/console $((0020000 | 0600)) 5 1
		cpio_newc_entry dev/null $((0020000 | 0666)) 1 3
		cpio_newc_entry 'TRAILER!!!' 0 0 0
	} | gzip -9 >"$out/initramfs.cpio.gz.tmp"
	mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
fi

say "ok: $out (kernel $V)"

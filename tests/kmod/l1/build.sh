#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# build.sh OUTDIR - build the L1 guest that keyhole.ko is tested in.
#
# The host kernel cannot load modules, so the module is loaded in a Debian
# kernel booted under QEMU (tests/kmod/run). That guest (the "L1") runs
# nothing of its own: its /init mounts the host's root read-only and the
# checkout writable over 9p and chroots into them, so the host's qemu,
# modprobe, bash and the freshly built test programs run unchanged.
#
# Produces, in OUTDIR:
#   kernel-release     V: the newest Debian kernel with both /boot/vmlinuz-V
#                      and /lib/modules/V/build/Makefile, the same choice as
#                      the Makefile's KDIR, so keyhole.ko loads (MODVERSIONS)
#   vmlinux            the ELF inside /boot/vmlinuz-V: QEMU boots its PVH
#                      entry directly, ~6 s to /init under TCG instead of
#                      ~13 s through the decompressor
#   initramfs.cpio.gz  busybox-static, /init (tests/kmod/l1/init) and the
#                      9p-over-virtio modules with their dependencies
# A step is skipped when its output is newer than its inputs; concurrent
# runs are serialised by a lock in OUTDIR. No root needed: /dev/console is
# a hand-written cpio entry, not mknod.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)

exec 9>"$out/.build.lock"
flock 9

say() { echo "l1/build.sh: $*" >&2; }

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
V=
for v in $(ls /boot 2>/dev/null | sed -n 's/^vmlinuz-//p' | sort -rV); do
	if [ -f "/lib/modules/$v/build/Makefile" ]; then
		V=$v
		break
	fi
done
[ -n "$V" ] || { say "no kernel with both /boot/vmlinuz-V and /lib/modules/V/build (make deps)"; exit 1; }
vmlinuz=/boot/vmlinuz-$V
# rewritten only on change, so its mtime says when V last changed
[ "$(cat "$out/kernel-release" 2>/dev/null)" = "$V" ] || echo "$V" >"$out/kernel-release"

if ! uptodate "$out/vmlinux" "$vmlinuz" "$out/kernel-release"; then
	say "vmlinux <- xz payload of $vmlinuz"
	ok=
	for off in $(LC_ALL=C grep -obUaP '\xfd\x37\x7a\x58\x5a\x00' "$vmlinuz" | cut -d: -f1); do
		# (tail may die of SIGPIPE when xz stops after one stream)
		if { tail -c +$((off + 1)) "$vmlinuz" || true; } |
		   xz -dc --single-stream >"$out/vmlinux.tmp" 2>/dev/null &&
		   [ "$(head -c 4 "$out/vmlinux.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
			ok=1
			break
		fi
	done
	[ -n "$ok" ] || { say "no xz-compressed ELF found in $vmlinuz"; rm -f "$out/vmlinux.tmp"; exit 1; }
	mv "$out/vmlinux.tmp" "$out/vmlinux"
fi

# --- 9p modules -------------------------------------------------------
moddir=/lib/modules/$V
[ -e "$moddir/modules.dep" ] ||
	{ say "no $moddir/modules.dep (apt-get install linux-image-$V)"; exit 1; }
# modfiles: dependencies first, each once
modfiles=
for m in virtio_pci 9pnet_virtio 9p; do
	deps=$(modprobe -S "$V" --show-depends "$m" | awk '$1 == "insmod" { print $2 }') ||
		{ say "modprobe -S $V --show-depends $m failed"; exit 1; }
	[ -n "$deps" ] || { say "module $m: not found (or built in) in $V"; exit 1; }
	for f in $deps; do
		case " $modfiles " in *" $f "*) ;; *) modfiles="$modfiles $f" ;; esac
	done
done

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

# shellcheck disable=SC2086
if ! uptodate "$out/initramfs.cpio.gz" "$here/init" "$here/build.sh" \
	"$busybox" "$out/kernel-release" $modfiles; then
	say "initramfs.cpio.gz"
	root=$out/initramfs.d
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,mnt/root,etc,lib/modules}
	cp "$busybox" "$root/bin/busybox"
	for a in $("$busybox" --list-full); do
		[ -e "$root/$a" ] || ln -s /bin/busybox "$root/$a"
	done
	# flat, uncompressed (busybox insmod), listed in load order
	for f in $modfiles; do
		b=$(basename "$f")
		case "$b" in
		*.ko) cat "$f" ;;
		*.ko.xz) xz -dc "$f" ;;
		*.ko.zst) zstd -dcq "$f" ;;
		*.ko.gz) gzip -dc "$f" ;;
		*) say "unknown module file type: $f"; exit 1 ;;
		esac >"$root/lib/modules/${b%.ko*}.ko"
		echo "${b%.ko*}" >>"$root/etc/modules"
	done
	install -m 0755 "$here/init" "$root/init"
	{
		(cd "$root" && find . -mindepth 1 | sed 's|^\./||' | LC_ALL=C sort |
			cpio -o -H newc -R 0:0 --quiet)
		# device nodes in a second archive, after the one that makes dev/
		cpio_newc_entry dev/console $((0020000 | 0600)) 5 1
		cpio_newc_entry dev/null $((0020000 | 0666)) 1 3
		cpio_newc_entry 'TRAILER!!!' 0 0 0
	} | gzip -6 >"$out/initramfs.cpio.gz.tmp"
	mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
	rm -rf "$root"
fi

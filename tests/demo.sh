#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tests/demo.sh BUILD_DIR: `make demo`. Boots the bundled test guest (Debian's
# kernel with KASLR and 5-level paging, RAM above 4 GiB) and shows keyhole
# introspecting it from the host with no profile: what it found, the
# guest's processes and threads, JSON, and the guest's own view beside it.
set -euo pipefail

O=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
export KH_GUEST_IMAGES=$O/guest
rundir=$(mktemp -d /tmp/keyhole-demo.XXXXXX)
name=keyhole-demo-$$
keyhole=$O/bin/keyhole
export KEYHOLE_CACHE_DIR=$rundir/cache

cleanup() {
	"$here/guest/vm.sh" stop "$rundir" >/dev/null 2>&1 || true
	rm -rf "$rundir"
}
trap cleanup EXIT

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

echo "Booting the test guest (QEMU, $(cat "$O/guest/kernel-release"))..."
"$here/guest/vm.sh" start "$rundir" --name "$name" --boot bzimage \
	--paging 5 --ram memfd --machine q35 --mem 3G >/dev/null
echo "Guest '$name' is up. Everything below is read from the host, from"
echo "guest memory alone: no agent in the guest, no profile on disk."

step "$keyhole" vm "$name"
step "$keyhole" info "$name"
step "$keyhole" ps "$name"
echo
echo "\$ $keyhole ps -T $name | grep kh-threads"
"$keyhole" ps -T "$name" | grep kh-threads || true
step "$keyhole" lsmod "$name"
step "$keyhole" ifconfig "$name"
step "$keyhole" ss -a "$name"
maps_pid=$("$O/guest/truth" "$rundir/truth.sock" "pids kh-maps" | sed -n 1p)
step "$keyhole" lsof -p "$maps_pid" "$name"
step "$keyhole" maps "$maps_pid" "$name"
echo
echo "\$ $keyhole ps $rundir/qmp.sock --pretty   (first entry)"
"$keyhole" ps "$rundir/qmp.sock" --pretty >"$rundir/ps.json"
sed -n '1,12p' "$rundir/ps.json"
step "$keyhole" crawl --summary --count 3 --hz 10 "$name"
step "$keyhole" crawl --summary --count 2 --pause "$name"
echo
echo "The guest's own view of its workload (from its /proc, over a serial line):"
"$O/guest/truth" "$rundir/truth.sock" ps >"$rundir/truth.txt"
awk '$6 ~ /^kh-(tree|leaf|files|listen|threads)$/' "$rundir/truth.txt" | sort -n | uniq

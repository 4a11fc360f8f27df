#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tests/fuzz/run.sh BUILD_DIR SECONDS: `make fuzz`, a long run of both
# fuzzers. First the parsers of hostile bytes (tests/fuzz/fuzz_parsers.c:
# RAM images, GDB packets, guest agent replies, the guest's /proc text,
# HMP xp output, the host's /proc, QEMU command lines and libvirt's status
# XML) for a third of SECONDS, from the seeds in
# tests/fuzz/corpus_parsers; then the crawl fuzzer (fuzz_crawl.c) for the
# rest, over a RAM dump of a freshly booted test guest. Corpora grow in
# BUILD_DIR/fuzz/corpus*; crashes, hangs and leaks are left in
# BUILD_DIR/fuzz/. Fails on the first fuzzer that finds one.
set -euo pipefail

O=$(cd "$1" && pwd)
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
export KH_GUEST_IMAGES=$O/guest
work=$(mktemp -d /tmp/keyhole-fuzz.XXXXXX)
trap '"$here/../guest/vm.sh" stop "$work" >/dev/null 2>&1; rm -rf "$work"' EXIT

mkdir -p "$O/fuzz/corpus" "$O/fuzz/corpus-parsers"
cd "$O/fuzz"
TMPDIR=$work ./fuzz_parsers -max_total_time=$((seconds / 3 + 1)) -timeout=10 \
	-rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
	corpus-parsers "$here/corpus_parsers"

"$here/../guest/vm.sh" start "$work" --boot pvh --ram memfd >/dev/null
# The dump is the crawl fuzzer's whole input: a failed or empty one fails.
"$O/guest/truth" -t 300 --qmp "$work/qmp.sock" \
	"{\"execute\":\"dump-guest-memory\",\"arguments\":{\"paging\":false,\"protocol\":\"file:$work/guest.elf\"}}" >/dev/null ||
	{ echo "run.sh: the guest's memory dump failed" >&2; exit 1; }
[ -s "$work/guest.elf" ] || { echo "run.sh: the guest's memory dump is empty" >&2; exit 1; }
KH_FUZZ_IMAGE=$work/guest.elf ./fuzz_crawl \
	-max_total_time=$((seconds - seconds / 3)) -timeout=20 \
	-rss_limit_mb=4096 -print_final_stats=1 corpus

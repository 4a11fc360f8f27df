#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tests/fuzz/run.sh BUILD_DIR SECONDS: `make fuzz`, a long run of the crawl
# fuzzer (tests/fuzz/fuzz_crawl.c) over a RAM dump of a freshly booted
# test guest. Crashes, hangs and leaks are left in BUILD_DIR/fuzz/.
set -euo pipefail

O=$(cd "$1" && pwd)
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
export KH_GUEST_IMAGES=$O/guest
work=$(mktemp -d /tmp/keyhole-fuzz.XXXXXX)
trap '"$here/../guest/vm.sh" stop "$work" >/dev/null 2>&1; rm -rf "$work"' EXIT

"$here/../guest/vm.sh" start "$work" --boot pvh --ram memfd >/dev/null
"$O/guest/truth" -t 300 --qmp "$work/qmp.sock" \
	"{\"execute\":\"dump-guest-memory\",\"arguments\":{\"paging\":false,\"protocol\":\"file:$work/guest.elf\"}}" >/dev/null
mkdir -p "$O/fuzz/corpus"
cd "$O/fuzz"
KH_FUZZ_IMAGE=$work/guest.elf ./fuzz_crawl -max_total_time="$seconds" \
	-timeout=20 -rss_limit_mb=4096 -print_final_stats=1 corpus

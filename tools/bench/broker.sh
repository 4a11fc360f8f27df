#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tools/bench/broker.sh BUILD_DIR GUEST_RUNDIR WORK
#
# The keyholed section of `make bench` (run.sh calls it; it prints
# Markdown). Two measurements:
#  - overhead: one-shot queries through keyholed against the same
#    queries in-process, on the booted guest GUEST_RUNDIR;
#  - scale: as many real QEMU processes as this machine holds, each at
#    -S on a shared file backend holding a RAM image of that booted guest
#    (taken once, guest paused for the copy), so that each is a real QEMU
#    with a real guest kernel in RAM at the cost of one copy; keyholed
#    watches them all and kh-broker-bench reports what came.
set -euo pipefail

O=$(cd "$1" && pwd)
g=$2
work=$3
truth=$O/guest/truth
sock=$work/keyholed.sock
max_vms=${KH_BENCH_MAX_VMS:-1000}
secs=${KH_BENCH_SCALE_SECONDS:-10}
soak_vms=${KH_BENCH_SOAK_VMS:-50}
soak_secs=${KH_BENCH_SOAK_SECONDS:-3600}
qemus=()
daemon=

cleanup() {
	[ -z "$daemon" ] || kill "$daemon" 2>/dev/null || true
	for p in "${qemus[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	rm -f "$work/ram.img"
}
trap cleanup EXIT
mkdir -p "$work"

mem=$(grep -o "^mem=.*" "$g/options" | tr -d "'" | cut -d= -f2)
bytes=$(numfmt --from=iec "$mem")
qmp() { "$truth" -t 600 --qmp "$g/qmp.sock" "$1" >/dev/null; }
qmp '{"execute":"stop"}'
qmp "{\"execute\":\"pmemsave\",\"arguments\":{\"val\":0,\"size\":$bytes,\"filename\":\"$work/ram.img\"}}"
qmp '{"execute":"cont"}'

"$O/bin/keyholed" --foreground --socket "$sock" --cache-dir "" \
	>"$work/keyholed.log" 2>&1 &
daemon=$!
for _ in $(seq 600); do
	[ -S "$sock" ] && break
	sleep 0.1
done

listed() {
	"$O/bin/keyhole" --broker="$sock" --json list |
		grep -c '"name": "kh-scale-' || true
}

# start_qemus N: until N of them run (and keyholed lists them all).
start_qemus() {
	local i
	for ((i = ${#qemus[@]} + 1; i <= $1; i++)); do
		qemu-system-x86_64 -S -display none -nodefaults \
			-cpu max,la57=off -m "$mem" \
			-object "memory-backend-file,id=mem,size=$mem,mem-path=$work/ram.img,share=on" \
			-machine pc,memory-backend=mem -name "kh-scale-$i" \
			-daemonize -pidfile "$work/q$i.pid"
		qemus+=("$(cat "$work/q$i.pid")")
	done
	for _ in $(seq 600); do
		[ "$(listed)" -ge "$1" ] && return 0
		sleep 0.5
	done
	echo "keyholed did not list $1 QEMUs" >&2
	return 1
}

# Room for n more QEMUs, at what each has cost so far (its own memory,
# its page tables, keyholed's share), 2 GiB kept free. No prealloc: as
# a VM restored from an image, each QEMU has touched none of its RAM,
# which keyhole finds in the file (access/residency.c).
avail_kib() { awk '/^MemAvailable:/ { print $2 }' /proc/meminfo; }
avail0=$(avail_kib)
room_for() {
	local avail per=20480
	avail=$(avail_kib)
	[ ${#qemus[@]} -lt 10 ] || per=$(((avail0 - avail) * 5 / 4 / ${#qemus[@]}))
	[ $((avail - 2097152)) -gt $(($1 * per)) ]
}

echo "## keyholed: the broker (tools/bench/broker.sh)"
echo
echo "keyholed with $(nproc) workers (one per core), on the fixed4 guest"
echo "and on QEMUs started for the purpose. All numbers from one run."
echo
echo "### Overhead: a query through the daemon against the same in-process"
echo
echo "Medians of 200 runs each, interleaved: kh_query() on a VM attached in"
echo "this process, against the same query sent to keyholed over its socket"
echo "(one connection, the VM attached by the daemon before timing). The"
echo "difference is the socket round trip and the JSON going both ways;"
echo "crawl is the summary record a subscription streams."
echo
"$O/bin/kh-broker-bench" overhead "$sock" "$(cat "$g/qemu.pid")" 200
echo
echo "### Scale: many VMs watched at once"
echo
echo "Each VM is a real QEMU (\`-S\`, $mem, \`memory-backend-file\` with"
echo "\`share=on\` on one RAM image of the booted fixed4 guest, so all share"
echo "its page cache, and no prealloc, so none has touched its RAM, as a"
echo "VM restored from an image), found by keyholed's rescan and watched with one"
echo "subscription to all of them (\`match\`), summary records. Each row:"
echo "${secs} s of records after a warm-up in which every VM is attached;"
echo "*crawls/s* counts the records that came, *per core* divides by the"
echo "$(nproc) cores, *lateness* is how late each crawl started against its"
echo "deadline, *CPU per crawl* is keyholed's user+system time over the"
echo "records (the crawl, the JSON and the socket)."
echo
echo "| VMs | VMs streamed | Hz asked | crawls/s | per core | lateness p50 | lateness p99 | CPU per crawl | crawl errors |"
echo "|---|---|---|---|---|---|---|---|---|"
reached=0
for n in 1 10 50 100 200 500 1000; do
	[ "$n" -le "$max_vms" ] || break
	room_for $((n - ${#qemus[@]})) || break
	start_qemus "$n"
	reached=$n
	row=$("$O/bin/kh-broker-bench" scale "$sock" "$daemon" 'kh-scale-*' 1 "$secs")
	echo "$row"
	cpu_1hz=$(echo "$row" | awk -F'|' '{ print $9 }' | tr -dc '0-9.')
	# The soak runs once, on the first count of VMs that reaches its own.
	if [ "$n" -ge "$soak_vms" ] && [ -z "${soaked:-}" ]; then
		soaked=$n
		"$O/bin/kh-broker-bench" soak "$sock" "$daemon" 'kh-scale-*' 10 \
			"$soak_secs" 60 >"$work/soak.md"
	fi
done
for hz in 10 100; do
	row=$("$O/bin/kh-broker-bench" scale "$sock" "$daemon" 'kh-scale-*' "$hz" "$secs")
	echo "$row"
	[ "$hz" != 10 ] || cpu_10hz=$(echo "$row" | awk -F'|' '{ print $9 }' | tr -dc '0-9.')
done
inproc=$("$O/bin/kh-broker-bench" inproc 'kh-scale-*' "$secs" "$(nproc)" 1,0)
cpu_paced=$(echo "$inproc" | awk -F'|' '/paced/ { print $6 }' | tr -dc '0-9.')
cpu_flat=$(echo "$inproc" | awk -F'|' '/flat out/ { print $6 }' | tr -dc '0-9.')
pss=$(awk '/^Pss:/ { print $2 }' "/proc/${qemus[0]}/smaps_rollup")
echo
echo "$reached QEMUs ran at once (the largest count that left 2 GiB of this"
echo "machine's memory free$([ "$reached" -lt "$max_vms" ] && echo ", short of $max_vms")); one"
echo "costs $((pss / 1024)) MB PSS. The last two rows ask $reached VMs for 10 and"
echo "100 crawls a second each: *crawls/s* there is the most this machine"
echo "gave, and a VM that could not keep up was slowed down, not late"
echo "forever (keyholed halves its rate; see Documentation/broker.md)."
echo "At 1 crawl a second the daemon's fixed costs (a /proc rescan a"
echo "second, its timers) are shared by few crawls, so CPU per crawl is"
echo "highest in the first rows."
echo
echo "### Overhead at scale: keyholed's CPU per crawl against in-process"
echo
echo "The yardstick: this machine's $reached QEMUs attached in one process"
echo "(\`kh-broker-bench inproc\`) and crawled with \`kh_crawl()\` for ${secs} s"
echo "each way, no JSON and no socket, on $(nproc) threads pinned one per core"
echo "as keyholed's workers are, each over its share of the VMs: *paced*,"
echo "each VM once a second with the phases spread over the second and the"
echo "thread asleep between crawls, as a worker at 1 Hz; and *flat out*,"
echo "round robin with no sleep, as workers that cannot keep up at 10 Hz."
echo "A crawl after a sleep finds colder caches than one straight after"
echo "another, so each keyholed row is set against the yardstick that runs"
echo "the way it does. keyholed's CPU per crawl (the rows above) adds the"
echo "summary record, metrics, the JSON and the socket, and the daemon's"
echo "rescans."
echo
echo "| VMs | threads | how | in-process crawls/s | in-process CPU per crawl | crawl errors |"
echo "|---|---|---|---|---|---|"
echo "$inproc"
echo
overhead() { awk -v d="$1" -v i="$2" 'BEGIN { if (i > 0) printf "%+.0f%%", (d / i - 1) * 100; else print "n/a" }'; }
echo "| keyholed, $reached VMs | CPU per crawl | in-process | over in-process |"
echo "|---|---|---|---|"
echo "| 1 Hz | ${cpu_1hz} ms | ${cpu_paced} ms (paced) | $(overhead "$cpu_1hz" "$cpu_paced") |"
echo "| 10 Hz (as many as it gives) | ${cpu_10hz} ms | ${cpu_flat} ms (flat out) | $(overhead "$cpu_10hz" "$cpu_flat") |"
if [ -n "${soaked:-}" ]; then
	echo
	echo "### Soak: $soaked VMs at 10 Hz for $((soak_secs / 60)) minutes"
	echo
	echo "The same daemon and QEMUs, one subscription to all $soaked at 10 Hz"
	echo "(summary records) for $((soak_secs / 60)) minutes, sampled once a minute:"
	echo "keyholed's resident memory (VmRSS) and open fds, and the crawls,"
	echo "crawl errors and lateness p99 of that minute. A leak shows as a"
	echo "column that climbs."
	echo
	cat "$work/soak.md"
fi

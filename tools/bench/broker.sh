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

# --full-crawls: each row a full crawl, as in-process kh_crawl() is; the
# QEMUs at -S never change, so incremental crawls would keep everything.
"$O/bin/keyholed" --foreground --socket "$sock" --cache-dir "" \
	--full-crawls >"$work/keyholed.log" 2>&1 &
daemon=$!
for _ in $(seq 600); do
	[ -S "$sock" ] && break
	sleep 0.1
done

listed() {
	"$O/bin/keyhole" --broker="$sock" --json list |
		grep -o '"name":"kh-scale-' | wc -l
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
echo "Every keyholed here runs with \`--full-crawls\`: the QEMUs below sit"
echo "at -S and never change, so the default incremental crawls would keep"
echo "every process and measure only the check (see the crawl speed"
echo "section, guest halted, for what that saves)."
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
echo "deadline (a crawl run early, up to a hundredth of its period, counts"
echo "0), *CPU per crawl* is keyholed's user+system time over the"
echo "records (the crawl, the JSON and the socket). *Warm-up* is how long"
echo "it took every VM to stream its first record, which attaches the VMs"
echo "new since the last row, and *p99 while attaching* the lateness of the"
echo "crawls after each VM's first in that time: how late the VMs already"
echo "watched ran while the new ones attached."
echo
echo "| VMs | VMs streamed | Hz asked | crawls/s | per core | lateness p50 | lateness p99 | CPU per crawl | crawl errors | warm-up | p99 while attaching |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
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
	if [ "$hz" = 10 ]; then
		cpu_10hz=$(echo "$row" | awk -F'|' '{ print $9 }' | tr -dc '0-9.')
		crawls_10hz=$(echo "$row" | awk -F'|' '{ print $5 }' | tr -dc '0-9.')
	fi
	crawls_max=$(echo "$row" | awk -F'|' '{ print $5 }' | tr -dc '0-9.')
done
# The highest rate that holds: four fifths of the most the machine gave
# (asked 100 Hz), spread over the VMs; a row of its own when it lies
# between the 1 Hz and 10 Hz rows.
hold_hz=$(awk -v got="$crawls_max" -v n="$reached" 'BEGIN { printf "%.1f", got / n * 0.8 }')
if awk -v h="$hold_hz" 'BEGIN { exit !(h > 1 && h < 10) }'; then
	"$O/bin/kh-broker-bench" scale "$sock" "$daemon" 'kh-scale-*' "$hold_hz" "$secs"
fi
workers=$(getconf _NPROCESSORS_ONLN)	# keyholed's default --workers
inproc=$("$O/bin/kh-broker-bench" inproc 'kh-scale-*' "$secs" "$workers" 1,10,0)
inproc_cpu() { echo "$inproc" | awk -F'|' -v how="$1" '$4 ~ how { print $7 }' | tr -dc '0-9.'; }
cpu_paced=$(inproc_cpu "at 1 Hz")
# At 1 Hz the machine's noise is as large as keyholed's overhead: two
# more pairs, keyholed then in-process, right after each other, and the
# medians of the three.
pairs="$cpu_1hz/$cpu_paced"
kd_cpus=$cpu_1hz ip_cpus=$cpu_paced
for _ in 2 3; do
	kd=$("$O/bin/kh-broker-bench" scale "$sock" "$daemon" 'kh-scale-*' 1 "$secs" |
		awk -F'|' '{ print $9 }' | tr -dc '0-9.')
	ip=$("$O/bin/kh-broker-bench" inproc 'kh-scale-*' "$secs" "$workers" 1 |
		awk -F'|' '$4 ~ "at 1 Hz" { print $7 }' | tr -dc '0-9.')
	if [ -z "$kd" ] || [ -z "$ip" ]; then
		echo "bench: a 1 Hz pair gave no CPU per crawl ('$kd'/'$ip')" >&2
		continue
	fi
	pairs="$pairs, $kd/$ip"
	kd_cpus="$kd_cpus $kd" ip_cpus="$ip_cpus $ip"
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# shellcheck disable=SC2086 # lists of numbers
cpu_1hz=$(median $kd_cpus)
# shellcheck disable=SC2086
cpu_paced=$(median $ip_cpus)
# keyholed at 10 Hz against the in-process run that ran as it did: flat
# out if it could not keep up (crawls/s under 95% of what was asked).
if awk -v got="$crawls_10hz" -v n="$reached" 'BEGIN { exit !(got < n * 10 * 0.95) }'; then
	how_10hz="flat out"
else
	how_10hz="at 10 Hz"
fi
cpu_10hz_inproc=$(inproc_cpu "$how_10hz")
pss=$(awk '/^Pss:/ { print $2 }' "/proc/${qemus[0]}/smaps_rollup")
pte=$(awk '/^VmPTE:/ { print $2 }' "/proc/$daemon/status")

# pvreadv: a keyholed of its own that reads every VM with it, once the
# memmap one has stopped. pvreadv reads through each QEMU's address
# space, so each attached QEMU gains page tables where it is read (the
# kernel search probes every 2 MiB: 2 MiB of them for 1 GiB): as many
# of the QEMUs as 3 MiB each leaves 1 GiB free for; the others stop.
qemu_pte() { awk '/^VmPTE:/ { print $2 }' "/proc/${qemus[0]}/status"; }
pte_before=$(qemu_pte)
kill "$daemon"
wait "$daemon" || true
daemon=
pv_vms=$(( ($(avail_kib) - 1048576) / 3072 ))
[ "$pv_vms" -le "$reached" ] || pv_vms=$reached
[ "$pv_vms" -ge 1 ] || pv_vms=1
for ((i = ${#qemus[@]} - 1; i >= pv_vms; i--)); do
	kill "${qemus[$i]}"
	unset "qemus[$i]"
done
"$O/bin/keyholed" --foreground --socket "$sock" --cache-dir "" \
	--technique pvreadv --full-crawls >"$work/keyholed-pvreadv.log" 2>&1 &
daemon=$!
for _ in $(seq 600); do
	[ -S "$sock" ] && [ "$(listed)" -eq "$pv_vms" ] && break
	sleep 0.5
done
pv_row=$("$O/bin/kh-broker-bench" scale "$sock" "$daemon" 'kh-scale-*' 1 "$secs")
pte_after=$(qemu_pte)
kill "$daemon"
wait "$daemon" || true
daemon=

# Incremental against full crawls, on the live fixed4 guest (its fork
# churn included): a keyholed each way, the guest watched at 100 Hz.
gname=$(grep -o "^name=.*" "$g/options" | tr -d "'" | cut -d= -f2)
inc_rows=
for tech in memmap pvreadv; do
	for how in full incremental; do
		extra=(--technique "$tech")
		[ "$how" = incremental ] || extra+=(--full-crawls)
		"$O/bin/keyholed" --foreground --socket "$sock" --cache-dir "" \
			"${extra[@]}" >"$work/keyholed-$tech-$how.log" 2>&1 &
		daemon=$!
		for _ in $(seq 600); do
			[ -S "$sock" ] && break
			sleep 0.1
		done
		row=$("$O/bin/kh-broker-bench" scale "$sock" "$daemon" "$gname" 100 "$secs")
		inc_rows+="| $tech | $how $row"$'\n'
		kill "$daemon"
		wait "$daemon" || true
		daemon=
	done
done
echo
echo "$reached QEMUs ran at once (the largest count that left 2 GiB of this"
echo "machine's memory free$([ "$reached" -lt "$max_vms" ] && echo ", short of $max_vms")); one"
echo "costs $((pss / 1024)) MB PSS. keyholed's page tables (VmPTE), with all"
echo "$reached attached, came to $((pte / 1024)) MiB: memmap maps each VM's RAM, and"
echo "each 2 MiB of it that walks touch costs a 4 KiB page table page"
echo "(Documentation/techniques.md). The rows at 10 and 100 Hz ask $reached VMs"
echo "for 10 and 100 crawls a second each: *crawls/s* there is the most this"
echo "machine gave, and a VM that could not keep up was slowed down, not late"
echo "forever (keyholed halves its rate; see Documentation/broker.md). When"
echo "four fifths of that lies between 1 and 10 crawls a second per VM, a"
echo "last row asks for it: the highest rate that holds."
echo "At 1 crawl a second the daemon's fixed costs (a /proc rescan a"
echo "second, its timers) are shared by few crawls, so CPU per crawl is"
echo "highest in the first rows."
echo
echo "### pvreadv at scale"
echo
echo "The same, read with pvreadv (\`keyholed --technique pvreadv\`, one"
echo "\`process_vm_readv()\` per batch into each QEMU) instead of memmap, on"
echo "$pv_vms of the QEMUs (as many as left 1 GiB free: each gains page"
echo "tables where pvreadv reads it, the first QEMU's from $pte_before to"
echo "$pte_after KiB), each asked for 1 crawl a second. A crawl moves whole"
echo "pages through its page cache, about fourteen times the bytes memmap's"
echo "copies, in a couple of hundred system calls (the crawl speed section"
echo "above); a VM keyholed cannot keep up with is slowed down, and"
echo "*crawls/s* is then the most it gave."
echo
echo "| VMs | VMs streamed | Hz asked | crawls/s | per core | lateness p50 | lateness p99 | CPU per crawl | crawl errors | warm-up | p99 while attaching |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
echo "$pv_row"
echo
echo "### Incremental crawls: the live guest watched"
echo
echo "keyholed's default: each crawl of a feed is \`kh_crawl_since()\` of the"
echo "one before, keeping each process whose reads all read the same"
echo "(Documentation/crawl-speed.md). Here the fixed4 guest, running its fork"
echo "churn, is watched at 100 Hz for ${secs} s by a keyholed with"
echo "\`--full-crawls\` and then by one without (summary records), through"
echo "memmap and through pvreadv. *CPU per crawl* is keyholed's, the record"
echo "and the daemon's rescans included; the crawl speed section above"
echo "gives the crawls alone."
echo
echo "| technique | crawls | VMs | VMs streamed | Hz asked | crawls/s | per core | lateness p50 | lateness p99 | CPU per crawl | crawl errors | warm-up | p99 while attaching |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s' "$inc_rows"
echo
echo "### Overhead at scale: keyholed's CPU per crawl against in-process"
echo
echo "The yardstick: this machine's $reached QEMUs attached in one process"
echo "(\`kh-broker-bench inproc\`) and crawled with \`kh_crawl()\` for ${secs} s"
echo "each way, no JSON and no socket, on $workers threads pinned one per core"
echo "as keyholed's $workers workers are, each over its share of the VMs:"
echo "*each VM at F Hz* schedules its crawls as a worker does (a phase per VM"
echo "from its pid, a crawl up to a hundredth of the period early when the"
echo "thread is awake, else a sleep until the next is due); *flat out* runs"
echo "round robin with no sleep. A crawl after a sleep finds colder caches"
echo "than one straight after another (*after a sleep*), so each keyholed"
echo "row is set against the in-process run that ran as it did: 1 Hz"
echo "against 1 Hz, 10 Hz against 10 Hz if keyholed kept up, else against"
echo "flat out. keyholed's CPU per crawl (the rows above) adds the summary"
echo "record, metrics, the JSON and the socket, and the daemon's rescans."
echo "At 1 Hz this machine's noise between two runs is as large as that, so"
echo "the 1 Hz row takes the medians of the $reached-VM row above with the first"
echo "in-process run, and of two more pairs of runs, keyholed's then the"
echo "in-process one right after (keyholed/in-process ms: $pairs)."
echo
echo "| VMs | threads | how | in-process crawls/s | after a sleep | in-process CPU per crawl | crawl errors |"
echo "|---|---|---|---|---|---|---|"
echo "$inproc"
echo
overhead() { awk -v d="$1" -v i="$2" 'BEGIN { if (i > 0) printf "%+.0f%%", (d / i - 1) * 100; else print "n/a" }'; }
echo "| keyholed, $reached VMs | CPU per crawl | in-process | over in-process |"
echo "|---|---|---|---|"
echo "| 1 Hz (medians of 3 pairs) | ${cpu_1hz} ms | ${cpu_paced} ms (each VM at 1 Hz) | $(overhead "$cpu_1hz" "$cpu_paced") |"
echo "| 10 Hz ($crawls_10hz crawls/s) | ${cpu_10hz} ms | ${cpu_10hz_inproc} ms ($how_10hz) | $(overhead "$cpu_10hz" "$cpu_10hz_inproc") |"
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

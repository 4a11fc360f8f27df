#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tools/bench/run.sh BUILD_DIR REPORT
#
# `make bench`: boots the test guest in two shapes, runs kh-bench against
# each and writes REPORT (Documentation/benchmarks.md) with the machine, the
# method and the medians, then the raw-access ladder of every technique on
# one guest (table, chart Documentation/ladder.png, comparison with the
# paper). A file BUILD_DIR/bench/kmod.txt of "key value" lines, if there,
# becomes a section with the kernel module's numbers; broker.sh adds
# keyholed's (overhead, and scale over many QEMUs). The report is
# regenerated, never edited by hand.
set -euo pipefail

O=$(cd "$1" && pwd)
report=$2
here=$(cd "$(dirname "$0")" && pwd)
vm=$here/../../tests/guest/vm.sh
repeat=${KH_BENCH_REPEAT:-15}
crawls=${KH_BENCH_CRAWLS:-10000}
export KH_GUEST_IMAGES=$O/guest
work=$(mktemp -d /tmp/keyhole-bench.XXXXXX)
# The libvirt domain's QEMU (libvirt-qemu) must get through to its rundir.
chmod 0711 "$work"

declare -A shapes=(
	[kaslr5]="--boot bzimage --paging 5 --ram memfd --machine q35 --mem 3G"
	[fixed4]="--boot pvh --paging 4 --ram memfd --machine pc --mem 1G --gdb --agent"
)
libvirt=$here/../../tests/guest/libvirt.sh
cleanup() {
	for s in "${!shapes[@]}"; do
		"$vm" stop "$work/$s" >/dev/null 2>&1 || true
	done
	"$libvirt" stop "$work/libvirt" >/dev/null 2>&1 || true
	"$libvirt" daemon-stop "$work/libvirt.state" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

for s in "${!shapes[@]}"; do
	mkdir -p "$work/$s"
	# shellcheck disable=SC2086
	"$vm" start "$work/$s" --name "kh-bench-$s-$$" ${shapes[$s]} >/dev/null
done
accel=$(grep -o "^accel=.*" "$work/fixed4/options" | tr -d "'" | cut -d= -f2)
# A domain libvirt runs: its monitor is libvirtd's, reached through libvirt.
libvirt_shape="--ram memfd --mem 1G"
"$libvirt" daemon-start "$work/libvirt.state" >/dev/null
mkdir -p "$work/libvirt"
# shellcheck disable=SC2086
"$libvirt" start "$work/libvirt" --name "kh-bench-lv-$$" $libvirt_shape >/dev/null

# The raw-access ladder: every technique, one guest, one run.
ladder_section() {
	local data=$work/ladder.dat png
	png=$(dirname "$report")/ladder.png
	echo
	echo "## The raw-access ladder"
	echo
	echo "Every access technique keyhole has (\`keyhole techniques\`), in"
	echo "one run on the fixed4 guest (started with a gdbstub socket and a"
	echo "guest agent channel so that those techniques can work too), by"
	echo "\`kh-bench --ladder\`. Reads are single kh_read_phys() calls at"
	echo "random guest-physical addresses (the same addresses for every"
	echo "technique, after one warm-up pass), each size for up to 1.5 s;"
	echo "sequential reads are 1 MiB calls over 64 MiB, or what a slow"
	echo "technique reads in 4 s, scaled and said so; a walk is one kh_tasks()."
	echo "Host CPU per walk is keyhole's own (getrusage) plus QEMU's outside"
	echo "its vCPU threads (/proc/PID/task/*/stat), since the vCPUs run the"
	echo "guest's workload whatever keyhole does. Snapshot techniques copy"
	echo "all of RAM when they open: *open* is that time, *guest halted* how"
	echo "long the guest was stopped for it (QEMU's own downtime for"
	echo "migrations), and their reads and walks then read the copy. Halting"
	echo "reads (ptrace, gdbstub) stop the guest around every operation:"
	echo "their *guest halted* is per walk."
	echo
	"$O/bin/kh-bench" --ladder "$(cat "$work/fixed4/qemu.pid")" "$data"
	if command -v gnuplot >/dev/null && [ -s "$data" ]; then
		gnuplot <<-GNUPLOT
		set terminal png size 900,480
		set output "$png"
		set style data histograms
		set style histogram clustered gap 1
		set style fill solid 0.8 border -1
		set logscale y
		set yrange [0.05:1e8]
		set ylabel "microseconds (log scale)"
		set title "The raw-access ladder (keyhole, make bench, $accel guest)"
		set xtics rotate by -25
		set key top left
		plot "$data" using 2:xtic(1) title "8 B read", \
			"" using 3 title "64 B read", \
			"" using 4 title "4 KiB read", \
			"" using 5 title "ps walk", \
			"" using 6 title "snapshot (open)"
		GNUPLOT
		echo
		echo "![the raw-access ladder, log scale](ladder.png)"
	fi
	echo
	echo "### Against the paper's ordering"
	echo
	awk '
		{ r4k[$1] = $4; walk[$1] = $5 }
		END {
			if (r4k["memmap"] && r4k["pvreadv"])
				printf("Measured here: the mapping (memmap) is %.1fx faster than process_vm_readv (pvreadv) for one 4 KiB read and %.0fx faster for a ps walk", r4k["pvreadv"] / r4k["memmap"], walk["pvreadv"] / walk["memmap"]);
			if (walk["hmp"] && walk["memmap"])
				printf("; the HMP interface is %.0fx slower per walk than the mapping", walk["hmp"] / walk["memmap"]);
			print ".";
		}' "$data"
	cat <<-'TEXT'

	The paper (Suneja et al., VEE 2015) ranks live memory mapping about an
	order of magnitude faster than live memory reads, halting snapshots in
	seconds, and interface access slowest. keyhole keeps the shape but not
	every ratio, for reasons of its own design:

	- **Mapping vs reads.** For one small read the gap is smaller than 10x:
	  a read through process_vm_readv or /proc/PID/mem is one system call
	  of about a microsecond on this host, and keyhole's engine adds layout
	  checks to every technique alike. For a whole walk the gap is larger
	  than 10x, because the mapping needs no system call at all while the
	  read techniques pay one per batch (pvreadv) or per element (procmem).
	  Sequential reads through a mapping kh-bench has just opened pay a
	  page fault per 4 KiB page on first touch, so memmap's 64 MiB
	  throughput can fall below the read techniques' here; a long-lived
	  handle, as the broker keeps, pays that once.
	- **Halting snapshots** (pmemsave, dump) cost seconds per gigabyte, as
	  in the paper, and stop the guest for all of it; after that, reads of
	  the private copy are as fast as the mapping. A precopy migration
	  (migrate) copies while the guest runs and stops it only for the last
	  pages (tens of ms), which makes it much cheaper for the guest than the
	  paper's halting snapshots; the background snapshot (bgsnap, class
	  III) stops it only for the device state but takes longer overall
	  under TCG, where every first write of the guest to a page is a
	  userfaultfd round trip.
	- **Interface access** (HMP xp) is the slowest by far, as in the paper:
	  every command is a monitor round trip that prints 16 bytes per line
	  as text, and most of the cost is QEMU's (the QEMU column of host CPU).
	  keyhole merges neighbouring reads into one command, which helps walks
	  more than single reads.
	- **Halting reads** (ptrace) pay a stop and a resume of every QEMU
	  thread per operation, so one small read costs tens of microseconds
	  more than the same live read; with many reads per operation the cost
	  is spread, which is why keyhole halts per public operation, not per
	  read.
	- The guest runs under TCG here, not KVM as in the paper: QEMU's own
	  work (pmemsave, dump, migration, HMP) competes with vCPU threads that
	  emulate every instruction, on two shared cores.
	TEXT
}

# keyhole.ko's numbers, measured by tests/kmod/bench_* inside the module's
# test VM (make bench runs them first) and merged in when present: each
# "## bench_NAME" section of key/value lines becomes a table, any other
# section is shown as its program printed it.
# A full crawl against its floor, with and without the page cache, and a
# profile of memmap's crawl: where the time goes (Documentation/crawl-speed.md).
crawl_speed_section() {
	local pid perf_data
	pid=$(cat "$work/fixed4/qemu.pid")
	perf_data=$work/crawl.perf
	echo
	echo "## Crawl speed against its floor (guest fixed4)"
	echo
	echo "\`kh-crawl-bench\` (tools/bench/kh-crawl-bench.c): each variant"
	echo "crawls 5 times in a row per round, the variants in turn, 60 rounds;"
	echo "medians over all 300 crawls. *moved* is what the technique"
	echo "copied out of QEMU (whole pages, through the page cache); *touched*"
	echo "is what the walkers asked for (kh_trace_start). The *floor* is the"
	echo "crawl's own trace replayed from memmap's warm mapping of the same"
	echo "guest: exactly those bytes copied, in that order, nothing else."
	echo "*no page cache* is the same engine with KH_CRAWL_UNCACHED: every"
	echo "read sent to the technique as the walkers ask for it, as before the"
	echo "page cache. *no read-ahead* is pvreadv with the page cache but with"
	echo "KH_CRAWL_NO_READ_AHEAD: no walk fetches ahead what its chain will"
	echo "want (the task list through the pid IDR, paths breadth first), as"
	echo "before the read-ahead."
	echo
	"$O/bin/kh-crawl-bench" "$pid" 60
	echo
	echo "### Where memmap's crawl spends its time"
	echo
	echo "\`perf record\` of \`kh-crawl-bench --loop\` crawling with memmap for"
	echo "5 s; the entries above 1% of samples, by the function they were in."
	echo
	if perf record -q -F 1999 -o "$perf_data" -- \
		"$O/bin/kh-crawl-bench" --loop "$pid" memmap 5 >/dev/null 2>&1; then
		echo "| share | function | in |"
		echo "|---|---|---|"
		perf report -i "$perf_data" --no-children --stdio \
			--percent-limit 1 2>/dev/null |
			awk '/^ +[0-9.]+%/ { printf("| %s | %s | %s |\n", $1, $5, $3) }'
	else
		echo "perf could not record here."
	fi
}

# What each keyhole command costs on a warm handle, per technique, and
# the two parts of ss and ip that cost the most (tools/bench/views.c).
views_section() {
	echo
	echo "## What each command costs (guest fixed4)"
	echo
	echo "\`kh-bench --views\` (tools/bench/views.c) runs each keyhole command"
	echo "as the CLI and keyholed do, through kh_query() (everything but"
	echo "printing), $((repeat * 10)) times per technique on one warm handle"
	echo "after one untimed run; medians and p90 of wall time, CPU as the mean."
	echo "*read calls* are system calls (0 for memmap, which reads a mapping)."
	echo "Two commands are also taken apart, each against itself without the"
	echo "part: ss's walk of the kernel's socket hash tables (the TCP and UDP"
	echo "sockets no process holds; when one has a file, a second walk of the"
	echo "fd tables decides whether it is in flight, and the test guest always"
	echo "has sockets in flight), and ip's per-driver counters (virtio_net's,"
	echo "laid out by the module's own BTF, which is read and parsed per call)."
	echo
	"$O/bin/kh-bench" --views "$(cat "$work/fixed4/qemu.pid")" \
		"$((repeat * 10))" | tee "$work/views.txt"
}

# median_us FILE NAME [TECHNIQUE]: the median of FILE's table row NAME
# (of TECHNIQUE, in the views table, where it has a column), in µs
median_us() {
	awk -F'|' -v n="$2" -v t="${3:-}" '
	function trim(s) { gsub(/^ +| +$/, "", s); return s }
	trim($2) == n && (t == "" || trim($3) == t) {
		split(trim(t == "" ? $4 : $5), v, " ")
		m = v[2] == "ms" ? 1000 : v[2] == "s" ? 1000000 : 1
		printf("%.0f", v[1] * m)
		exit
	}' "$1"
}

# view_us NAME TECHNIQUE: a row of the views table
view_us() {
	median_us "$work/views.txt" "$1" "$2"
}

# cli_ms ARGS...: the median wall time of 11 whole keyhole runs, in ms
cli_ms() {
	local i t0 t1
	for i in $(seq 11); do
		t0=$(date +%s%N)
		"$O/bin/keyhole" "$@" >/dev/null 2>&1
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000))
	done | sort -n | awk '{ v[NR] = $1 } END { printf("%.1f", v[6] / 1000) }'
}

# crawl_us GUEST ROW: a row of GUEST's kh-bench table
crawl_us() {
	median_us "$work/$1/bench.txt" "$2"
}

# What keyhole check costs against a crawl: alone (kh_check, as the CLI
# runs it) and at a crawl's end (KH_CRAWL_CHECK, as keyholed runs it).
check_cost_section() {
	local t full fullc inc incc alone
	echo
	echo "## keyhole check against a crawl (guest fixed4)"
	echo
	echo "From the crawl table above, whose five variants take turns crawl"
	echo "by crawl: *alone* is kh_check as the CLI runs it; *in a full crawl*"
	echo "and *in an incremental crawl* are the crawl with KH_CRAWL_CHECK less"
	echo "the same crawl without."
	echo "At a crawl's end the check takes the crawl's task list, modules and"
	echo "memory maps, and an incremental crawl's check fetches ahead, in one"
	echo "batch, the pages the last one read: this is what keyholed runs for"
	echo "a subscription with checks. Medians, µs."
	echo
	echo "| technique | full crawl | check alone | check in a full crawl | incremental crawl | check in an incremental crawl |"
	echo "|---|---|---|---|---|---|"
	for t in memmap pvreadv procmem; do
		full=$(crawl_us fixed4 "full crawl, $t, wall")
		fullc=$(crawl_us fixed4 "full crawl + check, $t, wall")
		inc=$(crawl_us fixed4 "incremental crawl, $t, wall")
		incc=$(crawl_us fixed4 "incremental crawl + check, $t, wall")
		alone=$(crawl_us fixed4 "check alone, $t, wall")
		[ -n "$full" ] || continue
		echo "| $t | $full | $alone | $((fullc - full)) | $inc | $((incc - inc)) |"
	done
}

volatility_section() {
	local pid ps_us hm_us check_us check_pv_us cli_check cli_ps
	pid=$(cat "$work/fixed4/qemu.pid")
	ps_us=$(view_us "ps" memmap)
	hm_us=$(view_us "check --only hidden_modules" memmap)
	check_us=$(view_us "check (all)" memmap)
	check_pv_us=$(view_us "check (all)" pvreadv)
	cli_check=$(cli_ms check "$pid")
	cli_ps=$(cli_ms ps "$pid")
	echo
	echo "## Against Volatility 3, as its users report it"
	echo
	echo "Volatility 3 cannot run in the tests (it is not in Debian's"
	echo "repositories), so the comparison is with times its own developers"
	echo "published, on their dumps and machines; keyhole's are from this run"
	echo "(fixed4, the table above), in-process and as a whole command (11"
	echo "runs of 'keyhole CMD PID': start, attach with the profile cached,"
	echo "read, print; median). Different guests, machines and kernels: the"
	echo "orders of magnitude are the point, not the ratios' digits."
	echo
	echo "| view | Volatility 3 (reported) | source | keyhole in-process | keyhole command |"
	echo "|---|---|---|---|---|"
	echo "| process list with argv (linux.psaux; keyhole ps) | 8.0 to 8.4 s a run, Ubuntu 24.04 6.8 dump | volatility3 issue #1618 (2025-02) | $ps_us µs (memmap) | $cli_ps ms |"
	echo "| hidden modules (linux.hidden_modules --fast; keyhole check --only hidden_modules) | 31 s (--fast), 1 min 9 s (the Volatility 2 method), 2 min 35 s (1-byte scan), Ubuntu 20.04 5.15 dump | volatility3 pull request #1283 (2024-10) | $hm_us µs (memmap) | |"
	echo "| every rootkit check (keyhole check) | one plugin run each (check_syscall, check_idt, hidden_modules, psxview-like pslist/pidhashtable, kprobes, ftrace, netfilter, malfind, check_afinfo, tty_check) | | $check_us µs (memmap), $check_pv_us µs (pvreadv) | $cli_check ms |"
	echo
	echo "keyhole check compares views the guest keeps (the pid IDR, the"
	echo "children lists, the run queues, the module kobjects, the module"
	echo "loader's vmalloc areas) instead of scanning memory, which is why it"
	echo "costs what a crawl costs: the broker can run it at 1 Hz on every VM"
	echo "it watches. Only an area of the loader's that no known module holds"
	echo "is searched, for its struct module (none on a clean guest)."
}

kmod_value() {
	awk -v k="$1" '$1 == k { print $2; exit }' "$O/bench/kmod.txt"
}

kmod_section() {
	local f=$O/bench/kmod.txt
	[ -s "$f" ] || return 0
	echo
	echo "## keyhole.ko"
	echo
	echo "Measured inside the module's test VM (tests/kmod: Debian's kernel under"
	echo "TCG with -cpu max, the guests in it under nested KVM), all rows of a"
	echo "table in one run. Nesting under TCG inflates every absolute time and"
	echo "makes each VM exit (a vCPU kick) cost milliseconds, so compare ratios."
	echo
	echo "- 64 B random reads: mapped $(kmod_value ratio_map_vs_local_64B)x the"
	echo "  cost of reading local memory; /proc/PID/mem $(kmod_value ratio_procmem_vs_map_64B)x"
	echo "  the cost of the mapping (aims: <= 1.5x, >= 10x)."
	echo "- pause to all vCPUs parked, median: 1 vCPU $(kmod_value pause_kvm1_park_ns_median) ns,"
	echo "  4 vCPUs $(kmod_value pause_kvm4_park_ns_median) ns (nested KVM), TCG"
	echo "  $(kmod_value pause_tcg2_park_ns_median) ns; QMP stop on the same guests (QEMU parking"
	echo "  its own vCPUs, the halting path without the module): 1 vCPU"
	echo "  $(kmod_value qmp_stop_kvm1_wall_ns_median) ns, 4 vCPUs $(kmod_value qmp_stop_kvm4_wall_ns_median) ns."
	awk '
	function flush() {
		if (name == "") return
		printf("\n### %s\n\n", name)
		if (kv) {
			print "| measurement | value |"
			print "|---|---|"
			for (i = 1; i <= n; i++) {
				split(line[i], f, " ")
				printf("| %s | %s |\n", f[1], f[2])
			}
		} else {
			print "```"
			for (i = 1; i <= n; i++) print line[i]
			print "```"
		}
	}
	/^## / { flush(); name = $2; n = 0; kv = 1; next }
	NF == 0 { next }
	{ line[++n] = $0; if (NF != 2 || $2 !~ /^[0-9.]+$/) kv = 0 }
	END { flush() }' "$f"
}

{
	echo "# keyhole benchmarks"
	echo
	echo "Generated by \`make bench\` ($(basename "$0")) on $(date -u '+%Y-%m-%d %H:%M UTC')."
	echo "Do not edit: regenerate with \`make bench\`."
	echo
	echo "## Machine"
	echo
	echo "- CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $(nproc) cores"
	echo "- memory: $(free -g | awk '/^Mem:/ { print $2 }') GiB; host kernel $(uname -r)"
	echo "- QEMU: $(qemu-system-x86_64 --version | head -n1), accelerator: $accel"
	echo "- guest: Debian $(cat "$O/guest/kernel-release") with the test workload of tests/guest"
	echo
	echo "## Method"
	echo
	echo "kh-bench (tools/bench/kh-bench.c) links libkeyhole and times calls"
	echo "in-process with CLOCK_MONOTONIC (wall) and CLOCK_PROCESS_CPUTIME_ID"
	echo "(CPU). Attaches run $repeat times, walks $((repeat * 10)) times; the"
	echo "tables give the median and p90. All rows of a table come from one run"
	echo "on a shared, noisy 2-core machine, so compare rows as ratios rather"
	echo "than reading absolute times as guarantees. The guest runs under"
	echo "$accel and keeps running (fork churn included) while it is measured."
	echo
	echo "- *cold attach*: find the kernel in guest RAM, decode kallsyms and"
	echo "  BTF, resolve layouts (no profile cached anywhere);"
	echo "- *warm attach*: the same with the profile in the on-disk cache;"
	echo "- *shared attach*: a second handle in a context that already holds"
	echo "  the profile, as the broker does for many VMs of one kernel;"
	echo "- *walk*: one kh_tasks() (processes, or threads with -T) per access"
	echo "  technique, with system calls and bytes read per walk;"
	echo "- *full crawl*: one kh_crawl(), the paper's whole monitoring iteration"
	echo "  (OS, memory, tasks with threads, modules, interfaces, open files,"
	echo "  connections, and maps, argv and RSS of every process), per technique;"
	echo "  *+ check* with every rootkit check at its end (KH_CRAWL_CHECK), and"
	echo "  *incremental* through kh_crawl_since() from the variant's last crawl,"
	echo "  as keyholed crawls; *check alone* is one kh_check(). The five"
	echo "  variants take turns, crawl by crawl."
	echo "  memmap needs a memfd RAM backend, which both guests have."
	for s in kaslr5 fixed4; do
		echo
		echo "## Guest $s: ${shapes[$s]}"
		echo
		"$O/bin/kh-bench" "$(cat "$work/$s/qemu.pid")" "$repeat" |
			tee "$work/$s/bench.txt"
	done
	crawl_speed_section
	views_section
	check_cost_section
	volatility_section
	echo
	echo "## libvirt domain: $libvirt_shape (tests/guest/libvirt.sh)"
	echo
	echo "The same measurements on a transient domain of libvirtd (bzImage,"
	echo "4-level paging, pc, QEMU as libvirt-qemu), named by its QEMU pid:"
	echo "the attach finds the RAM layout through libvirt's monitor"
	echo "passthrough (one libvirt connection per monitor session); walks and"
	echo "crawls then read QEMU's memory directly, as for any QEMU."
	echo
	"$O/bin/kh-bench" "$(cat "$work/libvirt/qemu.pid")" "$repeat"
	echo
	echo "### Every technique on the libvirt domain"
	echo
	echo "The raw-access ladder (below, for the method) on the same domain."
	echo "The monitor is libvirt's, so hmp, migrate, bgsnap, dump, pmemsave"
	echo "and gdbstub go through libvirt: pmemsave writes into an unnamed"
	echo "file passed to QEMU, and gdbstub is a stub keyhole starts through"
	echo "the monitor on a socket pair for each hold, so its walks include"
	echo "starting and stopping it."
	echo
	"$O/bin/kh-bench" --ladder "$(cat "$work/libvirt/qemu.pid")" \
		"$work/ladder-libvirt.dat"
	echo
	# keyholed's section comes here; it is measured last (below).
	echo "@BROKER@"
	echo
	echo "## Consistency: the paper's figure 7"
	echo
	echo "$crawls crawls of the kaslr5 guest live, then $crawls with the guest"
	echo "halted for each (QMP stop/cont), with the default technique. The guest"
	echo "runs both of the paper's workloads at once: cork (kh-churn: a process"
	echo "every 100 ms living 1 s) and a web server under load (busybox httpd"
	echo "with kh-webload fetching 20 times a second from inside the guest, since"
	echo "the host has no network path to it without a fixed port). A row counts"
	echo "the crawls in which that type occurred at least once;"
	echo "[consistency.md](consistency.md) says how each is detected."
	echo
	"$O/bin/kh-bench" --consistency "$(cat "$work/kaslr5/qemu.pid")" \
		"$crawls" "$work/consistency.dat"
	if command -v gnuplot >/dev/null; then
		gnuplot <<-GNUPLOT
		set terminal png size 800,450
		set output "$(dirname "$report")/consistency.png"
		set style data histograms
		set style histogram clustered gap 1
		set style fill solid 0.8 border -1
		set ylabel "% of crawls"
		set title "Inconsistency types over $crawls crawls (keyhole, make bench)"
		set xtics rotate by -20
		set key top right
		plot "$work/consistency.dat" using 2:xtic(1) title "live", \
			"" using 3 title "halted"
		GNUPLOT
		echo
		echo "![inconsistency types, live and halted](consistency.png)"
	fi
	ladder_section
	kmod_section
} >"$report.tmp"
# The broker's scale run wants all the memory it can get for its QEMUs:
# every guest but the one it watches has done its part by now.
"$vm" stop "$work/kaslr5" >/dev/null
"$libvirt" stop "$work/libvirt" >/dev/null
"$here/broker.sh" "$O" "$work/fixed4" "$work/broker" >"$work/broker.md"
sed -e "/^@BROKER@\$/{r $work/broker.md" -e "d}" "$report.tmp" >"$report"
rm -f "$report.tmp"
echo "bench: wrote $report"

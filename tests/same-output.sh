#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tests/same-output.sh KEYHOLE_BEFORE KEYHOLE_AFTER [BUILD_DIR]
#
# Proves that a change which must not change behaviour (a restructuring)
# did not: boots one test guest, pauses it, and runs every command of two
# keyhole binaries on it, with --json and as text, comparing the outputs
# byte for byte. A paused guest does not change, but a few values are
# measurements of the run itself (the crawl's cost, attach time): each
# command runs twice per binary, the values that differ between two runs
# of the same binary are masked (and listed), and everything else must be
# identical. Exit 0 when every output is the same.
#
# Make the "before" binary from the commit before the change, e.g.
#   git worktree add /tmp/before HEAD~3 && make -C /tmp/before userspace
#   tests/same-output.sh /tmp/before/build/bin/keyhole build/bin/keyhole
set -u

before=${1:?usage: same-output.sh KEYHOLE_BEFORE KEYHOLE_AFTER [BUILD_DIR]}
after=${2:?usage: same-output.sh KEYHOLE_BEFORE KEYHOLE_AFTER [BUILD_DIR]}
O=$(cd "${3:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
export KH_GUEST_IMAGES=$O/guest
truth=$O/guest/truth
work=$(mktemp -d /tmp/keyhole-same.XXXXXX)
g=$work/guest

cleanup() {
	"$here/guest/vm.sh" stop "$g" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$g"
"$here/guest/vm.sh" start "$g" --name "kh-same-$$" --boot pvh --paging 4 \
	--ram memfd --machine pc --mem 1G --gdb --agent >"$work/start.log" 2>&1 ||
	{ cat "$work/start.log"; exit 1; }
pid=$(cat "$g/qemu.pid")
"$truth" -t 60 --qmp "$g/qmp.sock" '{"execute":"stop"}' >/dev/null ||
	{ echo "cannot pause the guest"; exit 1; }
init_pid=1

# Every command, with its arguments after the VM; both output forms.
commands=(
	"ps" "ps -T" "vm" "info" "mem" "lsmod" "ifconfig" "netstat" "ss -a" "lsof"
	"lsof -p $init_pid" "maps $init_pid" "maps --all" "crawl --count 1"
	"crawl --summary"
	"techniques"
)

# run BINARY JSON CMD...: stdout and exit status of one command
run() {
	local bin=$1 json=$2 cmd=$3 sub args
	sub=${cmd%% *}
	args=${cmd#"$sub"}
	# shellcheck disable=SC2086
	if [ "$json" = 1 ]; then
		env KEYHOLE_CACHE_DIR="$work/cache" "$bin" --json $sub $args "$pid" 2>/dev/null
	else
		env KEYHOLE_CACHE_DIR="$work/cache" "$bin" $sub $args "$pid" 2>/dev/null
	fi
	echo "exit status $?"
}

# compare NAME A1 A2 B1 B2: same, once run-to-run values are masked
compare() {
	python3 - "$@" <<'EOF'
import json, sys
name, files = sys.argv[1], sys.argv[2:]
texts = [open(f).read() for f in files]
if texts[0] == texts[1] and texts[2] == texts[3]:
    sys.exit(0 if texts[0] == texts[2] else 1)

def docs(text):
    body, status = text.rsplit("exit status", 1)
    try:
        return [json.loads(body)], status
    except ValueError:
        pass
    try:	# one document per line (crawl)
        return [json.loads(line) for line in body.splitlines()
                if line.strip()], status
    except ValueError:
        return None, status

def diff_paths(a, b, path, out):
    if isinstance(a, dict) and isinstance(b, dict) and list(a) == list(b):
        for k in a:
            diff_paths(a[k], b[k], path + (k,), out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            diff_paths(x, y, path + (i,), out)
    elif a != b:
        out.add(path)

def mask(d, paths):
    for p in paths:
        node = d
        for k in p[:-1]:
            node = node[k]
        node[p[-1]] = "<masked>"
    return d

parsed = [docs(t) for t in texts]
if any(p[0] is None for p in parsed):
    # text: mask the lines that differ between two runs of one binary
    lines = [t.splitlines() for t in texts]
    if len(set(map(len, lines))) != 1:
        print("%s: a different number of lines between runs" % name)
        sys.exit(1)
    volatile = {i for i in range(len(lines[0]))
                if lines[0][i] != lines[1][i] or lines[2][i] != lines[3][i]}
    print("%s: masked run-to-run lines: %s" % (name, ", ".join(
        lines[0][i].split()[0] if lines[0][i].split() else str(i)
        for i in sorted(volatile))))
    same = all(lines[0][i] == lines[2][i] for i in range(len(lines[0]))
               if i not in volatile)
    sys.exit(0 if same else 1)
volatile = set()
for x, y in ((parsed[0], parsed[1]), (parsed[2], parsed[3])):
    if len(x[0]) != len(y[0]):
        print("%s: a different number of documents between runs" % name)
        sys.exit(1)
    for a, b in zip(x[0], y[0]):
        diff_paths(a, b, (), volatile)
masked = [json.dumps([mask(d, volatile) for d in p[0]]) + p[1] for p in parsed]
print("%s: masked run-to-run values: %s" % (name, ", ".join(
    ".".join(str(k) for k in p) for p in sorted(volatile, key=str))))
sys.exit(0 if masked[0] == masked[2] else 1)
EOF
}

fail=0 n=0
for cmd in "${commands[@]}"; do
	for json in 1 0; do
		name="$cmd$([ $json = 1 ] && echo ' --json')"
		for who in before after; do
			bin=$before
			[ $who = after ] && bin=$after
			run "$bin" $json "$cmd" >"$work/$who.1"
			run "$bin" $json "$cmd" >"$work/$who.2"
		done
		n=$((n + 1))
		if compare "$name" "$work/before.1" "$work/before.2" \
			"$work/after.1" "$work/after.2"; then
			echo "same       $name"
		else
			echo "DIFFERENT  $name"
			diff "$work/before.1" "$work/after.1" | head -20
			fail=$((fail + 1))
		fi
	done
done
"$truth" -t 60 --qmp "$g/qmp.sock" '{"execute":"cont"}' >/dev/null
echo "$((n - fail)) of $n outputs the same"
[ $fail = 0 ]

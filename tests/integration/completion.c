// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves bash completion (tools/completion/keyhole.bash), run by a real
 * bash against the real keyhole and the running guest: the commands are
 * every command `keyhole --help` lists; options complete for keyhole and
 * for the command being typed (its own, such as ps --threads and crawl's
 * budgets); after --technique exactly the techniques `keyhole techniques`
 * names for the guest; after --output the command's columns, also after
 * a comma; after --layout its sources; and in place of VM the guest's
 * pid and -name, as `keyhole list` shows them.
 */
#include "guest.h"

/* The completions of the words (the last one being typed), one a line. */
static char *complete(const char *words)
{
	int status;
	char *out = run_capture(&status,
		"PATH=\"$(dirname '%s'):$PATH\" bash -c '"
		"source \"$0\" || exit 99; COMP_WORDS=(%s); "
		"COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _keyhole; "
		"printf \"%%s\\n\" \"${COMPREPLY[@]}\"' '%s'",
		env_or("KEYHOLE", "build/bin/keyhole"), words,
		env_or("KEYHOLE_COMPLETION", "tools/completion/keyhole.bash"));

	CHECK(status == 0, "completing %s: exit %d: %s", words, status, out);
	return out;
}

/* word is one of the lines of out. */
static int has_line(const char *out, const char *word)
{
	size_t n = strlen(word);
	const char *p;

	for (p = out; (p = strstr(p, word)); p++)
		if ((p == out || p[-1] == '\n') && (p[n] == '\n' || !p[n]))
			return 1;
	return 0;
}

static int lines(const char *out)
{
	int n = 0;

	for (; *out; out++)
		n += *out == '\n';
	return n;
}

static void expect(const char *words, const char *const *want,
		   int exactly)
{
	char *out = complete(words);
	int i;

	for (i = 0; want[i]; i++)
		CHECK(has_line(out, want[i]), "completing %s: no %s in:\n%s",
		      words, want[i], out);
	CHECK(!exactly || lines(out) == i,
	      "completing %s: %d completions, want %d:\n%s", words,
	      lines(out), i, out);
	printf("ok: %s -> %d completions\n", words, lines(out));
	free(out);
}

/* After -t: the names of `keyhole techniques` for this guest, no more. */
static void techniques(const struct guest *g)
{
	char *out = complete("keyhole ps -t \"\"");
	json_t *doc, *t;
	int status, nr = 0;
	size_t i;

	doc = keyhole_json(&status, "techniques %d", g->pid);
	CHECK(status == 0, "techniques: exit %d", status);
	json_array_foreach(doc_list(doc, "techniques"), i, t) {
		const char *name = json_string_value(json_object_get(t,
								     "name"));

		CHECK(name && has_line(out, name),
		      "-t completes without technique %s:\n%s", name, out);
		nr++;
	}
	CHECK(lines(out) == nr, "-t completes %d names, keyhole has %d:\n%s",
	      lines(out), nr, out);
	json_decref(doc);
	free(out);
	printf("ok: -t -> the %d techniques\n", nr);
}

int main(int argc, char **argv)
{
	static const char *const commands[] = {
		"list", "ps", "vm", "info", "mem", "lsmod", "dmesg", "ifconfig", "ip",
		"addr", "lsof", "envars", "creds", "bash", "elfs", "libs", "check", "kprobes", "ftrace",
		"netfilter", "mounts", "ebpf", "kallsyms",
		"ss", "netstat", "maps", "techniques", "crawl", "watch", NULL,
	};
	static const char *const ps_th[] = { "--threads", NULL };
	static const char *const budgets[] = { "--budget-kib", "--budget-ms",
					       NULL };
	static const char *const global[] = {
		"--json", "--pretty", "--technique", "--output", "--raw",
		"--noheadings", "--debug", "--version", "--broker", NULL,
	};
	static const char *const columns[] = {
		"uid", "pid", "tid", "ppid", "stime", "tty", "time", "cmd",
		"ruid", "gid", "rgid", "s", "comm", "threads", "addr", NULL,
	};
	static const char *const after_comma[] = { "pid,comm", NULL };
	static const char *const used_by[] = { "module,used-by", NULL };
	static const char *const layouts[] = { "auto", "qmp", "maps", NULL };
	const char *vms[3] = { NULL };
	char pid[16], words[256];
	struct guest g;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);

	expect("keyhole \"\"", commands, 1);
	expect("keyhole --json \"\"", commands, 1);
	expect("keyhole ps --th", ps_th, 1);
	expect("keyhole crawl --budget", budgets, 1);
	expect("keyhole crawl 1 --", global, 0);
	expect("keyhole ps -o \"\"", columns, 1);
	expect("keyhole ps -o pid,co", after_comma, 1);
	expect("keyhole lsmod --output module,us", used_by, 1);
	expect("keyhole --layout \"\"", layouts, 1);
	techniques(&g);

	snprintf(pid, sizeof(pid), "%d", g.pid);
	vms[0] = pid;
	vms[1] = g.name;
	expect("keyhole ps \"\"", vms, 0);
	snprintf(words, sizeof(words), "keyhole --json lsof -p 1 %.20s",
		 g.name);
	vms[0] = g.name;
	vms[1] = NULL;
	expect(words, vms, 0);
	return KH_PASS;
}

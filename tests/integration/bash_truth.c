// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole bash` gives a running bash's history as bash's own
 * `history` builtin lists it inside the guest, command for command, in
 * its order and with its timestamps, through three access techniques
 * (the default, pvreadv and procmem).
 * The guest's kh-bash keeps Debian's bash -i reading from a pipe, types
 * 527 commands into it (quotes, a comment, leading spaces, UTF-8, one
 * longer than a page, enough to make readline outgrow its history array,
 * whose freed copy keeps most of its pointers) and has bash write
 * `HISTTIMEFORMAT='%s ' history` to a file: the truth. Every entry must
 * be in bash's history list, none may come from another process, the
 * result must name no problem with the shell's heap, -p picks the shell by pid (and a process without a history
 * has an empty one), a pid the guest lacks is an error naming it, and
 * the table shows the same commands.
 */
#include "guest.h"

struct command {
	long long time;
	char *text;
};

/* "PID" then "%5d%c %s%s" lines: number, '*' or ' ', "SECONDS ", command. */
static int truth_history(const struct guest *g, long *pid,
			 struct command **cmdsp)
{
	char *out = guest_truth(g, "bash"), *line, *save = NULL, *end;
	struct command *cmds = NULL;
	int nr = 0, k;

	line = strtok_r(out, "\n", &save);
	CHECK(line, "the guest's bash: no reply");
	*pid = strtol(line, &end, 10);
	CHECK(*pid > 1 && !*end, "the guest's bash pid: '%s'", line);
	for (line = strtok_r(NULL, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		long n = strtol(line, &end, 10);
		char *text;
		long long t;

		CHECK(end != line && n == nr + 1 && end[0] && end[1] == ' ',
		      "the guest's history line %d: '%s'", nr + 1, line);
		t = strtoll(end + 2, &text, 10);
		CHECK(text != end + 2 && *text == ' ',
		      "the guest's history line %d has no time: '%s'", nr + 1,
		      line);
		cmds = realloc(cmds, sizeof(*cmds) * (nr + 1));
		CHECK(cmds, "out of memory");
		cmds[nr].time = t;
		cmds[nr].text = strdup(text + 1);
		nr++;
	}
	free(out);
	/* kh-bash's: readline's array grew, and UTF-8 came through whole. */
	CHECK(nr > 502, "the guest's bash has only %d commands", nr);
	for (k = 0; k < nr && strcmp(cmds[k].text,
				     "printf '%s\\n' 'caf\xc3\xa9 noir' >/dev/null"); k++)
		;
	CHECK(k < nr, "the guest's bash lost the UTF-8 of kh-bash's command");
	*cmdsp = cmds;
	return nr;
}

static void compare(const char *technique, const json_t *doc, long pid,
		    const struct command *cmds, int nr)
{
	const json_t *list = doc_list(doc, "bash"), *e;
	char named[32];
	size_t i;

	/* The task list may change under a walk; the shell's heap may not. */
	snprintf(named, sizeof(named), "process %ld", pid);
	json_array_foreach(json_object_get(doc, "problems"), i, e) {
		const char *at = strstr(json_string_value(e) ?: "", named);

		CHECK(!at || (at[strlen(named)] >= '0' &&
			      at[strlen(named)] <= '9'),
		      "%s: a problem with bash's heap: %s", technique,
		      json_string_value(e));
	}

	CHECK(json_array_size(list) == (size_t)nr,
	      "%s: %zu commands, bash's history has %d", technique,
	      json_array_size(list), nr);
	json_array_foreach(list, i, e) {
		const char *text = json_need_str((json_t *)e, "command");

		CHECK(json_integer_value(json_object_get(e, "pid")) == pid &&
		      !strcmp(json_need_str((json_t *)e, "comm"), "bash"),
		      "%s: command %zu is not bash %ld's: %s", technique, i + 1,
		      pid, json_dumps(e, 0));
		CHECK(json_is_true(json_object_get(e, "in_list")),
		      "%s: command %zu found outside the history list", technique,
		      i + 1);
		CHECK(!strcmp(text, cmds[i].text),
		      "%s: command %zu is '%s', bash's '%s'", technique, i + 1,
		      text, cmds[i].text);
		CHECK(json_integer_value(json_object_get(e, "time")) ==
		      cmds[i].time,
		      "%s: command %zu at %lld, bash's at %lld", technique, i + 1,
		      (long long)json_integer_value(json_object_get(e, "time")),
		      cmds[i].time);
	}
	printf("%s: %d commands of bash %ld as its history lists them\n",
	       technique, nr, pid);
}

/* -p: the shell alone; a process with no history; one that is not there. */
static void pid_filter(const struct guest *g, long pid,
		       const struct command *cmds, int nr)
{
	json_t *doc;
	char *out, *line, *save = NULL;
	int status, n = 0;

	doc = keyhole_json_whole(&status, "bash -p %ld %d", pid, g->pid);
	CHECK(status == 0, "bash -p %ld: exit %d", pid, status);
	compare("-p", doc, pid, cmds, nr);
	json_decref(doc);
	doc = keyhole_json(&status, "bash -p 1 %d", g->pid);
	CHECK(status == 0 && json_array_size(doc_list(doc, "bash")) == 0,
	      "bash -p 1: exit %d: %s", status, json_dumps(doc, 0));
	json_decref(doc);
	out = run_capture(&status, "%s bash -p 99999 %d 2>&1",
			  env_or("KEYHOLE", "build/bin/keyhole"), g->pid);
	CHECK(status == 1 && strstr(out, "no process 99999"),
	      "bash -p 99999: exit %d: %s", status, out);
	free(out);

	/* The table: the same commands, each line printable. */
	out = run_capture(&status, "%s bash -p %ld -o command --noheadings %d",
			  env_or("KEYHOLE", "build/bin/keyhole"), pid, g->pid);
	CHECK(status == 0, "bash as a table: exit %d: %s", status, out);
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), n++) {
		char want[256];

		CHECK(n < nr, "the table has more than %d lines", nr);
		snprintf(want, sizeof(want), "%s", cmds[n].text);
		if (strlen(cmds[n].text) >= sizeof(want))
			continue;
		for (char *c = want; *c; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
				*c = '?';
		CHECK(!strcmp(line, want), "table line %d: '%s', want '%s'",
		      n + 1, line, want);
	}
	CHECK(n == nr, "the table has %d lines, the history %d", n, nr);
	free(out);
}

int main(int argc, char **argv)
{
	/* Those every test guest has; "" is the default (memmap on memfd). */
	static const char *const techniques[] = { "", "pvreadv", "procmem" };
	struct command *cmds;
	struct guest g;
	json_t *doc;
	unsigned int i;
	int nr, status;
	long pid;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	nr = truth_history(&g, &pid, &cmds);
	for (i = 0; i < sizeof(techniques) / sizeof(techniques[0]); i++) {
		doc = keyhole_json_whole(&status, "%s%s bash %d",
					 techniques[i][0] ? "--technique " : "",
					 techniques[i], g.pid);
		CHECK(status == 0, "bash via %s: exit %d: %s", techniques[i],
		      status, json_dumps(doc, 0));
		compare(techniques[i][0] ? techniques[i] : "default", doc, pid,
			cmds, nr);
		json_decref(doc);
	}
	pid_filter(&g, pid, cmds, nr);
	return KH_PASS;
}

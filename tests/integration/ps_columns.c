// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves what `keyhole ps` shows beyond the task list, as ps -ef shows it,
 * against the guest's own /proc (truth "psx" and "ps", read before and
 * after keyhole's walks, so that any process may run meanwhile):
 * - euid and egid: kh-files runs with real ids 1000/1001 and effective
 *   ids 1002/1003, so a reader that takes one for the other is caught;
 * - tty: kh-tree and its three leaves hold a pseudo-terminal as their
 *   controlling terminal ("pts/N", as ps names it), every other process
 *   the one /proc names (none);
 * - cpu_time: for every process the guest had throughout, between the
 *   clock ticks /proc counted before and after; kh-threads' is its
 *   threads' sum, a thread that exited included (each of its eight
 *   threads spent 0.1 s first), and with -T each thread's own;
 * - start_utc: /proc/stat's btime plus the start time, to the second;
 * - cmdline: kh-maps's argv exactly; none for kernel threads; one for
 *   every workload process;
 * - the text table: ps -ef's columns (UID PID PPID STIME TTY TIME CMD),
 *   kernel threads in [brackets], TID with -T, the real ids with -o.
 */
#include <ctype.h>
#include <time.h>

#include "ps_views.h"

/* Tolerance in ticks: /proc truncates utime and stime each. */
#define TICK_SLACK 2

struct psx {
	int tid, tgid;
	unsigned int euid, egid, tty;
	long long ticks, group;
};

struct psx_view {
	long long btime;
	int nr;
	struct psx *tasks;
};

static void truth_psx(const struct guest *g, struct psx_view *v)
{
	char *out = guest_truth(g, "psx"), *line, *save = NULL;
	int cap = 0;

	v->nr = 0;
	v->tasks = NULL;
	line = strtok_r(out, "\n", &save);
	CHECK(line && sscanf(line, "btime %lld", &v->btime) == 1,
	      "truth psx: no btime first: '%s'", line ? line : "");
	while ((line = strtok_r(NULL, "\n", &save))) {
		struct psx t;

		CHECK(sscanf(line, "%d %d %u %u %u %lld %lld", &t.tid, &t.tgid,
			     &t.euid, &t.egid, &t.tty, &t.ticks,
			     &t.group) == 7, "truth psx line '%s'", line);
		if (v->nr == cap) {
			cap = cap ? cap * 2 : 256;
			v->tasks = realloc(v->tasks, sizeof(*v->tasks) * cap);
			CHECK(v->tasks, "out of memory");
		}
		v->tasks[v->nr++] = t;
	}
	free(out);
	CHECK(v->nr > 10, "truth psx: only %d tasks", v->nr);
}

static const struct psx *psx_of(const struct psx_view *v, int tid)
{
	int i;

	for (i = 0; i < v->nr; i++)
		if (v->tasks[i].tid == tid)
			return &v->tasks[i];
	return NULL;
}

/* A tty_nr as ps names it: only pseudo-terminals and none occur here. */
static void tty_name(unsigned int dev, char *buf, size_t size)
{
	unsigned int major = (dev >> 8) & 0xfff;
	unsigned int minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);

	if (!dev)
		snprintf(buf, size, "(none)");
	else if (major >= 136 && major <= 143)
		snprintf(buf, size, "pts/%u", (major - 136) * 256 + minor);
	else
		snprintf(buf, size, "dev %u:%u", major, minor);
}

static long long ticks_of(const json_t *task)
{
	const json_t *t = json_object_get(task, "cpu_time");

	CHECK(json_is_number(t), "no cpu_time in %s", json_dumps(task, 0));
	return (long long)(json_number_value(t) * GUEST_USER_HZ);
}

/* cpu_time of task in [before - slack, after + slack] of the guest's. */
static void check_ticks(const char *what, const json_t *task, long long before,
			long long after)
{
	long long ticks = ticks_of(task);

	CHECK(ticks >= before - TICK_SLACK && ticks <= after + TICK_SLACK,
	      "%s: task %lld: %lld ticks of CPU, the guest counted %lld then %lld",
	      what, json_integer_value(json_object_get(task, "pid")), ticks,
	      before, after);
}

/* The ids, terminal, start and CPU time of one task the guest kept. */
static void check_task(const char *what, const json_t *task,
		       const struct psx *b, const struct psx *a,
		       const struct truth_task *t, long long btime, int threads)
{
	const json_t *tty = json_object_get(task, "tty");
	const char *utc = json_string_value(json_object_get(task, "start_utc"));
	char want[32];
	struct tm tm = { 0 };
	long long start;

	CHECK(json_integer_value(json_object_get(task, "euid")) == b->euid &&
	      json_integer_value(json_object_get(task, "egid")) == b->egid,
	      "%s: task %d has euid %lld egid %lld, the guest says %u %u",
	      what, b->tid, json_integer_value(json_object_get(task, "euid")),
	      json_integer_value(json_object_get(task, "egid")), b->euid,
	      b->egid);
	tty_name(b->tty, want, sizeof(want));
	CHECK(b->tty ? json_is_string(tty) &&
		       !strcmp(json_string_value(tty), want) :
		       json_is_null(tty),
	      "%s: task %d has tty %s, the guest says %s", what, b->tid,
	      json_dumps(tty, JSON_ENCODE_ANY), want);
	CHECK(utc && strptime(utc, "%Y-%m-%dT%H:%M:%SZ", &tm),
	      "%s: task %d: start_utc '%s'", what, b->tid, utc ? utc : "");
	start = btime + (long long)(t->start_ticks / GUEST_USER_HZ);
	CHECK(llabs((long long)timegm(&tm) - start) <= 2,
	      "%s: task %d started at %s, the guest says %lld s since the epoch",
	      what, b->tid, utc, start);
	if (threads)
		check_ticks(what, task, b->ticks, a->ticks);
	else
		check_ticks(what, task, b->group, a->group);
}

/* The tasks of `ps OPTS`: its list, a new reference. */
static json_t *ps_json(const struct guest *g, const char *opts)
{
	int status;
	json_t *doc = keyhole_json_whole(&status, "ps %s %d", opts, g->pid);
	json_t *tasks;

	CHECK(status == 0, "ps %s: exit %d: %s", opts, status,
	      json_dumps(doc, 0));
	tasks = json_incref(doc_list(doc, "ps"));
	json_decref(doc);
	return tasks;
}

/* Every task the guest kept throughout, in the processes or threads view. */
static int check_view(const char *what, json_t *doc, int threads,
		      const struct psx_view *before, const struct psx_view *after,
		      const struct truth_task *ps, int nr_ps,
		      const struct truth_task *ps_after, int nr_ps_after)
{
	int i, checked = 0;

	for (i = 0; i < nr_ps; i++) {
		const struct truth_task *t = &ps[i];
		const struct psx *b = psx_of(before, t->pid);
		const struct psx *a = psx_of(after, t->pid);
		json_t *task = json_by_pid(doc, t->pid);

		if (!threads && t->pid != t->tgid)
			continue;
		if (!b || !a || !stable(t, ps_after, nr_ps_after))
			continue;
		CHECK(task, "%s: task %d (%s) missing", what, t->pid, t->comm);
		check_task(what, task, b, a, t, before->btime, threads);
		checked++;
	}
	return checked;
}

static const json_t *task_named(const json_t *doc, const char *comm)
{
	const json_t *t;
	size_t i;

	json_array_foreach(doc, i, t)
		if (!strcmp(json_string_value(json_object_get(t, "comm")) ?: "",
			    comm))
			return t;
	CHECK(0, "no %s in keyhole's ps", comm);
	return NULL;
}

static void check_cmdlines(const json_t *doc, const struct truth_task *ps,
			   int nr_ps)
{
	const json_t *maps = task_named(doc, "kh-maps"), *t;
	char *dump = json_dumps(json_object_get(maps, "cmdline"), JSON_COMPACT);
	int i, kernel = 0;

	CHECK(dump && !strcmp(dump,
			      "[\"kh-maps\",\"--alpha\",\"beta\",\"gamma delta\"]"),
	      "kh-maps's cmdline is %s", dump ? dump : "(none)");
	free(dump);
	for (i = 0; i < nr_ps; i++) {
		t = json_by_pid((json_t *)doc, ps[i].pid);
		if (!t || ps[i].pid != ps[i].tgid)
			continue;
		if (ps[i].pid == 2 || ps[i].ppid == 2) {
			CHECK(json_is_null(json_object_get(t, "cmdline")),
			      "kernel thread %d (%s) has a cmdline", ps[i].pid,
			      ps[i].comm);
			kernel++;
		} else if (sleeper(&ps[i])) {
			CHECK(json_array_size(json_object_get(t, "cmdline")),
			      "%s (%d) has no cmdline", ps[i].comm, ps[i].pid);
		}
	}
	CHECK(kernel > 5, "only %d kernel threads checked", kernel);
}

/* kh-threads: its time is its threads', and an exited thread's. */
static void check_group(const json_t *procs, const json_t *threads)
{
	const json_t *proc = task_named(procs, "kh-threads"), *t;
	json_int_t tgid = json_integer_value(json_object_get(proc, "tgid"));
	double group = json_number_value(json_object_get(proc, "cpu_time"));
	double live = 0;
	int nr = 0;
	size_t i;

	json_array_foreach(threads, i, t) {
		if (json_integer_value(json_object_get(t, "tgid")) != tgid)
			continue;
		live += json_number_value(json_object_get(t, "cpu_time"));
		nr++;
	}
	CHECK(nr == 8, "kh-threads has %d threads in ps -T", nr);
	/* Eight threads spent 0.1 s each; one of them exited. */
	CHECK(group >= 0.75, "kh-threads spent %.3f s, not its threads' 0.8",
	      group);
	CHECK(group - live >= 0.09,
	      "kh-threads spent %.3f s, its live threads %.3f s: the thread that exited is missing",
	      group, live);
}

/* The line of a text table whose column col (from 0) is value. */
static char *line_with(char *text, int col, const char *value)
{
	static char copy[8192];
	char *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *w, *wsave = NULL;
		int i = 0;

		snprintf(copy, sizeof(copy), "%s", line);
		for (w = strtok_r(copy, " ", &wsave); w && i < col;
		     w = strtok_r(NULL, " ", &wsave))
			i++;
		if (w && !strcmp(w, value)) {
			snprintf(copy, sizeof(copy), "%s", line);
			return copy;
		}
	}
	return NULL;
}

/* The first line of text with its runs of spaces made one. */
static const char *header(const char *text)
{
	static char line[256];
	size_t n = 0;

	text += strspn(text, " ");
	for (; *text && *text != '\n' && n < sizeof(line) - 1; text++)
		if (*text != ' ' || text[1] != ' ')
			line[n++] = *text;
	line[n] = '\0';
	return line;
}

/*
 * STIME as procps prints it: "HH:MM" for a process started today, else
 * "MmmDD" (a run across midnight sees the second); which one is when is
 * tests/unit's to prove.
 */
static int stime_form(const char *s)
{
	return strlen(s) == 5 &&
	       ((isdigit(s[0]) && isdigit(s[1]) && s[2] == ':' &&
		 isdigit(s[3]) && isdigit(s[4])) ||
		(isupper(s[0]) && islower(s[1]) && islower(s[2]) &&
		 isdigit(s[3]) && isdigit(s[4])));
}

static void check_text(const struct guest *g, int files, int maps, int tree)
{
	const char *keyhole = env_or("KEYHOLE", "build/bin/keyhole");
	char pid[16], *out, *line, *copy;
	unsigned int uid, p, ppid;
	char stime[16], tty[16], time[16];
	int status, n;

	out = run_capture(&status, "%s ps %d", keyhole, g->pid);
	CHECK(status == 0 || status == 3, "ps: exit %d", status);
	CHECK(!strcmp(header(out), "UID PID PPID STIME TTY TIME CMD"),
	      "ps's header is '%s'", header(out));

	snprintf(pid, sizeof(pid), "%d", files);
	copy = strdup(out);
	line = line_with(copy, 1, pid);
	CHECK(line && sscanf(line, "%u %u %u %15s %15s %15s", &uid, &p, &ppid,
			     stime, tty, time) == 6,
	      "ps: kh-files's line: %s", line ? line : "(none)");
	CHECK(uid == 1002 && ppid == 1 && !strcmp(tty, "?") &&
	      stime_form(stime) && strlen(time) == 8 &&
	      time[2] == ':' && time[5] == ':' &&
	      strstr(line, " /bin/kh-files"),
	      "ps: kh-files's line: %s", line);
	free(copy);

	snprintf(pid, sizeof(pid), "%d", maps);
	copy = strdup(out);
	line = line_with(copy, 1, pid);
	CHECK(line && strstr(line, " kh-maps --alpha beta gamma delta"),
	      "ps: kh-maps's line: %s", line ? line : "(none)");
	free(copy);

	copy = strdup(out);
	line = line_with(copy, 1, "2");
	CHECK(line && strstr(line, " [kthreadd]"), "ps: kthreadd's line: %s",
	      line ? line : "(none)");
	free(copy);

	snprintf(pid, sizeof(pid), "%d", tree);
	copy = strdup(out);
	line = line_with(copy, 1, pid);
	CHECK(line && strstr(line, " pts/"), "ps: kh-tree's line: %s",
	      line ? line : "(none)");
	free(copy);
	free(out);

	/* The real and effective ids, chosen, in the order asked. */
	out = run_capture(&status, "%s ps -p %d -o ruid,uid,rgid,gid --noheadings %d",
			  keyhole, files, g->pid);
	CHECK(status == 0 && sscanf(out, " 1000 1002 1001 1003%n", &n) == 0 &&
	      n > 0, "ps -o ruid,uid,rgid,gid of kh-files: %s", out);
	free(out);
}

static void check_thread_table(const struct guest *g, int threads)
{
	char *out, *line, *save = NULL;
	int status, nr = 0, pid, tid, last = 0;

	out = run_capture(&status, "%s ps -T -p %d %d", env_or("KEYHOLE",
			  "build/bin/keyhole"), threads, g->pid);
	CHECK(status == 0, "ps -T -p: exit %d", status);
	line = strtok_r(out, "\n", &save);
	CHECK(line && !strcmp(header(line),
			      "UID PID TID PPID STIME TTY TIME CMD"),
	      "ps -T's header: %s", line ? line : "");
	while ((line = strtok_r(NULL, "\n", &save))) {
		CHECK(sscanf(line, "%*u %d %d", &pid, &tid) == 2 &&
		      pid == threads && tid > last,
		      "ps -T -p %d: line %s", threads, line);
		last = tid;
		nr++;
	}
	CHECK(nr == 8, "ps -T -p %d: %d lines", threads, nr);
	free(out);
}

int main(int argc, char **argv)
{
	struct psx_view before, after;
	struct truth_task *ps, *ps_after;
	int nr_ps, nr_ps_after, n;
	json_t *procs, *threads;
	struct guest g;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);

	nr_ps = guest_truth_ps(&g, &ps);
	truth_psx(&g, &before);
	procs = ps_json(&g, "");
	threads = ps_json(&g, "-T");
	truth_psx(&g, &after);
	nr_ps_after = guest_truth_ps(&g, &ps_after);

	n = check_view("ps", procs, 0, &before, &after, ps, nr_ps, ps_after,
		       nr_ps_after);
	CHECK(n >= 15, "ps: only %d processes compared", n);
	n = check_view("ps -T", threads, 1, &before, &after, ps, nr_ps,
		       ps_after, nr_ps_after);
	CHECK(n >= 25, "ps -T: only %d tasks compared", n);
	CHECK(json_is_string(json_object_get(task_named(procs, "kh-tree"), "tty")),
	      "kh-tree has no terminal in keyhole's ps");
	CHECK(json_integer_value(json_object_get(task_named(procs, "kh-files"),
						 "euid")) == 1002,
	      "kh-files's effective uid is not 1002");
	check_cmdlines(procs, ps, nr_ps);
	check_group(procs, threads);
	check_text(&g, guest_pid_of(&g, "kh-files"), guest_pid_of(&g, "kh-maps"),
		   guest_pid_of(&g, "kh-tree"));
	check_thread_table(&g, guest_pid_of(&g, "kh-threads"));
	json_decref(procs);
	json_decref(threads);
	free(ps);
	free(ps_after);
	free(before.tasks);
	free(after.tasks);
	return 0;
}

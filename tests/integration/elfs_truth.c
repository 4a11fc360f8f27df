// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole elfs` lists the ELF objects each process maps as the
 * guest itself sees them (its truth daemon reads /proc/PID/maps, and the
 * first bytes of each object through /proc/PID/mem, and readlink()s
 * /proc/PID/exe): the same objects, with the same ranges, types, paths
 * and executable, for every process that lived through the test with
 * the same objects, through two techniques; none missing, none added.
 * The guest has static executables (busybox, khguest) and dynamic ones
 * (Debian's bash, and qemu-ga where the VM has an agent channel, with
 * their libraries and loader). `libs`
 * is the same without the executables, and -p picks one process.
 *
 * The truth's reads fault the header pages in, so keyhole, which reads
 * after it and never faults, finds every header resident.
 */
#include "guest.h"

#define MAX_PIDS 4096

struct truth_pid {
	long pid;
	char *lines;	/* "START END TYPE EXE PATH\n"... */
};

static int by_pid(const void *a, const void *b)
{
	const struct truth_pid *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static int truth_elfs(const struct guest *g, struct truth_pid **pidsp)
{
	char *out = guest_truth(g, "elfs"), *line, *save = NULL, *end;
	struct truth_pid *pids = calloc(MAX_PIDS, sizeof(*pids));
	int nr = 0, i;

	CHECK(pids, "out of memory");
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		long pid = strtol(line, &end, 10);
		size_t have;

		CHECK(end != line && *end == ' ', "elfs line '%s'", line);
		for (i = 0; i < nr && pids[i].pid != pid; i++)
			;
		if (i == nr) {
			CHECK(nr < MAX_PIDS, "too many processes");
			pids[nr].pid = pid;
			pids[nr++].lines = strdup("");
		}
		have = strlen(pids[i].lines);
		pids[i].lines = realloc(pids[i].lines, have + strlen(end) + 2);
		CHECK(pids[i].lines, "out of memory");
		sprintf(pids[i].lines + have, "%s\n", end + 1);
	}
	free(out);
	qsort(pids, nr, sizeof(*pids), by_pid);
	*pidsp = pids;
	return nr;
}

static const char *lines_of(const struct truth_pid *pids, int nr, long pid)
{
	int i;

	for (i = 0; i < nr; i++)
		if (pids[i].pid == pid)
			return pids[i].lines;
	return NULL;
}

static int type_number(const json_t *type)
{
	static const char *const names[] = { "NONE", "REL", "EXEC", "DYN",
					     "CORE" };
	unsigned int i;

	if (json_is_integer(type))
		return (int)json_integer_value(type);
	for (i = 0; json_is_string(type) && i < 5; i++)
		if (!strcmp(json_string_value(type), names[i]))
			return i;
	return -1;
}

/* keyhole's objects of pid as the truth writes them. */
static char *ours(const json_t *list, long pid)
{
	char *s = strdup(""), line[512];
	const json_t *e;
	size_t i;

	json_array_foreach(list, i, e) {
		int exe = json_is_true(json_object_get(e, "exe"));

		if (json_integer_value(json_object_get(e, "pid")) != pid)
			continue;
		snprintf(line, sizeof(line), "%s %s %d %d %s\n",
			 json_need_str((json_t *)e, "start") + 2,
			 json_need_str((json_t *)e, "end") + 2,
			 type_number(json_object_get(e, "type")), exe,
			 json_need_str((json_t *)e, "path"));
		s = realloc(s, strlen(s) + strlen(line) + 1);
		CHECK(s, "out of memory");
		strcat(s, line);
	}
	return s;
}

/* The truth's lines without the executables'. */
static char *libs_of(const char *lines)
{
	char *copy = strdup(lines), *out = strdup(""), *line, *save = NULL;

	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long s, e;
		int type, exe = 1;

		CHECK(sscanf(line, "%lx %lx %d %d", &s, &e, &type, &exe) == 4,
		      "truth line '%s'", line);
		if (exe)
			continue;
		out = realloc(out, strlen(out) + strlen(line) + 2);
		strcat(strcat(out, line), "\n");
	}
	free(copy);
	return out;
}

static void compare(const char *what, const json_t *list, int with_exe,
		    const struct truth_pid *before, int nr_before,
		    const struct truth_pid *after, int nr_after)
{
	int i, compared = 0, dynamic = 0;

	for (i = 0; i < nr_before; i++) {
		const char *a = lines_of(after, nr_after, before[i].pid);
		char *got, *want;

		/* Exited, exec'd or mapped more meanwhile: not comparable. */
		if (!a || strcmp(a, before[i].lines))
			continue;
		/* libs: every row it gave, against the truth's non-exe ones. */
		got = ours(list, before[i].pid);
		want = with_exe ? strdup(a) : libs_of(a);
		CHECK(!strcmp(got, want), "%s: process %ld's objects:\n%s\nthe guest's:\n%s",
		      what, before[i].pid, got, want);
		dynamic += strstr(want, "libc.so") != NULL;
		compared++;
		free(got);
		free(want);
	}
	/* bash with libc everywhere; qemu-ga's too where the VM has one. */
	CHECK(compared >= 20 && dynamic >= 1,
	      "%s: only %d processes compared, %d with libc", what, compared,
	      dynamic);
	printf("%s: %d processes' ELF objects match the guest's (%d dynamic)\n",
	       what, compared, dynamic);
}

/*
 * A view of a thread's id, as of its process's: the same list, each row
 * of the thread's id (which -p asked for).
 */
static void same_as_process(const struct guest *g, const char *view,
			    const struct truth_task *t)
{
	json_t *by_tid, *by_tgid, *row;
	int status;
	size_t i;

	by_tid = keyhole_json(&status, "%s -p %d %d", view, t->pid, g->pid);
	CHECK(status == 0, "%s -p %d (a thread): exit %d", view, t->pid,
	      status);
	by_tgid = keyhole_json(&status, "%s -p %d %d", view, t->tgid, g->pid);
	CHECK(status == 0, "%s -p %d: exit %d", view, t->tgid, status);
	json_array_foreach(doc_list(by_tid, view), i, row)
		json_object_del(row, "pid");
	json_array_foreach(doc_list(by_tgid, view), i, row)
		json_object_del(row, "pid");
	CHECK(json_array_size(doc_list(by_tid, view)) >= 1 &&
	      json_equal(doc_list(by_tid, view), doc_list(by_tgid, view)),
	      "%s -p %d (a thread of %d): %s, its process: %s", view, t->pid,
	      t->tgid, json_dumps(by_tid, 0), json_dumps(by_tgid, 0));
	json_decref(by_tid);
	json_decref(by_tgid);
}

/*
 * -p of a thread's id: its process's objects (threads share its map),
 * as /proc/TID/maps shows them; maps and envars the same.
 */
static void thread_pid(const struct guest *g)
{
	struct truth_task *tasks;
	json_t *by_tid;
	int nr = guest_truth_ps(g, &tasks), i, status;
	const struct truth_task *t = NULL;

	for (i = 0; i < nr && !t; i++)
		if (tasks[i].pid != tasks[i].tgid &&
		    !strcmp(tasks[i].comm, "kh-threads"))
			t = &tasks[i];
	CHECK(t, "the guest has no kh-threads thread");
	same_as_process(g, "elfs", t);
	same_as_process(g, "maps", t);
	same_as_process(g, "envars", t);
	by_tid = keyhole_json(&status, "elfs -p %d %d", t->pid, g->pid);
	CHECK(json_integer_value(json_object_get(json_array_get(
		doc_list(by_tid, "elfs"), 0), "pid")) == t->pid,
	      "elfs -p %d lists another pid: %s", t->pid, json_dumps(by_tid, 0));
	printf("elfs, maps, envars -p %d, a thread: its process's\n", t->pid);
	json_decref(by_tid);
	free(tasks);
}

int main(int argc, char **argv)
{
	static const char *const views[][2] = {
		{ "pvreadv", "elfs" }, { "procmem", "elfs" },
		{ "pvreadv", "libs" },
	};
	struct truth_pid *before, *after;
	int nr_before, nr_after, i, status;
	json_t *docs[3], *one;
	char what[64], *bash;
	struct guest g;
	long pid;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	nr_before = truth_elfs(&g, &before);
	for (i = 0; i < 3; i++) {
		docs[i] = keyhole_json_whole(&status, "--technique %s %s %d",
					     views[i][0], views[i][1], g.pid);
		CHECK(status == 0, "%s via %s: exit %d: %s", views[i][1],
		      views[i][0], status, json_dumps(docs[i], 0));
	}
	nr_after = truth_elfs(&g, &after);
	for (i = 0; i < 3; i++) {
		snprintf(what, sizeof(what), "%s via %s", views[i][1],
			 views[i][0]);
		compare(what, doc_list(docs[i], views[i][1]), i < 2, before,
			nr_before, after, nr_after);
		json_decref(docs[i]);
	}

	/* -p: kh-bash's bash alone, its executable and three libraries. */
	bash = guest_truth(&g, "bash");
	pid = strtol(bash, NULL, 10);
	free(bash);
	one = keyhole_json(&status, "elfs -p %ld %d", pid, g.pid);
	CHECK(status == 0 && json_array_size(doc_list(one, "elfs")) >= 4,
	      "elfs -p %ld: exit %d: %s", pid, status, json_dumps(one, 0));
	for (i = 0; i < (int)json_array_size(doc_list(one, "elfs")); i++)
		CHECK(json_integer_value(json_object_get(
			json_array_get(doc_list(one, "elfs"), i), "pid")) == pid,
		      "elfs -p %ld lists another process", pid);
	json_decref(one);
	thread_pid(&g);
	check_pid_filter(&g, "elfs");
	return KH_PASS;
}

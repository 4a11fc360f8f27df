// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves `keyhole ps --forest` and `ps -p`, on the guest paused by the
 * test (so that every view is of the same tasks):
 * - the forest shows every task of ps -T exactly once, with its comm,
 *   each under its parent: a thread under its process, a process under
 *   its ppid, and those with no listed parent (init, kthreadd) at the top;
 * - ps -p PID,PID shows those processes and no other; with -T, every
 *   thread of the process and no other; a pid the guest does not have is
 *   an error naming it.
 * The parents come from keyhole's own ps -T of the same paused guest,
 * which ps_truth proves against the guest's /proc.
 */
#include "guest.h"

static struct guest guest;

/* The task with this pid in a ps document's list, or NULL. */
static const json_t *task_of(const json_t *tasks, json_int_t pid)
{
	const json_t *t;
	size_t i;

	json_array_foreach(tasks, i, t)
		if (json_integer_value(json_object_get(t, "pid")) == pid)
			return t;
	return NULL;
}

/* Where t is in tasks. */
static size_t task_index(const json_t *tasks, const json_t *t)
{
	size_t i;

	for (i = 0; json_array_get(tasks, i) != t; i++)
		;
	return i;
}

static json_int_t field(const json_t *t, const char *key)
{
	return json_integer_value(json_object_get(t, key));
}

/*
 * Each line "TID ART COMM": ART is the tree drawn in ASCII (keyhole sets
 * no locale), two characters a level. The line's parent is the nearest
 * line above it one level up.
 */
static void forest(const json_t *tasks)
{
	json_int_t stack[4096];
	char *out, *line, *save = NULL;
	int status, lines = 0;
	char *seen = calloc(json_array_size(tasks) + 1, 1);

	CHECK(seen, "out of memory");
	out = run_capture(&status, "%s ps -T --forest -o tid,comm --noheadings %d",
			  env_or("KEYHOLE", "build/bin/keyhole"), guest.pid);
	CHECK(status == 0, "ps -T --forest: exit %d", status);
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), lines++) {
		char *p = line;
		json_int_t pid = strtoll(p, &p, 10), want;
		const json_t *t = task_of(tasks, pid);
		size_t art, depth;

		CHECK(t, "forest line '%s': no task %lld in ps -T", line,
		      (long long)pid);
		CHECK(*p == ' ', "forest line '%s'", line);
		p++;
		/*
		 * Two characters a level: "| " or "  " above, then "|-" or
		 * "`-" at the task's own (so "|--bash" is "--bash").
		 */
		for (depth = 0; depth < 4095; depth++, p += 2) {
			if (!strncmp(p, "|-", 2) || !strncmp(p, "`-", 2)) {
				depth++;
				p += 2;
				break;
			}
			if (strncmp(p, "| ", 2) && strncmp(p, "  ", 2))
				break;
		}
		art = task_index(tasks, t);
		CHECK(!seen[art]++, "forest: task %lld shown twice",
		      (long long)pid);
		CHECK(!strcmp(p, json_string_value(json_object_get(t, "comm"))),
		      "forest line '%s': comm '%s', ps -T has '%s'", line, p,
		      json_string_value(json_object_get(t, "comm")));
		stack[depth] = pid;
		want = field(t, "pid") != field(t, "tgid") ? field(t, "tgid") :
		       field(t, "ppid");
		if (depth)
			CHECK(stack[depth - 1] == want,
			      "forest: task %lld under %lld, its parent is %lld",
			      (long long)pid, (long long)stack[depth - 1],
			      (long long)want);
		else
			CHECK(!task_of(tasks, want),
			      "forest: task %lld at the top, its parent %lld is listed",
			      (long long)pid, (long long)want);
	}
	CHECK(lines == (int)json_array_size(tasks),
	      "forest: %d lines, ps -T has %zu tasks", lines,
	      json_array_size(tasks));
	free(seen);
	free(out);
	printf("ok: --forest: %d tasks, each under its parent\n", lines);
}

static void only_pids(const json_t *tasks)
{
	int status, threads = 0, n = 0;
	json_t *doc, *list, *t;
	size_t i;

	/* The workload's kh-threads: one process of several threads. */
	json_array_foreach(tasks, i, t)
		if (!strcmp(json_string_value(json_object_get(t, "comm")) ?: "",
			    "kh-threads") && field(t, "pid") == field(t, "tgid"))
			threads = field(t, "pid");
	CHECK(threads, "no kh-threads process in ps -T");

	doc = keyhole_json(&status, "ps -p 1,2 %d", guest.pid);
	CHECK(status == 0, "ps -p 1,2: exit %d: %s", status,
	      json_dumps(doc, 0));
	list = doc_list(doc, "ps");
	CHECK(json_array_size(list) == 2 &&
	      field(json_array_get(list, 0), "pid") == 1 &&
	      field(json_array_get(list, 1), "pid") == 2,
	      "ps -p 1,2: %s", json_dumps(doc, 0));
	json_decref(doc);

	doc = keyhole_json(&status, "ps %d -T --pid %d", guest.pid, threads);
	CHECK(status == 0, "ps -T -p %d: exit %d", threads, status);
	list = doc_list(doc, "ps");
	json_array_foreach(list, i, t)
		CHECK(field(t, "tgid") == threads, "ps -T -p %d shows task %lld",
		      threads, (long long)field(t, "pid"));
	json_array_foreach(tasks, i, t)
		n += field(t, "tgid") == threads;
	CHECK(n > 1 && (size_t)n == json_array_size(list),
	      "ps -T -p %d: %zu threads, ps -T has %d", threads,
	      json_array_size(list), n);
	json_decref(doc);

	doc = keyhole_json(&status, "ps -p 1,2147483647 %d", guest.pid);
	CHECK(status == 1 && strstr(json_string_value(json_object_get(doc,
			"error")) ?: "", "no process 2147483647"),
	      "ps -p with a missing pid: exit %d: %s", status,
	      json_dumps(doc, 0));
	json_decref(doc);
	printf("ok: -p: the processes asked for, with -T their %d threads\n",
	       n);
}

int main(int argc, char **argv)
{
	json_t *doc, *tasks;
	int status;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&guest, argv[1]);
	guest_hold(&guest);
	doc = keyhole_json(&status, "ps -T %d", guest.pid);
	CHECK(status == 0, "ps -T: exit %d", status);
	tasks = doc_list(doc, "ps");
	CHECK(json_array_size(tasks) > 20, "ps -T: %zu tasks",
	      json_array_size(tasks));
	forest(tasks);
	only_pids(tasks);
	json_decref(doc);
	guest_held_resume();
	return KH_PASS;
}

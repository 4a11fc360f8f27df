// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole ps: the guest's processes, or with -T its threads, as the guest
 * kernel's task list has them; with -p only the processes named (their
 * threads with -T), and with --forest as a tree of parents and children.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "keyhole.h"
#include "render.h"

enum { FOREST = OPT_LONG_ONLY };

const struct cmd_option ps_options[] = {
	OPTION("threads", 'T', NULL, "every thread, not only processes"),
	OPTION("pid", 'p', "PID[,PID...]",
	       "only these processes (with -T, their threads)"),
	OPTION("forest", FOREST, NULL,
	       "as a tree: children under their parent, threads\n"
	       "under their process (text only)"),
	{ .name = NULL },
};

#define PIDS_MAX 64

struct pid_set {
	unsigned int nr;
	int32_t pid[PIDS_MAX];
	bool seen[PIDS_MAX];
};

static int parse_pids(const struct options *opts, const struct subcommand *cmd,
		      const char *list, struct pid_set *set)
{
	char one[24];
	const char *p = list, *end;
	unsigned long pid;
	int ret;

	do {
		end = strchrnul(p, ',');
		if (set->nr == PIDS_MAX)
			return usage_error(opts, cmd, "--pid: more than %d processes",
					   PIDS_MAX);
		if (end - p >= (ptrdiff_t)sizeof(one))
			return usage_error(opts, cmd, "--pid wants process ids, not '%s'",
					   list);
		snprintf(one, sizeof(one), "%.*s", (int)(end - p), p);
		ret = parse_uint(opts, cmd, "--pid", one, 1, INT32_MAX, &pid);
		if (ret)
			return ret;
		set->pid[set->nr++] = pid;
		p = end + 1;
	} while (*end);
	return 0;
}

/*
 * The tasks of the processes in set, as a new list in place of the
 * document's (one pass: removing in place moves the rest each time). 0,
 * or an error naming the first process the guest does not have.
 */
static int keep_pids(const struct options *opts, json_t *doc,
		     struct pid_set *set)
{
	json_t *kept = json_array(), *task;
	unsigned int j;
	size_t i;

	if (!kept)
		return report_error(opts, "out of memory");
	json_array_foreach(json_object_get(doc, "ps"), i, task) {
		json_int_t tgid = field_int(task, "tgid");
		bool keep = false;

		for (j = 0; j < set->nr; j++)
			if (tgid == set->pid[j])
				keep = set->seen[j] = true;
		if (keep)
			json_array_append(kept, task);
	}
	if (json_object_set_new(doc, "ps", kept))
		return report_error(opts, "out of memory");
	for (j = 0; j < set->nr; j++)
		if (!set->seen[j])
			return report_error(opts, "ps: no process %d in the guest",
					    (int)set->pid[j]);
	return 0;
}

int cmd_ps(const struct options *opts, const struct subcommand *cmd,
	   const struct cmd_args *args)
{
	struct pid_set pids = { 0 };
	struct kh_query_result res;
	int threads = 0, forest = 0, ret = 0;
	unsigned int i;

	for (i = 0; i < args->nr_opts && !ret; i++) {
		switch (args->opt[i].key) {
		case 'T':
			threads = 1;
			break;
		case 'p':
			ret = parse_pids(opts, cmd, args->opt[i].value, &pids);
			break;
		case FOREST:
			forest = 1;
			break;
		}
	}
	if (!ret)
		ret = expect_args(opts, cmd, args, 1, "one VM");
	if (ret)
		return ret;
	if (run_query(opts, args->pos[0], "ps",
		      json_pack("{s:b}", "threads", threads), &res))
		return 1;
	if (pids.nr && keep_pids(opts, res.doc, &pids)) {
		kh_query_result_release(&res);
		return 1;
	}
	table_show_threads(threads);
	return show_result(opts, &res, forest ? render_ps_forest : render_ps);
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole lsof: the open files of every process (or of one, with -p), as
 * the guest's /proc/PID/fd shows them.
 */
#include <stdint.h>

#include "keyhole.h"
#include "render.h"

const struct cmd_option lsof_options[] = {
	OPTION("pid", 'p', "PID", "only this process (as the guest numbers it)"),
	{ .name = NULL },
};

int cmd_lsof(const struct options *opts, const struct subcommand *cmd,
	     const struct cmd_args *args)
{
	struct kh_query_result res;
	unsigned long pid = 0;
	unsigned int i;
	json_t *q;
	int ret;

	for (i = 0; i < args->nr_opts; i++) {
		ret = parse_uint(opts, cmd, "--pid", args->opt[i].value, 1,
				 INT32_MAX, &pid);
		if (ret)
			return ret;
	}
	ret = expect_args(opts, cmd, args, 1, "one VM");
	if (ret)
		return ret;
	/* Without a pid: every process. */
	q = pid ? json_pack("{s:i}", "pid", (int)pid) : json_object();
	if (run_query(opts, args->pos[0], "lsof", q, &res))
		return 1;
	return show_result(opts, &res, render_lsof);
}

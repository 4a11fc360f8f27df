// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole ps: the guest's processes, or with -T its threads, as the guest
 * kernel's task list has them.
 */
#include "keyhole.h"
#include "render.h"

const struct cmd_option ps_options[] = {
	OPTION("threads", 'T', NULL, "every thread, not only processes"),
	{ .name = NULL },
};

int cmd_ps(const struct options *opts, const struct subcommand *cmd,
	   const struct cmd_args *args)
{
	struct kh_query_result res;
	unsigned int i;
	int threads = 0, ret;

	for (i = 0; i < args->nr_opts; i++)
		threads |= args->opt[i].key == 'T';
	ret = expect_args(opts, cmd, args, 1, "one VM");
	if (ret)
		return ret;
	if (run_query(opts, args->pos[0], "ps",
		      json_pack("{s:b}", "threads", threads), &res))
		return 1;
	return show_result(opts, &res, render_ps);
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole maps: one process's memory map, laid out as /proc/PID/maps; with
 * --all every process's, each line after its process's id.
 */
#include <stdint.h>

#include "keyhole.h"
#include "render.h"

const struct cmd_option maps_options[] = {
	OPTION("all", 'a', NULL, "every process's map, each line after its pid"),
	{ .name = NULL },
};

int cmd_maps(const struct options *opts, const struct subcommand *cmd,
	     const struct cmd_args *args)
{
	struct kh_query_result res;
	unsigned long pid;
	int ret;

	if (args->nr_opts) {
		ret = expect_args(opts, cmd, args, 1, "one VM (--all: no PID)");
		if (ret)
			return ret;
		if (run_query(opts, args->pos[0], "maps",
			      json_pack("{s:b}", "all", 1), &res))
			return 1;
		return show_result(opts, &res, render_maps_all);
	}
	ret = expect_args(opts, cmd, args, 2, "a PID and one VM");
	if (ret)
		return ret;
	ret = parse_uint(opts, cmd, "the process id", args->pos[0], 1, INT32_MAX, &pid);
	if (ret)
		return ret;
	if (run_query(opts, args->pos[1], "maps",
		      json_pack("{s:i}", "pid", (int)pid), &res))
		return 1;
	return show_result(opts, &res, render_maps);
}
